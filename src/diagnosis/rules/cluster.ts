// Cluster-wide rules: split brain (another cluster id, or two leaders in one cluster), and the
// quorum and leader of the majority cluster.
import { displayName, instRef } from '../describe';
import { labelOf } from '../observe';
import type { ClassifyContext } from './context';

/** Split brain: masters answering for another cluster id (recorded in ctx.split), or several self-declared leaders. */
export function splitBrain(ctx: ClassifyContext): void {
  const { views, majority, main, split, add } = ctx;
  const ids = new Set(views.map((v) => v.clusterId).filter((x): x is string => !!x));
  const countOf = (id: string) => views.filter((v) => v.clusterId === id).length;
  const tie = majority !== null && [...ids].some((id) => id !== majority && countOf(id) === countOf(majority));
  for (const v of views) {
    if (!v.clusterId || !majority || v.clusterId === majority) continue;
    split.add(v.inst.id);
    const viaVm = !v.answered;
    const ownList = v.ep?.members?.ok ? v.ep.members.value : null;
    add({
      kind: 'split-brain',
      severity: 'critical',
      title: `SPLIT BRAIN: ${displayName(v.inst)} answers for another etcd cluster`,
      instance: instRef(v.inst),
      member: v.memberId ? { id: v.memberId, name: v.inst.id } : undefined,
      evidence:
        `${v.inst.group}/${v.inst.index} reports cluster id ${v.clusterId}${viaVm ? ' (asked on the VM)' : ''}; ` +
        `${countOf(majority)} of ${views.length} members report ${majority}` +
        (ownList ? `; it lists ${ownList.length} member(s): ${ownList.map((m) => m.name || m.id).join(', ')}` : '') +
        (v.inst.bootstrap
          ? '; it is the bootstrap instance: its start script formed a new one-member cluster after its data was emptied'
          : '') +
        '. Writes it accepts are not in the cluster.',
      action: tie
        ? {
            flow: 'none',
            text: 'The clusters are equally large: decide which one holds the data before changing anything.',
          }
        : {
            flow: 'recover-member',
            text: `Replace the member of ${labelOf(v.inst)}: its own one-member cluster is discarded and it rejoins the cluster of ${countOf(majority)}.`,
          },
    });
  }
  const selfLeaders = main.filter((v) => v.ep?.status?.ok && v.ep.status.value.leader === v.ep.status.value.memberId);
  if (selfLeaders.length > 1) {
    add({
      kind: 'split-brain',
      severity: 'critical',
      title: `SPLIT BRAIN: ${selfLeaders.length} members each say they are the leader`,
      evidence: `${selfLeaders.map((v) => `${displayName(v.inst)} (${v.memberId})`).join(', ')} each report themselves as leader (cluster ${majority}).`,
      action: { flow: 'none', text: 'Investigate at once (etcd logs of those members); do not change membership.' },
    });
  }
}

/** Quorum lost (from the voters known down), else no leader among the members that answer. */
export function quorumAndLeader(ctx: ClassifyContext): void {
  const { main, add, knownDownVoters } = ctx;
  const leaders = new Set(
    main.map((v) => (v.ep?.status?.ok ? v.ep.status.value.leader : '')).filter((l) => l && !/^0+$/.test(l)),
  );
  const n = ctx.voters.length;
  const quorum = Math.floor(n / 2) + 1;
  if (n > 0 && n - knownDownVoters < quorum) {
    add({
      kind: 'quorum-lost',
      severity: 'critical',
      title: `QUORUM LOST: ${n - knownDownVoters} of ${n} voting members can be up (quorum ${quorum})`,
      evidence: `${knownDownVoters} of ${n} voting members are down (see their findings); etcd refuses every write and Kubernetes stops.`,
      action: {
        flow: 'restore-quorum',
        text: 'Bring the down members back first (start etcd / recreate the VMs); recover from a snapshot only if that fails.',
      },
    });
  } else if (main.length > 0 && leaders.size === 0) {
    add({
      kind: 'no-leader',
      severity: 'critical',
      title: 'NO LEADER: the members that answer report no leader',
      evidence: `${main.map((v) => displayName(v.inst)).join(', ')} answer but none reports a leader.`,
      action: { flow: 'restore-quorum', text: 'Bring the down members back (start etcd); see the member findings.' },
    });
  }
}
