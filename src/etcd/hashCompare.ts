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

/** Reads one member's hashKV, at `revision` or (without it) at its current revision. */
export type HashReader = (endpoint: string, revision?: string) => Promise<HashKV>;

export type HashAgreement =
  | { equal: true; revision: string; hash: number }
  | { equal: false; /** What was seen, for a timeout's message. */ detail: string };

/**
 * Whether members `a` and `b` hold the same keys at `revision` (normally the leader's current revision).
 * Conclusive at once when the two answers cover the same range. Otherwise — one answered from its
 * compaction cache (etcd 3.5), or the revision is the compaction's own and etcd 3.4 refuses it as
 * compacted — both are asked at their current revision, where neither happens: comparable when both are
 * at the same revision (a quiet cluster); while writes go on, the caller asks again.
 */
export async function compareMembersAt(
  read: HashReader,
  a: string,
  b: string,
  revision: string,
): Promise<HashAgreement> {
  let detail: string;
  try {
    const [x, y] = await Promise.all([read(a, revision), read(b, revision)]);
    const verdict = compareHashKV(x, y);
    if (verdict === 'equal') return { equal: true, revision, hash: x.hash };
    detail = `at revision ${revision} ${verdict === 'different' ? 'the hashes differ' : 'the hashes cover other compaction ranges'}: ${describeHashKV(a, x)}, ${describeHashKV(b, y)}`;
    if (verdict === 'different') return { equal: false, detail };
  } catch (e) {
    if (!/compacted/i.test((e as Error).message)) throw e;
    detail = `revision ${revision} is compacted (${(e as Error).message})`;
  }
  const [x0, y0] = await Promise.all([read(a), read(b)]);
  if (x0.revision !== y0.revision)
    return {
      equal: false,
      detail: `${detail}; their current revisions differ (${x0.revision}, ${y0.revision}): asked again`,
    };
  if (compareHashKV(x0, y0) === 'equal') return { equal: true, revision: x0.revision, hash: x0.hash };
  return {
    equal: false,
    detail: `${detail}; at revision ${x0.revision}: ${describeHashKV(a, x0)}, ${describeHashKV(b, y0)}`,
  };
}
