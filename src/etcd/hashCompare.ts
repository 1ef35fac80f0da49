// Comparing two members' hashKV at one revision.
//
// etcd hashes the keys whose revision lies between its compaction revision and the one asked for, so two
// hashes are comparable only over the same range. A member that performed a compaction itself keeps the
// hash it computed then and answers a hashKV at exactly that revision from that cache, reporting the
// *previous* compaction's revision (-1 for the first); a member that joined later (a snapshot from the
// leader) or restarted computes it afresh and reports the compaction's own revision. Seen on etcd 3.5.16:
// after `compact 3` at head, `hashkv --rev 3` answers hash 1827592406 with compact_revision -1 on the
// member that compacted and the same hash with compact_revision 3 after a restart. Requiring equal compact
// revisions therefore never succeeds on a quiet cluster compacted at its head revision; etcd's own
// corruption check compares hashes only when the compact revisions agree.
import type { HashKV } from './types';

export type HashComparison =
  /** Same hash: the members hold the same keys (whatever range each hashed). */
  | 'equal'
  /** Same range, other hash: the data differ. */
  | 'different'
  /** Other hashes over other ranges (one answered from its compaction cache): no conclusion; ask again later. */
  | 'incomparable';

/** Two hashKV answers for the same requested revision. */
export function compareHashKV(
  a: Pick<HashKV, 'hash' | 'compactRevision'>,
  b: Pick<HashKV, 'hash' | 'compactRevision'>,
): HashComparison {
  if (a.hash === b.hash) return 'equal';
  return a.compactRevision === b.compactRevision ? 'different' : 'incomparable';
}

/** One line for a transcript or an error: hash and the compaction revision it was computed from. */
export function describeHashKV(where: string, h: Pick<HashKV, 'hash' | 'compactRevision'>): string {
  return `${where} hash ${h.hash} (compact revision ${h.compactRevision})`;
}
