// Consistency rules: a member whose applied index lags (behind its own commits or the leader's),
// and members whose KV hash at one revision differs from the others'.
import { instRef } from '../describe';
import { labelOf } from '../observe';
import { compareHashKV } from '../../etcd/hashCompare';
import type { HashKV } from '../../etcd/types';
import type { ClassifyContext, InstanceTarget, MasterView } from './context';

/** Raft entries committed but not applied (or behind the leader) before it counts as lagging. */
export const APPLIED_INDEX_LAG = 5000;

/** Raft entries committed but not applied, or behind the leader, beyond APPLIED_INDEX_LAG. */
export function appliedIndexLag(ctx: ClassifyContext, target: InstanceTarget): void {
  const { main, add } = ctx;
  const { ref, member: mref, status: st } = target;
  if (!st) return;
  const applied = st.raftAppliedIndex !== undefined ? BigInt(st.raftAppliedIndex) : undefined;
  const committed = BigInt(st.raftIndex);
  const leaderView = main.find((x) => x.ep?.status?.ok && x.ep.status.value.memberId === st.leader);
  const leaderIndex = leaderView?.ep?.status?.ok ? BigInt(leaderView.ep.status.value.raftIndex) : undefined;
  const behindApplied = applied !== undefined ? committed - applied : 0n;
  const behindLeader = leaderIndex !== undefined ? leaderIndex - committed : 0n;
  if (behindApplied > BigInt(APPLIED_INDEX_LAG) || behindLeader > BigInt(APPLIED_INDEX_LAG)) {
    add({
      kind: 'applied-index-lag',
      severity: 'warning',
      instance: ref,
      member: mref,
      evidence:
        behindApplied > BigInt(APPLIED_INDEX_LAG)
          ? `Raft index ${committed}, applied ${applied}: ${behindApplied} entries committed but not applied.`
          : `Raft index ${committed}, the leader's ${leaderIndex}: ${behindLeader} entries behind.`,
      action: {
        flow: 'none',
        text: 'Watch whether it catches up; a slow disk or an overloaded VM is the usual cause.',
      },
    });
  }
}

/**
 * hashKV at one revision: the members outside the largest group (all of them when no group is largest).
 * Returns whether the hashes were compared and found equal (the healthy summary says so only then).
 */
export function hashKvMismatch(ctx: ClassifyContext): boolean {
  const { obs, main, add } = ctx;
  const hashed = main.filter((v) => v.ep?.hashKV?.ok);
  if (hashed.length >= 2 && obs.hashRevision) {
    const groups = new Map<number, MasterView[]>();
    const values: HashKV[] = [];
    for (const v of hashed) {
      const value = (v.ep!.hashKV as { ok: true; value: HashKV }).value;
      values.push(value);
      groups.set(value.hash, [...(groups.get(value.hash) ?? []), v]);
    }
    if (groups.size === 1) return true;
    // other hashes over other compaction ranges (a member answering from its compaction cache) prove nothing
    if (values.some((x) => compareHashKV(values[0], x) === 'incomparable')) return false;
    const sorted = [...groups.values()].sort((a, b) => b.length - a.length);
    const clear = sorted[0].length > sorted[1].length;
    for (const g of clear ? sorted.slice(1) : sorted)
      for (const v of g)
        add({
          kind: 'hashkv-mismatch',
          severity: 'critical',
          instance: instRef(v.inst),
          member: v.memberId ? { id: v.memberId, name: v.inst.id } : undefined,
          evidence: `At revision ${obs.hashRevision} its KV hash differs from ${clear ? `the ${sorted[0].length} other members'` : "another member's"}: ${[...groups.entries()].map(([h, vs]) => `${h}: ${vs.map((x) => x.inst.index).join(',')}`).join('; ')}.`,
          action: clear
            ? {
                flow: 'recover-member',
                text: `Replace the member of ${labelOf(v.inst)}: its data diverged from the majority.`,
              }
            : { flow: 'none', text: 'No majority agrees: investigate before changing anything.' },
        });
  }
  return false;
}
