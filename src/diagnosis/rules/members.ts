// Per-instance rules: each master's member (missing, identity, unstarted, learner), its health with
// positive evidence only (down with the VM's cause, no VM, unreachable from here only, unknown),
// the Director's disagreement with etcd, and the members no instance owns.
import type { InstanceInfo } from '../../bosh/types';
import type { EtcdMember } from '../../etcd/types';
import { actionForCause, CAUSE_WORDS, causeFromProbe, REPLACE_CAUSES } from '../causes';
import { displayName, instRef } from '../describe';
import { expectedPeerUrl, labelOf } from '../observe';
import type { FindingMember } from '../types';
import type { ClassifyContext, InstanceTarget, MasterView } from './context';

function memberOf(inst: InstanceInfo, members: EtcdMember[] | null): EtcdMember[] {
  if (!members) return [];
  const peer = inst.index !== null ? expectedPeerUrl(inst.index) : '';
  return members.filter((m) => m.name === inst.id || (peer && m.peerURLs.includes(peer)));
}

/** The findings about one master's member; null for a split-brain master (its finding says it all). */
export function instanceFindings(ctx: ClassifyContext, v: MasterView): InstanceTarget | null {
  const { members, split, matched } = ctx;
  const inst = v.inst;
  const mine = memberOf(inst, members);
  for (const m of mine) matched.add(m.id);
  if (split.has(inst.id)) {
    if (mine.some((m) => !m.isLearner)) {
      ctx.knownDownVoters++;
      ctx.replaceVoters.add(inst.id);
    }
    return null;
  }
  const m = mine[0];
  const mref: FindingMember | undefined = m
    ? { id: m.id, name: m.name }
    : v.memberId
      ? { id: v.memberId, name: inst.id }
      : undefined;
  const target: InstanceTarget = {
    view: v,
    ref: instRef(inst),
    member: mref,
    status: v.ep?.status?.ok ? v.ep.status.value : undefined,
  };
  membershipFindings(ctx, target, m);
  healthFindings(ctx, target, m);
  return target;
}

/** Membership and identity: no member, a member with another name or peer URL, unstarted, a learner. */
function membershipFindings(ctx: ClassifyContext, target: InstanceTarget, m: EtcdMember | undefined): void {
  const { members, add } = ctx;
  const { ref, member: mref } = target;
  const inst = target.view.inst;
  if (members && !m) {
    add({
      kind: 'instance-without-member',
      severity: 'critical',
      instance: ref,
      evidence: `No etcd member is named ${inst.id} or has peer URL ${inst.index !== null ? expectedPeerUrl(inst.index) : '?'} (${members.length} members listed).`,
      action: {
        flow: 'recover-member',
        text: `Add ${labelOf(inst)} back as a member (the recovery wizard adds it by the runbook).`,
      },
    });
  }
  if (m) {
    const peer = inst.index !== null ? expectedPeerUrl(inst.index) : '';
    if (m.name && m.name !== inst.id) {
      add({
        kind: 'identity-mismatch',
        severity: 'warning',
        instance: ref,
        member: mref,
        evidence: `Member ${m.id} has the peer URL of ${displayName(inst)} but the name "${m.name}" (expected the instance UUID ${inst.id}).`,
        action: {
          flow: 'none',
          text: "Investigate: a member of another instance (or a hand-made one) holds this instance's peer URL.",
        },
      });
    } else if (peer && !m.peerURLs.includes(peer)) {
      add({
        kind: 'identity-mismatch',
        severity: 'warning',
        instance: ref,
        member: mref,
        evidence: `Member ${m.id} (${m.name}) has peer URL(s) ${m.peerURLs.join(', ')}; the etcd job advertises ${peer}.`,
        action: {
          flow: 'none',
          text: 'Investigate: the member was added with another peer URL (etcdctl member update can fix it).',
        },
      });
    }
    if (!m.name) {
      add({
        kind: 'member-unstarted',
        severity: 'warning',
        instance: ref,
        member: mref,
        evidence: `Member ${m.id} (${m.peerURLs.join(', ')}) is registered but has never started (no name, no client URL).`,
        action: {
          flow: 'recover-member',
          text: `Start etcd on ${labelOf(inst)} with an empty member/ directory, or run the recovery again: it resumes.`,
        },
      });
    }
    if (m.isLearner) {
      add({
        kind: 'learner-not-promoted',
        severity: 'warning',
        instance: ref,
        member: mref,
        evidence: `Member ${m.id} (${m.name || 'unstarted'}) is a learner: it does not vote.`,
        action: {
          flow: 'recover-member',
          text: `Run the recovery of ${labelOf(inst)} again: it promotes the learner once caught up (etcdctl member promote ${m.id}).`,
        },
      });
    }
  }
}

/** Health, with positive evidence only; counts the voters seen healthy and known down. */
function healthFindings(ctx: ClassifyContext, target: InstanceTarget, m: EtcdMember | undefined): void {
  const { obs, dep, add } = ctx;
  const { view: v, ref, member: mref, status: st } = target;
  const inst = v.inst;
  const voter = m ? !m.isLearner : true;
  const he = v.ep?.health?.ok ? v.ep.health.value : undefined;
  const p = v.probe;
  if (v.answered && he?.healthy) {
    if (voter && m) ctx.healthyVoters++;
    if (v.directorEtcd && !['running', 'starting'].includes(v.directorEtcd) && !obs.processStatesUnknown) {
      add({
        kind: 'director-etcd-disagree',
        severity: 'warning',
        instance: ref,
        member: mref,
        evidence: `The Director reports ${labelOf(inst)} ${v.directorEtcd} (process state ${inst.processState ?? 'none'}), but its etcd member answers and is healthy.`,
        action: {
          flow: 'none',
          text: "Not an etcd problem: look at the instance's other processes (bosh -d <deployment> instances --ps).",
        },
      });
    }
  } else if (v.answered) {
    const err =
      v.ep?.health && !v.ep.health.ok
        ? v.ep.health.error
        : (v.ep?.health?.ok && v.ep.health.value.error) || 'health check failed';
    const leaderless = !st?.leader || /^0+$/.test(st.leader);
    if (leaderless || m?.isLearner || /learner/i.test(err)) {
      // no leader: the quorum / no-leader finding says it; a learner serves no quorum reads
    } else if (!/alarm/i.test(err)) {
      add({
        kind: 'member-down',
        severity: 'critical',
        instance: ref,
        member: mref,
        cause: 'unresponsive',
        evidence: `It answers status but not a read through the quorum: ${err}.`,
        action: {
          flow: 'none',
          text: "Investigate the cluster's leadership (see the other findings) before changing membership.",
        },
      });
      if (voter && m) ctx.knownDownVoters++;
    } else if (voter && m) ctx.healthyVoters++;
  } else if (p?.reachable && p.localHealth?.healthy) {
    if (voter && m) ctx.healthyVoters++;
    const why = v.ep?.status && !v.ep.status.ok ? v.ep.status.error : (obs.etcdError ?? 'no answer');
    add({
      kind: 'unreachable-from-here',
      severity: 'warning',
      instance: ref,
      member: mref,
      evidence: `${v.ep?.url ?? 'Its endpoint'} does not answer from here (${why.slice(0, 200)}), but on the VM etcd answers: ${p.localHealth.detail}. A network path problem (firewall, routing, a stale IP), not a broken member.`,
      action: {
        flow: 'none',
        text: `Do not recover this member. Check the network path from here to ${inst.ips[0] ?? 'the VM'}:2379 (firewall, jump host, security groups).`,
      },
    });
  } else if (p?.reachable) {
    const c = causeFromProbe(p);
    if (voter && m) ctx.knownDownVoters++;
    if (voter && m && REPLACE_CAUSES.has(c.cause)) ctx.replaceVoters.add(inst.id);
    add({
      kind: 'member-down',
      severity: 'critical',
      title: `${displayName(inst)}: etcd down — ${CAUSE_WORDS[c.cause]}`,
      instance: ref,
      member: mref,
      cause: c.cause,
      evidence: c.evidence,
      logLines: c.line ? [c.line] : undefined,
      action: actionForCause(c.cause, inst, dep),
    });
  } else if (inst.vmState === 'detached' || inst.vmState === 'missing') {
    if (voter && m) ctx.knownDownVoters++;
    const detached = inst.vmState === 'detached';
    add({
      kind: 'instance-no-vm',
      severity: 'critical',
      title: `${displayName(inst)}: no VM — ${detached ? 'detached (bosh stop --hard)' : 'its VM was deleted'}`,
      instance: ref,
      member: mref,
      cause: 'vm-down',
      evidence: detached
        ? `The Director reports ${labelOf(inst)} detached: its VM was deleted on purpose (bosh stop --hard); the persistent disk with etcd's data is kept.`
        : `The Director reports ${labelOf(inst)} ${inst.state} but without a VM (deleted, or its creation failed); the persistent disk with etcd's data is kept.`,
      action: detached
        ? {
            flow: 'bosh',
            text: `Start the instance again: BOSH creates a VM and attaches the disk; etcd rejoins with its data.`,
            command: `bosh -d ${dep} start ${labelOf(inst)}`,
          }
        : {
            flow: 'bosh',
            text: `Recreate the VM (or run cloud-check): BOSH attaches the persistent disk; etcd rejoins with its data.`,
            command: `bosh -d ${dep} recreate ${labelOf(inst)}`,
          },
    });
  } else if (!inst.ips.length || !inst.vmCid || inst.processState === 'unresponsive agent') {
    if (voter && m) ctx.knownDownVoters++;
    add({
      kind: 'member-down',
      severity: 'critical',
      title: `${displayName(inst)}: etcd down — ${CAUSE_WORDS['vm-down']}`,
      instance: ref,
      member: mref,
      cause: 'vm-down',
      evidence: `The Director reports ${labelOf(inst)} ${!inst.ips.length || !inst.vmCid ? 'without a VM' : `'${inst.processState}'`}${p?.error ? `; ${p.error}` : ''}.`,
      action: actionForCause('vm-down', inst, dep),
    });
  } else if (v.directorEtcd === 'failing' && !obs.processStatesUnknown) {
    if (voter && m) ctx.knownDownVoters++;
    add({
      kind: 'member-down',
      severity: 'critical',
      instance: ref,
      member: mref,
      cause: 'failing',
      evidence: `The Director reports etcd on ${labelOf(inst)} failing and it does not answer from here; the VM could not be inspected (${p?.error ?? 'not probed'}), so the cause is unknown.`,
      action: {
        flow: 'none',
        text: `Look at ${labelOf(inst)}'s etcd.stderr.log (bosh -d ${dep} logs ${labelOf(inst)} --job etcd) to learn why before recovering.`,
      },
    });
  } else {
    const why = v.ep?.status && !v.ep.status.ok ? v.ep.status.error : (obs.etcdError ?? 'not asked');
    add({
      kind: 'member-unknown',
      severity: 'warning',
      instance: ref,
      member: mref,
      evidence: `It does not answer from here (${why.slice(0, 200)}) and its VM could not be inspected (${p?.error ?? 'VM probes were off'}); the Director reports ${v.directorEtcd ?? 'no process state'}. It may be down, or only unreachable from here.`,
      action: {
        flow: 'none',
        text: 'Check it on the VM (bosh ssh, then LOCAL=true etcdctl endpoint health) before recovering anything.',
      },
    });
  }
  if (v.answered && he?.healthy && v.directorEtcd === 'running') {
    /* agree */
  } else if (
    !v.answered &&
    v.directorEtcd === 'running' &&
    p?.reachable &&
    !p.localHealth?.healthy &&
    !obs.processStatesUnknown
  ) {
    add({
      kind: 'director-etcd-disagree',
      severity: 'warning',
      instance: ref,
      member: mref,
      evidence: `The Director reports etcd on ${labelOf(inst)} running, but the member does not answer, not even on the VM: monit only sees the process.`,
      action: { flow: 'none', text: "Trust the member's state (see the member-down finding), not the Director's." },
    });
  }
}

/** Members of the cluster that no master owns (by name or peer URL); they count toward the quorum. */
export function orphanMembers(ctx: ClassifyContext): void {
  const { members, matched, add } = ctx;
  for (const m of members ?? []) {
    if (matched.has(m.id)) continue;
    add({
      kind: 'orphan-member',
      severity: 'warning',
      member: { id: m.id, name: m.name },
      title: `member ${m.id} (${m.name || 'unstarted'}) belongs to no instance`,
      evidence: `Member ${m.id} "${m.name}" (${m.peerURLs.join(', ')}) matches no master instance by name or peer URL; it counts toward the quorum.`,
      action: { flow: 'none', text: `Check that no instance uses it, then remove it: etcdctl member remove ${m.id}.` },
    });
  }
}
