// Pre-flight: the reasons to refuse, each with what to do instead, and the
// evidence that the target is the broken member. Pure: decided from an Observation. No `vscode` import.
import { etcdAtLeast } from '../etcd/version';
import * as cmd from './commands';
import type { Observation } from './observe';
import type { Refusal } from './events';
import type { TargetMembership } from './membership';

export interface PreflightFacts {
  obs: Observation;
  membership: TargetMembership;
  learner: boolean;
  resumed: boolean;
  peerUrl: string;
  quorum: number;
  clusterSize: number;
  /** Instance ids recovered in the same run. */
  coTargets: ReadonlySet<string>;
}

const MiB = 1024 * 1024;
/** Free space the snapshot member needs beyond the database size. */
export const SNAPSHOT_MARGIN_BYTES = 64 * MiB;

export function preflightRefusals(f: PreflightFacts): { refusals: Refusal[]; evidence: string[]; notes: string[] } {
  const { obs, membership } = f;
  const refusals: Refusal[] = [];
  const evidence: string[] = [];
  const notes: string[] = [];
  const refuse = (code: Refusal['code'], message: string, advice: string) => refusals.push({ code, message, advice });
  const t = obs.target;
  const label = obs.targetLabel;

  if (!t) {
    refuse(
      'target-unknown',
      `${label} is not an instance of deployment ${obs.deployment}.`,
      `Pick one of: ${obs.instances.map((i) => `${i.group}/${i.id}`).join(', ') || '(no instances of that group)'} (bosh -d ${obs.deployment} instances).`,
    );
    return { refusals, evidence, notes };
  }
  try {
    cmd.validateInstanceLabel(label);
    if (t.index === null) throw new cmd.ValidationError(`${label} has no index`);
    cmd.expectedPeerUrl(t.index);
  } catch (e) {
    refuse('invalid-input', (e as Error).message, 'Check the instance name; nothing was sent to the VMs.');
    return { refusals, evidence, notes };
  }
  for (const e of obs.errors) {
    refuse(
      'observation-failed',
      e,
      'Fix access (SSH, etcd, Director) and run again; the engine does not change a cluster it cannot see fully.',
    );
  }

  const views = obs.views;
  const tv = views.find((v) => v.instance.id === t.id)!;
  const others = views.filter((v) => v !== tv);
  const members = obs.members ?? [];

  // 1. cluster size
  if (f.clusterSize < 3) {
    refuse(
      'too-few-members',
      `The cluster has ${f.clusterSize} member instance(s); replacing one would leave ${f.clusterSize - 1}.`,
      'Replacing a member needs at least three: restore from a snapshot instead (etcd disaster recovery).',
    );
  }

  // 2./3. quorum and a leader without the target
  const healthyOthers = others.filter(
    (v) => v.healthy && v.members.some((m) => m.name === v.instance.id && !m.isLearner),
  );
  const unhealthyOthers = others.filter((v) => !healthyOthers.includes(v));
  if (healthyOthers.length < f.quorum) {
    refuse(
      'quorum',
      `Quorum is lost without ${label}: only ${healthyOthers.length} of the other ${others.length} members are healthy voters (${healthyOthers.map((v) => v.label).join(', ') || 'none'}); ${f.quorum} of ${f.clusterSize} are needed. Unhealthy: ${unhealthyOthers.map((v) => `${v.label} (${whyUnhealthy(v)})`).join(', ') || 'none'}.`,
      'Replacing a member is the wrong procedure when quorum is lost: bring the other members back first, or restore the cluster from a snapshot (etcdctl snapshot restore) / force a new cluster from the most advanced member.',
    );
  } else if (
    healthyOthers.length > 0 &&
    membership.stale &&
    !membership.stale.isLearner &&
    healthyOthers.length < cmd_quorumAfterRemove(f.clusterSize)
  ) {
    refuse(
      'quorum',
      `Removing ${label} would leave fewer healthy voters than quorum.`,
      'Bring the other members back first.',
    );
  }
  const statuses = healthyOthers
    .map((v) => (v.status && v.status.ok ? v.status.value : null))
    .filter((s): s is NonNullable<typeof s> => !!s);
  const leaders = new Set(statuses.map((s) => s.leader));
  if (healthyOthers.length >= f.quorum) {
    if (statuses.some((s) => !s.leader || /^0+$/.test(s.leader))) {
      refuse(
        'no-leader',
        `No leader: ${healthyOthers.map((v) => v.label).join(', ')} report no leader.`,
        'Wait for an election to finish (check `etcdctl endpoint status -w table`) and run again.',
      );
    } else if (leaders.size > 1) {
      refuse(
        'members-disagree',
        `The healthy members disagree on the leader: ${statuses.map((s) => `${s.endpoint} → ${s.leader}`).join(', ')}.`,
        'The cluster is unsettled: check `etcdctl endpoint status -w table` and run again when they agree.',
      );
    } else {
      const leader = [...leaders][0];
      if (!members.some((m) => m.id === leader) || (membership.stale && membership.stale.id === leader)) {
        refuse(
          'no-leader',
          `The leader (${leader}) is not a healthy member other than ${label}.`,
          'Wait for a healthy leader and run again.',
        );
      }
    }
  }

  // 4. identity: names = instance UUIDs, no duplicates, no stray nameless members
  const ids = new Set(obs.instances.map((i) => i.id));
  const names = new Map<string, number>();
  for (const m of members) if (m.name) names.set(m.name, (names.get(m.name) ?? 0) + 1);
  for (const [name, count] of names) {
    if (count > 1)
      refuse(
        'identity-mismatch',
        `${count} members are named ${name}.`,
        'Remove the duplicate by hand after checking which one is alive (etcdctl member list).',
      );
    if (!ids.has(name))
      refuse(
        'identity-mismatch',
        `Member ${members.find((m) => m.name === name)!.id} is named ${name}, which is not an instance of ${t.group} in ${obs.deployment}.`,
        'Check that you picked the right deployment; member names must equal the BOSH instance UUIDs.',
      );
  }
  for (const m of members) {
    const coTargetPeer = obs.instances.some(
      (i) => f.coTargets.has(i.id) && i.index !== null && m.peerURLs.includes(cmd.expectedPeerUrl(i.index)),
    );
    if (m.name === '' && !m.peerURLs.includes(f.peerUrl) && !coTargetPeer) {
      refuse(
        'identity-mismatch',
        `An unstarted member ${m.id} with peer URL ${m.peerURLs.join(',')} is registered for another instance.`,
        'Another member replacement seems to be in progress: finish it first.',
      );
    }
    for (const u of m.peerURLs) {
      try {
        cmd.validatePeerUrl(u);
      } catch (e) {
        refuse(
          'peer-url-mismatch',
          `Member ${m.id} (${m.name || 'unstarted'}) has a malformed peer URL: ${(e as Error).message}`,
          'Inspect the member list by hand; the engine only works with well-formed members.',
        );
      }
    }
  }
  for (const m of tv.members) {
    if (m.name === t.id && !m.peerURLs.includes(f.peerUrl)) {
      refuse(
        'peer-url-mismatch',
        `Member ${m.id} is named ${t.id} (${label}) but its peer URL is ${m.peerURLs.join(',')}, not ${f.peerUrl} (instance index ${t.index}).`,
        'The member and the instance do not match: check the instance index (bosh instances --details) before changing anything.',
      );
    }
    if (m.name && m.name !== t.id && m.peerURLs.includes(f.peerUrl)) {
      refuse(
        'identity-mismatch',
        `The member with ${label}'s peer URL ${f.peerUrl} is named ${m.name}, not ${t.id}.`,
        `Member names must equal BOSH instance UUIDs: check which instance ${m.name} is.`,
      );
    }
  }
  const vm = obs.targetVm;
  if (vm?.reachable && vm.peerAddress !== null && vm.peerAddress !== f.peerUrl) {
    refuse(
      'peer-url-mismatch',
      `On ${label}, utils.sh gives etcd_peer_address=${vm.peerAddress}, but the instance (index ${t.index}) should have ${f.peerUrl}.`,
      'The job configuration does not match the instance: check the deployment manifest before re-adding the member.',
    );
  }
  if (vm?.reachable && vm.peerAddress === null) {
    refuse(
      'peer-url-mismatch',
      `On ${label}, ${cmd.UTILS_SH} did not give an etcd_peer_address.`,
      'Check that the etcd job is deployed on this instance (ls /var/vcap/jobs/etcd/bin).',
    );
  }

  // Is the target really broken? (not when resuming our own run)
  if (!tv.healthy) evidence.push(`etcd endpoint ${tv.endpointUrl} is unhealthy: ${whyUnhealthy(tv)}`);
  if (membership.stale)
    evidence.push(
      `member ${membership.stale.id} (${membership.stale.name || 'unstarted'}) is still registered for ${label}`,
    );
  if (membership.added)
    evidence.push(
      `member ${membership.added.id} is already re-added for ${label} (${membership.addedStarted ? 'started' : 'unstarted'})`,
    );
  if (vm?.reachable) {
    evidence.push(`monit: etcd ${vm.monitText || vm.monitEtcd}`);
    if (vm.dataEntries === null || vm.dataEntries.length === 0) evidence.push(`${cmd.DATA_DIR} is empty`);
    else if (!vm.memberDir.exists) evidence.push(`${cmd.MEMBER_DIR} is missing`);
  }
  if (t.processState) evidence.push(`Director: ${label} is ${t.processState}`);
  const targetHealthyVoter = tv.healthy && tv.members.some((m) => m.name === t.id && !m.isLearner);
  if (!f.resumed && targetHealthyVoter) {
    const broken = unhealthyOthers.map((v) => v.label);
    refuse(
      'target-healthy',
      `${label} is healthy: its endpoint answers and member ${tv.members[0]?.id} is started.${broken.length ? ` The broken one is ${broken.join(', ')}.` : ''}`,
      broken.length ? `Recover ${broken[0]} instead.` : 'Nothing to recover: the cluster is healthy.',
    );
  }

  // 10. learners
  const learners = members.filter((m) => m.isLearner);
  const foreignLearners = learners.filter((m) => !(membership.added && m.id === membership.added.id));
  if (foreignLearners.length > 0) {
    refuse(
      'second-learner',
      `The cluster already has a learner: ${foreignLearners.map((m) => `${m.id} (${m.name || 'unstarted'}, ${m.peerURLs.join(',')})`).join(', ')}; etcd allows only one.`,
      'Promote or remove that learner first (etcdctl member promote/remove).',
    );
  }
  if (f.learner) {
    const old = statuses.filter((s) => !etcdAtLeast(s.version, 3, 4));
    if (old.length > 0)
      refuse(
        'learner-unsupported',
        `--learner needs etcd 3.4 or later; ${old.map((s) => `${s.endpoint} runs ${s.version}`).join(', ')}.`,
        'Run without --learner.',
      );
  }

  // Alarms on members other than the dead one
  const staleId = membership.stale?.id;
  const coTargetMembers = new Set(
    views.filter((v) => f.coTargets.has(v.instance.id)).flatMap((v) => v.members.map((m) => m.id)),
  );
  const alarms = (obs.alarms ?? []).filter(
    (a) => a.alarm !== 'NONE' && a.memberId !== staleId && !coTargetMembers.has(a.memberId),
  );
  if (alarms.length > 0) {
    refuse(
      'alarm',
      `Alarms are raised: ${alarms.map((a) => `${a.alarm} on member ${a.memberId}`).join(', ')}.`,
      'Fix the cause first (NOSPACE: compact and defragment, then `etcdctl alarm disarm`; CORRUPT: find the corrupt member), then run again.',
    );
  }

  // 13. disk space (before any change)
  if (!f.resumed) {
    const dbSize = Math.max(0, ...statuses.map((s) => s.dbSize || 0));
    const needSnap = Math.ceil(dbSize * 1.1) + SNAPSHOT_MARGIN_BYTES;
    const h = obs.helper;
    if (!h) {
      if (healthyOthers.length >= f.quorum)
        refuse(
          'observation-failed',
          'No healthy member could be inspected for the snapshot.',
          'Check SSH access to the other masters.',
        );
    } else if (h.vm.freeKb !== null && h.vm.freeKb * 1024 < needSnap) {
      refuse(
        'disk-space',
        `${h.label} has ${Math.round(h.vm.freeKb / 1024)} MiB free on ${cmd.STORE_DIR}; the snapshot needs about ${Math.round(needSnap / MiB)} MiB.`,
        `Free space on ${cmd.STORE_DIR} of ${h.label} (old snapshots in ${cmd.SNAPSHOT_DIR}, old etcd.bak-* folders) and run again.`,
      );
    }
    const needTarget = dbSize + SNAPSHOT_MARGIN_BYTES;
    if (vm?.reachable && vm.freeKb !== null && vm.freeKb * 1024 < needTarget) {
      refuse(
        'disk-space',
        `${label} has ${Math.round(vm.freeKb / 1024)} MiB free on ${cmd.STORE_DIR}; the new member needs about ${Math.round(needTarget / MiB)} MiB.`,
        `Free space on ${cmd.STORE_DIR} of ${label} (old etcd.bak-* folders) and run again.`,
      );
    }
  }
  if (unhealthyOthers.length > 0 && healthyOthers.length >= f.quorum) {
    notes.push(
      `Also unhealthy: ${unhealthyOthers.map((v) => v.label).join(', ')}; quorum holds without them (${healthyOthers.length} of ${f.clusterSize}).`,
    );
  }
  return { refusals, evidence, notes };
}

/** Removing a voter from n members leaves n-1; the remaining healthy voters must be a quorum of n-1, and re-adding needs quorum of n. */
function cmd_quorumAfterRemove(n: number): number {
  return Math.floor(n / 2) + 1;
}

function whyUnhealthy(v: {
  splitClusterId?: string;
  health?: { ok: boolean; error?: string; value?: { healthy: boolean; error?: string } } | undefined;
  status?: { ok: boolean; error?: string } | undefined;
  members: unknown[];
}): string {
  if (v.splitClusterId)
    return `it answers for another cluster (id ${v.splitClusterId}): split brain, it started a new cluster of its own`;
  if (v.health && !v.health.ok) return v.health.error ?? 'unreachable';
  if (v.health && v.health.ok && v.health.value && !v.health.value.healthy) return v.health.value.error ?? 'unhealthy';
  if (v.status && !v.status.ok) return v.status.error ?? 'no status';
  if (!v.health) return 'no answer';
  if (v.members.length === 0) return 'not a member';
  return 'not a healthy voter';
}
