// Cluster-wide rules: split brain (another cluster id, or two leaders in one cluster), and the
// quorum and leader of the majority cluster.
import { displayName, instRef } from '../describe';
import { labelOf } from '../observe';
import type { Finding, FindingAction } from '../types';
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

/** Under quorum loss: whether the members that can start with their data make a quorum again. */
export interface QuorumLoss {
  /** Too few members can come back with their data: the quorum-restore flow (or a snapshot) is the way. */
  restore: boolean;
  /** The action for a member finding that proposed the recovery (which refuses without quorum). */
  memberAction: FindingAction;
}

export const restoreQuorumCommand = (dep: string) => `bosh-etcd restore-quorum --deployment ${dep}`;

/**
 * Quorum lost (from the voters known down), else no leader among the members that answer. When the
 * quorum is lost and a majority cannot come back by starting (data gone or not usable), the action is
 * the quorum-restore flow; returns what the member findings then point to (redirectUnderQuorumLoss).
 */
export function quorumAndLeader(ctx: ClassifyContext): QuorumLoss | null {
  const { main, add, knownDownVoters, dep } = ctx;
  const leaders = new Set(
    main.map((v) => (v.ep?.status?.ok ? v.ep.status.value.leader : '')).filter((l) => l && !/^0+$/.test(l)),
  );
  const n = ctx.voters.length;
  const quorum = Math.floor(n / 2) + 1;
  if (n > 0 && n - knownDownVoters < quorum) {
    const gone = ctx.views.filter((v) => ctx.replaceVoters.has(v.inst.id));
    const kept = ctx.views.filter((v) => !ctx.replaceVoters.has(v.inst.id));
    const names = (vs: typeof gone) => vs.map((v) => displayName(v.inst)).join(', ');
    const restorable = n - ctx.replaceVoters.size;
    const command = restoreQuorumCommand(dep);
    let action: FindingAction;
    let memberAction: FindingAction;
    if (restorable >= quorum) {
      action = {
        flow: 'none',
        text: `Bring back the down members whose data is kept (start etcd / recreate the VMs: see their findings); ${gone.length ? `replace ${names(gone)} once quorum is back` : 'etcd then elects a leader'}. Restore quorum (${command}) only if that fails.`,
      };
      memberAction = {
        flow: 'none',
        text: `Replace this member once quorum is back (the recovery refuses without it): first bring back the down members whose data is kept (see their findings).`,
      };
    } else if (restorable > 0) {
      action = {
        flow: 'restore-quorum',
        text: `Restore quorum (BOSH etcd: Restore etcd Quorum…, or bosh-etcd restore-quorum): it forces a new one-member cluster from the surviving member with the most recent data (${names(kept) || 'none answers'}) and adds the others back. Restore from a snapshot (bosh-etcd restore) only if no member has usable data.`,
        command,
      };
      memberAction = {
        flow: 'restore-quorum',
        text: `Restore quorum (bosh-etcd restore-quorum) instead of recovering this member: ${gone.length} of ${n} members' data is gone and the recovery refuses without quorum; that flow adds this member back.`,
        command,
      };
    } else {
      action = {
        flow: 'none',
        text: `No member has usable data: restore every master from a snapshot (bosh-etcd restore --deployment ${dep} --confirm-deployment ${dep} --snapshot FILE).`,
      };
      memberAction = action;
    }
    add({
      kind: 'quorum-lost',
      severity: 'critical',
      title: `QUORUM LOST: ${n - knownDownVoters} of ${n} voting members can be up (quorum ${quorum})`,
      evidence:
        `${knownDownVoters} of ${n} voting members are down (see their findings); etcd refuses every write and Kubernetes stops.` +
        (gone.length
          ? ` ${gone.length} cannot come back by starting them (data gone or not usable): ${names(gone)}.`
          : ''),
      action,
    });
    return { restore: action.flow === 'restore-quorum', memberAction };
  } else if (main.length > 0 && leaders.size === 0) {
    add({
      kind: 'no-leader',
      severity: 'critical',
      title: 'NO LEADER: the members that answer report no leader',
      evidence: `${main.map((v) => displayName(v.inst)).join(', ')} answer but none reports a leader.`,
      action: { flow: 'none', text: 'Bring the down members back (start etcd); see the member findings.' },
    });
  }
  return null;
}

/** Under quorum loss no member finding proposes the recovery (it refuses without quorum): they point to what does. */
export function redirectUnderQuorumLoss(loss: QuorumLoss | null, findings: Finding[]): void {
  if (!loss) return;
  for (const f of findings) if (f.instance && f.action.flow === 'recover-member') f.action = loss.memberAction;
}
