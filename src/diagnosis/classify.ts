// Observation → findings: a pure function (no I/O, no clock), the one place where etcd's health is
// judged. Rule: positive evidence only. An endpoint that does not answer from the workstation is
// "down" only when its VM (or the Director) says so; when the VM says etcd is healthy it is a
// network path problem and never offered for recovery; when nothing can be checked it is
// "unknown". Plain Node, no `vscode`.
import type { InstanceInfo } from '../bosh/types';
import type { EtcdMember } from '../etcd/types';
import {
  DEFAULT_QUOTA_BYTES,
  expectedPeerUrl,
  labelOf,
  majorityClusterId,
  type ClusterObservation,
  type EndpointObservation,
  type VmProbe,
} from './observe';
import type {
  Diagnosis,
  DiagnosisSummary,
  Finding,
  FindingAction,
  FindingInstance,
  FindingKind,
  FindingMember,
  MemberDownCause,
  Severity,
} from './types';

/** Above this share of the quota the DB is "near" it (etcd raises NOSPACE at 100 %). */
export const NEAR_QUOTA_RATIO = 0.8;
/** Fragmentation is worth a defrag from this DB size on, when less than half of it is in use. */
export const FRAGMENTATION_MIN_DB_BYTES = 64 * 1024 * 1024;
export const FRAGMENTATION_IN_USE_RATIO = 0.5;
/** Raft entries committed but not applied (or behind the leader) before it counts as lagging. */
export const APPLIED_INDEX_LAG = 5000;

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
export const severityRank = (s: Severity | 'ok') => (s === 'ok' ? -1 : SEVERITY_RANK[s]);

const short = (id: string) => id.slice(0, 8);
const bytes = (n: number) =>
  n >= 1024 * 1024 * 1024
    ? `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`
    : n >= 1024 * 1024
      ? `${(n / 1024 / 1024).toFixed(1)} MiB`
      : `${Math.round(n / 1024)} KiB`;

function instRef(i: InstanceInfo): FindingInstance {
  return { label: labelOf(i), group: i.group, id: i.id, index: i.index, bootstrap: i.bootstrap };
}
const displayName = (i: InstanceInfo) => `${i.group}/${i.index ?? '?'} (${short(i.id)})`;

// ------------------------------------------------------------------------------ causes from the VM

interface CauseRule {
  cause: MemberDownCause;
  pattern: RegExp;
}

/** In order: the first rule matching a line names the cause (more specific first). */
const LOG_RULES: CauseRule[] = [
  { cause: 'disk-full', pattern: /no space left on device/i },
  {
    cause: 'member-removed',
    pattern:
      /permanently removed from the cluster|ID removed|has already been removed|member .* (was|has been) removed/i,
  },
  { cause: 'member-count-unequal', pattern: /member count is unequal|error validating peerURLs/i },
  { cause: 'unhealthy-cluster', pattern: /unhealthy cluster/i },
  {
    cause: 'data-corruption',
    pattern: /panic|invalid database|checksum error|corrupt|file size too small|crc mismatch/i,
  },
  { cause: 'tls', pattern: /x509: |certificate (has expired|is not valid|signed by unknown)|tls: bad certificate/i },
];

/** A line etcd prints once it serves: any error before the last such line is from an earlier run. */
const SERVING =
  /ready to serve client requests|serving client traffic|published local member to cluster|published \{Name:/i;

const GO_STACK = /^\s|^goroutine \d|\.go:\d+|\(0x[0-9a-f]+\??[,)]/;

/** The most recent cause in the log tail (lines after the last "serving" line only), with its line. */
export function causeFromLog(lines: string[]): { cause: MemberDownCause; line: string } | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (SERVING.test(line)) return null;
    // a Go stack trace below a panic names functions, not the reason: the panic line above says it
    if (GO_STACK.test(line)) continue;
    for (const r of LOG_RULES) if (r.pattern.test(line)) return { cause: r.cause, line: line.trim() };
  }
  return null;
}

/** Why a member whose VM says it is not healthy is down. */
function causeFromProbe(p: VmProbe): { cause: MemberDownCause; evidence: string; line?: string } {
  const monit = p.monitEtcd
    ? `monit: etcd ${p.monitEtcd.status}${p.monitEtcd.pending ? ` - ${p.monitEtcd.pending} pending` : ''}`
    : 'monit lists no etcd';
  const local = p.localHealth ? `health on the VM: ${p.localHealth.detail}` : 'health on the VM not available';
  const notMonitored = p.monitEtcd && /^not monitored/i.test(p.monitEtcd.status) && !p.monitEtcd.pending;
  if (notMonitored && p.etcdPid === null) return { cause: 'stopped', evidence: `${monit}; no etcd process (stopped)` };
  const fromLog = causeFromLog(p.logTail);
  if (fromLog)
    return {
      cause: fromLog.cause,
      evidence: `${monit}; etcd.stderr.log: "${fromLog.line.slice(0, 240)}"`,
      line: fromLog.line,
    };
  if (!p.memberDirExists)
    return { cause: 'data-missing', evidence: `${monit}; /var/vcap/store/etcd/member is missing (the data was wiped)` };
  if (p.storeFreeBytes !== null && p.storeFreeBytes < 1024 * 1024)
    return { cause: 'disk-full', evidence: `${monit}; /var/vcap/store has ${bytes(p.storeFreeBytes)} free` };
  if (p.etcdPid !== null)
    return { cause: 'unresponsive', evidence: `${monit}; etcd (pid ${p.etcdPid}) runs but does not answer; ${local}` };
  return { cause: 'failing', evidence: `${monit}; no etcd process; ${local}` };
}

const CAUSE_WORDS: Record<MemberDownCause, string> = {
  'unhealthy-cluster':
    'its self-add was refused ("unhealthy cluster"): the data was wiped while its old member is still registered',
  'data-corruption': 'its data is corrupt (etcd panics at start)',
  'member-count-unequal':
    'its data does not match the cluster\'s membership ("member count is unequal" / peer URL validation)',
  'member-removed': 'it was removed from the cluster and its data still says it is a member',
  tls: 'a certificate / TLS error',
  'disk-full': 'the disk is full ("no space left on device")',
  'data-missing': 'its data directory is empty',
  stopped: 'etcd is stopped',
  unresponsive: 'etcd runs but does not answer, not even on the VM',
  failing: 'etcd is not running and the log does not say why',
  'vm-down': 'the VM is down (the Director reports no responsive agent)',
};

function actionForCause(cause: MemberDownCause, inst: InstanceInfo, deployment: string): FindingAction {
  const label = labelOf(inst);
  const d = `bosh -d ${deployment}`;
  switch (cause) {
    case 'unhealthy-cluster':
    case 'data-corruption':
    case 'member-count-unequal':
    case 'member-removed':
    case 'data-missing':
      return {
        flow: 'recover-member',
        text: `Replace the member of ${label} (BOSH etcd: Recover etcd Member…, or bosh-etcd recover ${label}).`,
      };
    case 'disk-full':
      return {
        flow: 'bosh',
        text: `Free space on /var/vcap/store of ${label} or give the master a larger persistent disk, then start etcd.`,
        command: `${d} ssh ${label} -c 'df -h /var/vcap/store; sudo du -sh /var/vcap/store/*'`,
      };
    case 'stopped':
      return {
        flow: 'bosh',
        text: `Start etcd on ${label} (monit start etcd through bosh ssh, or restart the instance's jobs).`,
        command: `${d} ssh ${label} -c 'sudo /var/vcap/bosh/bin/monit start etcd'`,
      };
    case 'unresponsive':
      return {
        flow: 'bosh',
        text: `Restart etcd on ${label}; if it still does not answer, look at etcd.stderr.log.`,
        command: `${d} ssh ${label} -c 'sudo /var/vcap/bosh/bin/monit restart etcd'`,
      };
    case 'vm-down':
      return {
        flow: 'bosh',
        text: `Bring the VM back: cloud-check recreates it with its persistent disk (etcd's data is kept).`,
        command: `${d} cloud-check`,
      };
    case 'tls':
      return {
        flow: 'none',
        text: `Investigate the certificates of ${label} (/var/vcap/jobs/etcd/config): expired or not signed by the cluster's CA.`,
      };
    case 'failing':
      return { flow: 'none', text: `Investigate ${label}: read /var/vcap/sys/log/etcd/etcd.stderr.log and monit.log.` };
  }
}

// ------------------------------------------------------------------------------ classification

interface MasterView {
  inst: InstanceInfo;
  ep?: EndpointObservation;
  probe?: VmProbe;
  answered: boolean;
  /** Cluster id from here, else as the VM itself reports it. */
  clusterId?: string;
  memberId?: string;
  /** Director's view of the etcd process on the instance ('running', 'failing', …) or the aggregate. */
  directorEtcd: string | null;
}

function directorEtcdState(i: InstanceInfo): string | null {
  const p = i.processes.find((x) => x.name === 'etcd');
  if (p) return p.state;
  return i.processState;
}

function memberOf(inst: InstanceInfo, members: EtcdMember[] | null): EtcdMember[] {
  if (!members) return [];
  const peer = inst.index !== null ? expectedPeerUrl(inst.index) : '';
  return members.filter((m) => m.name === inst.id || (peer && m.peerURLs.includes(peer)));
}

/** Observation → findings, worst first. Pure. */
export function classify(obs: ClusterObservation): Finding[] {
  const out: Finding[] = [];
  const add = (f: Omit<Finding, 'title'> & { title?: string }) => {
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

  // ---- split brain: another cluster id, or two leaders in one cluster
  const ids = new Set(views.map((v) => v.clusterId).filter((x): x is string => !!x));
  const countOf = (id: string) => views.filter((v) => v.clusterId === id).length;
  const tie = majority !== null && [...ids].some((id) => id !== majority && countOf(id) === countOf(majority));
  const split = new Set<string>();
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
  const leaders = new Set(
    main.map((v) => (v.ep?.status?.ok ? v.ep.status.value.leader : '')).filter((l) => l && !/^0+$/.test(l)),
  );
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

  // ---- per instance
  const voters = (members ?? []).filter((m) => !m.isLearner);
  let healthyVoters = 0;
  let knownDownVoters = 0;
  const matched = new Set<string>();
  for (const v of views) {
    const inst = v.inst;
    const ref = instRef(inst);
    const mine = memberOf(inst, members);
    for (const m of mine) matched.add(m.id);
    if (split.has(inst.id)) {
      if (mine.some((m) => !m.isLearner)) knownDownVoters++;
      continue;
    }
    const m = mine[0];
    const mref: FindingMember | undefined = m
      ? { id: m.id, name: m.name }
      : v.memberId
        ? { id: v.memberId, name: inst.id }
        : undefined;
    const voter = m ? !m.isLearner : true;

    // membership and identity
    if (members && !mine.length) {
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

    // health, with positive evidence only
    const st = v.ep?.status?.ok ? v.ep.status.value : undefined;
    const he = v.ep?.health?.ok ? v.ep.health.value : undefined;
    const p = v.probe;
    if (v.answered && he?.healthy) {
      if (voter && m) healthyVoters++;
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
        if (voter && m) knownDownVoters++;
      } else if (voter && m) healthyVoters++;
    } else if (p?.reachable && p.localHealth?.healthy) {
      if (voter && m) healthyVoters++;
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
      if (voter && m) knownDownVoters++;
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
      if (voter && m) knownDownVoters++;
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
      if (voter && m) knownDownVoters++;
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
      if (voter && m) knownDownVoters++;
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

    // size, lag
    if (st) {
      const quota = p?.quotaBytes ?? DEFAULT_QUOTA_BYTES;
      const quotaKnown = !!p?.reachable;
      const inUse = st.dbSizeInUse;
      if (st.dbSize > NEAR_QUOTA_RATIO * quota) {
        const defragHelps = inUse !== undefined && inUse < NEAR_QUOTA_RATIO * quota * 0.9;
        add({
          kind: 'db-near-quota',
          severity: 'warning',
          instance: ref,
          member: mref,
          evidence: `DB size ${bytes(st.dbSize)} is ${Math.round((100 * st.dbSize) / quota)} % of the quota ${bytes(quota)}${quotaKnown ? ` (the job's --quota-backend-bytes${p?.quotaBytes ? '' : ": not set, etcd's default"})` : " (assumed: etcd's default; the VM was not inspected)"}${inUse !== undefined ? `; ${bytes(inUse)} in use` : ''}. At 100 % etcd raises NOSPACE and refuses writes.`,
          action: defragHelps
            ? { flow: 'defrag', text: 'Defragment the members one at a time: most of the DB is free pages.' }
            : {
                flow: 'none',
                text: 'The data itself is near the quota: compact the history, delete what is not needed, or raise quota-backend-bytes (bosh deploy).',
              },
        });
      }
      if (
        inUse !== undefined &&
        st.dbSize >= FRAGMENTATION_MIN_DB_BYTES &&
        inUse < FRAGMENTATION_IN_USE_RATIO * st.dbSize
      ) {
        add({
          kind: 'fragmentation',
          severity: 'warning',
          instance: ref,
          member: mref,
          evidence: `DB size ${bytes(st.dbSize)}, of which ${bytes(inUse)} in use (${Math.round((100 * inUse) / st.dbSize)} %).`,
          action: {
            flow: 'defrag',
            text: 'Defragment this member (one member at a time) to give the free pages back.',
          },
        });
      }
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
  }

  // ---- quorum and leader (the majority cluster)
  const n = voters.length;
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

  // ---- orphans: members no instance owns
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

  // ---- alarms
  if (obs.alarms?.ok) {
    for (const a of obs.alarms.value) {
      const kindName = a.alarm === '1' ? 'NOSPACE' : a.alarm === '2' ? 'CORRUPT' : a.alarm.toUpperCase();
      const v = views.find((x) => x.memberId === a.memberId);
      const mm = members?.find((x) => x.id === a.memberId);
      const instance = v ? instRef(v.inst) : undefined;
      const member = { id: a.memberId, name: mm?.name ?? v?.inst.id ?? '' };
      if (kindName === 'NOSPACE') {
        add({
          kind: 'alarm-nospace',
          severity: 'critical',
          title: `NOSPACE alarm: etcd refuses writes`,
          instance,
          member,
          evidence: `Alarm NOSPACE raised by member ${a.memberId}: its DB reached --quota-backend-bytes; the cluster accepts only reads and deletes.`,
          action: {
            flow: 'recover-nospace',
            text: 'Compact, defragment every member, then disarm the alarm (etcdctl alarm disarm).',
          },
        });
      } else if (kindName === 'CORRUPT') {
        add({
          kind: 'alarm-corrupt',
          severity: 'critical',
          title: `CORRUPT alarm on member ${a.memberId}`,
          instance,
          member,
          evidence: `Alarm CORRUPT raised for member ${a.memberId}: its data differs from the others'.`,
          action: v
            ? { flow: 'recover-member', text: `Replace the member of ${labelOf(v.inst)} (its data is not trusted).` }
            : { flow: 'none', text: "Find the member's instance, then replace it." },
        });
      }
    }
  }

  // ---- hashKV at one revision
  const hashed = main.filter((v) => v.ep?.hashKV?.ok);
  if (hashed.length >= 2 && obs.hashRevision) {
    const groups = new Map<number, MasterView[]>();
    for (const v of hashed) {
      const h = v.ep!.hashKV!.ok ? (v.ep!.hashKV as { ok: true; value: { hash: number } }).value.hash : 0;
      groups.set(h, [...(groups.get(h) ?? []), v]);
    }
    if (groups.size > 1) {
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
  }

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
  return finish(out, obs, { healthy: healthyVoters, total: n });
}

function finish(out: Finding[], obs: ClusterObservation, counts?: { healthy: number; total: number }): Finding[] {
  if (!out.some((f) => f.severity !== 'info')) {
    out.unshift({
      kind: 'healthy',
      severity: 'info',
      title: counts ? `etcd healthy: ${counts.healthy}/${counts.total} members` : 'nothing wrong seen',
      evidence: counts
        ? `${counts.healthy} of ${counts.total} voting members healthy, one cluster id, one leader${obs.hashRevision ? `, equal hashKV at revision ${obs.hashRevision}` : ''}.`
        : 'No finding.',
      action: { flow: 'none', text: 'Nothing to do.' },
    });
  }
  return out.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
}

// ------------------------------------------------------------------------------ summaries and helpers

/** Masters whose member is healthy (no finding against it that says otherwise) / masters. */
function memberCounts(obs: ClusterObservation, findings: Finding[]): { healthy: number; total: number } {
  const notHealthy: FindingKind[] = [
    'member-down',
    'instance-no-vm',
    'member-unknown',
    'split-brain',
    'instance-without-member',
    'member-unstarted',
    'learner-not-promoted',
  ];
  const bad = new Set(findings.filter((f) => f.instance && notHealthy.includes(f.kind)).map((f) => f.instance!.id));
  const total = obs.masters.length;
  return { healthy: obs.masters.filter((m) => !bad.has(m.id)).length, total };
}

export function summarize(findings: Finding[], obs?: ClusterObservation): DiagnosisSummary {
  const counts: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  const worst: DiagnosisSummary['worst'] = counts.critical ? 'critical' : counts.warning ? 'warning' : 'ok';
  const mc = obs ? memberCounts(obs, findings) : { healthy: 0, total: 0 };
  const top = findings.find((f) => f.severity === worst) ?? findings[0];
  const more = counts.critical + counts.warning - 1;
  const line =
    worst === 'ok'
      ? `etcd ${mc.healthy}/${mc.total} healthy`
      : `${worst}: ${top.title}${more > 0 ? ` (+${more} more)` : ''}`;
  return { worst, counts, line, healthyMembers: mc.healthy, members: mc.total };
}

/** The one entry point the surfaces use: observation → diagnosis. Pure. */
export function diagnose(obs: ClusterObservation): Diagnosis {
  const findings = classify(obs);
  return {
    at: obs.at,
    deployment: obs.deployment,
    findings,
    summary: summarize(findings, obs),
    unchecked: obs.unchecked,
  };
}

/** Findings about one instance (by UUID), worst first. */
export function findingsForInstance(findings: Finding[], instanceId: string): Finding[] {
  return findings.filter((f) => f.instance?.id === instanceId);
}

/** The worst finding about one instance (undefined: nothing said about it, i.e. healthy). */
export function worstFindingForInstance(findings: Finding[], instanceId: string): Finding | undefined {
  return findingsForInstance(findings, instanceId).sort(
    (a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity],
  )[0];
}

export type MemberStateWord =
  | 'healthy'
  | 'down'
  | 'no vm'
  | 'split'
  | 'unknown'
  | 'unreachable'
  | 'unstarted'
  | 'learner'
  | 'no member'
  | 'degraded';

const STATE_OF: Partial<Record<FindingKind, MemberStateWord>> = {
  'split-brain': 'split',
  'member-down': 'down',
  'instance-no-vm': 'no vm',
  'instance-without-member': 'no member',
  'member-unknown': 'unknown',
  'unreachable-from-here': 'unreachable',
  'member-unstarted': 'unstarted',
  'learner-not-promoted': 'learner',
};
const STATE_ORDER: FindingKind[] = [
  'split-brain',
  'member-down',
  'instance-no-vm',
  'instance-without-member',
  'member-unstarted',
  'member-unknown',
  'unreachable-from-here',
  'learner-not-promoted',
];

/** One word for an instance's member, for tree descriptions and tables. */
export function memberStateWord(findings: Finding[], instanceId: string): MemberStateWord {
  const mine = findingsForInstance(findings, instanceId);
  for (const k of STATE_ORDER) if (mine.some((f) => f.kind === k)) return STATE_OF[k]!;
  if (mine.some((f) => f.severity !== 'info')) return 'degraded';
  return 'healthy';
}

/** Instances with positive evidence of a broken member whose fix is the recovery wizard (for its preselection). */
export function recoverableInstances(findings: Finding[]): FindingInstance[] {
  const seen = new Map<string, FindingInstance>();
  for (const f of findings)
    if (f.instance && f.action.flow === 'recover-member' && f.severity === 'critical')
      seen.set(f.instance.id, f.instance);
  return [...seen.values()];
}

/** `bosh-etcd status` exit codes by worst severity. */
export const EXIT_CODES = { ok: 0, warning: 7, critical: 8 } as const;
export function exitCodeFor(summary: DiagnosisSummary): number {
  return summary.worst === 'critical'
    ? EXIT_CODES.critical
    : summary.worst === 'warning'
      ? EXIT_CODES.warning
      : EXIT_CODES.ok;
}
