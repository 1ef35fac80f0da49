// Observation → findings: a pure function (no I/O, no clock), the one place where etcd's health is
// judged. Rule: positive evidence only. An endpoint that does not answer from the workstation is
// "down" only when its VM (or the Director) says so; when the VM says etcd is healthy it is a
// network path problem and never offered for recovery; when nothing can be checked it is
// "unknown". Plain Node, no `vscode`.
import type { InstanceInfo } from '../bosh/types';
import type { EtcdMember } from '../etcd/types';
import { short } from './describe';
import { majorityClusterId, type ClusterObservation } from './observe';
import { alarmFindings, dbSizeFindings } from './rules/capacity';
import { quorumAndLeader, redirectUnderQuorumLoss, splitBrain } from './rules/cluster';
import { appliedIndexLag, hashKvMismatch } from './rules/consistency';
import type { ClassifyContext, MasterView, NewFinding } from './rules/context';
import { snapshotAge } from './rules/snapshots';
import { instanceFindings, orphanMembers } from './rules/members';
import { CLUSTER_ALARM_KINDS } from './headline';
import { worstSeverityFirst } from './severity';
import type { Finding } from './types';

function directorEtcdState(i: InstanceInfo): string | null {
  const p = i.processes.find((x) => x.name === 'etcd');
  if (p) return p.state;
  return i.processState;
}

/** Observation → findings, worst first. Pure. */
export function classify(obs: ClusterObservation): Finding[] {
  const out: Finding[] = [];
  const add = (f: NewFinding) => {
    const who = f.instance
      ? `${f.instance.group}/${f.instance.index ?? '?'} (${short(f.instance.id)})`
      : f.member
        ? `member ${f.member.id}`
        : 'cluster';
    out.push({ ...f, title: f.title ?? `${who}: ${f.kind}` });
  };
  const dep = obs.deployment;

  if (!obs.masters.length) {
    add({
      kind: 'not-checked',
      severity: obs.directorError ? 'warning' : 'info',
      title: 'no etcd instances',
      evidence: obs.directorError ?? `Deployment ${dep} has no etcd instances.`,
      action: { flow: 'none', text: 'Check the deployment name and the Director (bosh -d <deployment> instances).' },
    });
    return finish(out, obs);
  }

  const views: MasterView[] = obs.masters.map((inst) => {
    const ep = obs.endpoints.find((e) => e.instanceId === inst.id);
    const probe = obs.probes[inst.id];
    const answered = !!ep?.status?.ok;
    const st = ep?.status?.ok ? ep.status.value : undefined;
    return {
      inst,
      ep,
      probe,
      answered,
      clusterId: st?.clusterId ?? probe?.localStatus?.clusterId,
      memberId: st?.memberId ?? probe?.localStatus?.memberId,
      directorEtcd: directorEtcdState(inst),
    };
  });

  // ---- the cluster: majority id, its member list (from one of the majority, the leader's if it answers)
  const majority = majorityClusterId(views.map((v) => v.clusterId));
  const main = views.filter((v) => v.answered && v.clusterId === majority);
  const listFrom =
    main.find((v) => v.ep?.members?.ok && v.ep.status?.ok && v.ep.status.value.leader === v.ep.status.value.memberId) ??
    main.find((v) => v.ep?.members?.ok);
  const members: EtcdMember[] | null = listFrom?.ep?.members?.ok ? listFrom.ep.members.value : null;

  const ctx: ClassifyContext = {
    obs,
    dep,
    views,
    majority,
    main,
    members,
    voters: (members ?? []).filter((m) => !m.isLearner),
    split: new Set<string>(),
    healthyVoters: 0,
    knownDownVoters: 0,
    replaceVoters: new Set<string>(),
    matched: new Set<string>(),
    add,
  };

  // The rules, in the order their findings are listed (finish() then sorts them by severity only).
  splitBrain(ctx);
  for (const v of views) {
    const target = instanceFindings(ctx, v);
    if (!target) continue;
    dbSizeFindings(ctx, target);
    appliedIndexLag(ctx, target);
  }
  const quorumLoss = quorumAndLeader(ctx);
  orphanMembers(ctx);
  alarmFindings(ctx);
  const hashesEqual = hashKvMismatch(ctx);
  redirectUnderQuorumLoss(quorumLoss, out);
  snapshotAge(ctx);

  // ---- what could not be checked
  if (obs.unchecked.length) {
    add({
      kind: 'not-checked',
      severity: 'info',
      title: `not checked: ${obs.unchecked.length} item(s)`,
      evidence: obs.unchecked.join('; '),
      action: {
        flow: 'none',
        text: obs.probed
          ? 'SSH to the VMs failed for some checks: see the evidence.'
          : 'Allow SSH to the masters for the checks on the VMs.',
      },
    });
  }
  return finish(out, obs, { healthy: ctx.healthyVoters, total: ctx.voters.length }, hashesEqual);
}

function finish(
  out: Finding[],
  obs: ClusterObservation,
  counts?: { healthy: number; total: number },
  hashesEqual = false,
): Finding[] {
  if (!out.some((f) => f.severity !== 'info')) {
    out.unshift({
      kind: 'healthy',
      severity: 'info',
      title: counts ? `etcd healthy: ${counts.healthy}/${counts.total} members` : 'nothing wrong seen',
      evidence: counts
        ? `${counts.healthy} of ${counts.total} voting members healthy, one cluster id, one leader${hashesEqual ? `, equal hashKV at revision ${obs.hashRevision}` : ''}.`
        : 'No finding.',
      action: { flow: 'none', text: 'Nothing to do.' },
    });
  }
  // Within a severity, the cluster-wide states (split brain, quorum lost, no leader) lead: the summary
  // line and every list start with what the whole cluster is in, then each member's part of it.
  const clusterFirst = (f: Finding) => (CLUSTER_ALARM_KINDS.includes(f.kind) ? 0 : 1);
  return out.sort((a, b) => worstSeverityFirst(a, b) || clusterFirst(a) - clusterFirst(b));
}
