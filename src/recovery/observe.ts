// Observation: everything the plan is decided from, read without changing anything —
// the Director's instances, etcd's members/status/health/alarms, and the target VM itself
// (monit, data directory, disk space, peer address, recovery state file). No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import { findService, parseMonitSummary, type MonitService, type MonitSummary } from '../bosh/monit';
import type { DeploymentSession } from '../session/types';
import type { RemoteHost, ExecResult } from '../ssh/types';
import type { EndpointHealth, EndpointResult, EndpointStatus, EtcdAlarm, EtcdMember } from '../etcd/types';
import { observeDeployment, type ClusterObservation } from '../diagnosis/observe';
import { diagnose } from '../diagnosis/summary';
import type { Finding, FindingKind } from '../diagnosis/types';
import { parseResumeMarker, type ResumeMarker } from '../session/resumeMarker';
import { expectedClientUrl, probeVm, validateInstanceLabel, ValidationError } from './commands';

export type MonitState =
  | 'running'
  | 'not-monitored'
  | 'stop-pending'
  | 'start-pending'
  | 'does-not-exist'
  | 'failed'
  | 'initializing'
  | 'missing'
  | 'unknown';

/** The recovery state file left on the target by a run that started changing things. */
export interface RecoveryStateRecord {
  ts: string;
  oldMemberId: string | null;
  snapshot: string | null;
  snapshotHost: string | null;
  /** The whole marker (run id, instance, added member). */
  marker?: ResumeMarker;
}

/** What a read-only probe found on one master VM. */
export interface VmProbe {
  instance: string;
  reachable: boolean;
  error?: string;
  monitEtcd: MonitState;
  /** monit's own words for etcd, e.g. 'Not monitored', 'running'. */
  monitText: string;
  /** Entries of /var/vcap/store/etcd, null when the directory does not exist. */
  dataEntries: string[] | null;
  memberDir: { exists: boolean; owner: string | null; entries: string[] };
  /** Entries of /var/vcap/store (backups, snapshots, state file). */
  storeEntries: string[];
  /** Free space on /var/vcap/store, KiB. */
  freeKb: number | null;
  /** `${etcd_peer_address}` as the job's utils.sh computes it on the VM. */
  peerAddress: string | null;
  state: RecoveryStateRecord | null;
  etcdAlive: boolean;
  /** The VM's etcd package ships etcdutl (etcd 3.5's offline tool). */
  etcdutl: boolean;
  raw: string;
}

/** One master instance with its etcd member and endpoint results. */
export interface MemberView {
  instance: InstanceInfo;
  label: string;
  endpointUrl: string;
  /** Member(s) whose name is this instance's UUID or whose peer URL is this instance's. */
  members: EtcdMember[];
  status?: EndpointResult<EndpointStatus>;
  health?: EndpointResult<EndpointHealth>;
  /** Endpoint answered health and status without error, as part of the majority's cluster. */
  healthy: boolean;
  /** Set when this endpoint answers for another cluster id than the majority (split brain). */
  splitClusterId?: string;
}

export interface Observation {
  at: string;
  deployment: string;
  /** As asked: 'group/uuid'. */
  targetLabel: string;
  target: InstanceInfo | null;
  /** Instances of the target's group (the etcd members), index order. */
  instances: InstanceInfo[];
  views: MemberView[];
  members: EtcdMember[] | null;
  status: EndpointResult<EndpointStatus>[];
  health: EndpointResult<EndpointHealth>[];
  alarms: EtcdAlarm[] | null;
  targetVm: VmProbe | null;
  /** A healthy other member chosen for the snapshot, with its probe. */
  helper: { label: string; vm: VmProbe } | null;
  /** Problems met while observing (each says what failed). */
  errors: string[];
  /** The diagnosis's findings for the whole deployment (the same for every target of one run). */
  findings: Finding[];
  /** The resume marker on the target, as read (also when it is not trusted; `targetVm.state` is then null). */
  marker?: ResumeMarker | null;
  /** Why the marker is trusted or not (markerMatches), when there is one. */
  markerReason?: string;
}

export function labelOf(i: Pick<InstanceInfo, 'group' | 'id'>): string {
  return `${i.group}/${i.id}`;
}

/** etcd's state in monit's words, mapped finer than the agent does: the plan tells stopping from stopped. */
function monitStateOf(svc: MonitService): MonitState {
  const status = svc.status.toLowerCase();
  const notMonitored = status.startsWith('not monitored');
  if (svc.pending) {
    // 5.33 may cut the action short ('sto', 'star'): a prefix names it.
    if ('stop'.startsWith(svc.pending)) return 'stop-pending';
    if (notMonitored || 'start'.startsWith(svc.pending) || 'restart'.startsWith(svc.pending)) return 'start-pending';
    return 'unknown';
  }
  if (notMonitored) return 'not-monitored';
  if (status === 'running' || status === 'ok') return 'running';
  if (status.includes('does not exist')) return 'does-not-exist';
  if (status.includes('initializing')) return 'initializing';
  if (status.includes('failed') || status.includes('error')) return 'failed';
  return 'unknown';
}

/** etcd's state from `monit summary` output (BOSH's 5.2.5 or Debian's 5.33), read by the monit parser. */
export function etcdMonitState(summary: string): { state: MonitState; text: string } {
  let parsed: MonitSummary;
  try {
    parsed = parseMonitSummary(summary);
  } catch (e) {
    // monit itself failed (e.g. its daemon is down): its own words are the best description
    const said = summary.split(/\r?\n/).find((l) => l.trim() !== '');
    return { state: 'unknown', text: said?.trim() ?? (e as Error).message };
  }
  const etcd = findService(parsed, 'etcd');
  if (!etcd) return { state: 'missing', text: '' };
  const text = `${etcd.status}${etcd.pending ? ` - ${etcd.pending} pending` : ''}${etcd.truncated ? '...' : ''}`;
  return { state: monitStateOf(etcd), text };
}

function sections(out: string): Map<string, string> {
  const m = new Map<string, string>();
  let cur: string | null = null;
  let buf: string[] = [];
  for (const line of out.split(/\r?\n/)) {
    const h = /^### (\w+)$/.exec(line);
    if (h) {
      if (cur) m.set(cur, buf.join('\n'));
      cur = h[1];
      buf = [];
    } else if (cur) buf.push(line);
  }
  if (cur) m.set(cur, buf.join('\n'));
  return m;
}

const lines = (s: string | undefined) =>
  (s ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);

/** The resume marker's text as the plan reads it (null: none, or not a marker). */
export function parseStateFile(text: string): RecoveryStateRecord | null {
  const m = parseResumeMarker(text);
  if (!m) return null;
  return { ts: m.ts, oldMemberId: m.removedMemberId, snapshot: m.snapshot, snapshotHost: m.snapshotHost, marker: m };
}

/** Parses the output of `probeVm()`. */
export function parseProbe(instance: string, out: string): VmProbe {
  const s = sections(out);
  const monit = etcdMonitState(s.get('monit') ?? '');
  const data = lines(s.get('data'));
  const dataMissing = data.some((l) => /No such file or directory/.test(l));
  const memberLines = lines(s.get('member'));
  const memberExists =
    memberLines.length > 0 && /^[^:\s]+:[^:\s]+$/.test(memberLines[0]) && !/No such file/.test(memberLines[0]);
  const df = lines(s.get('df'));
  let freeKb: number | null = null;
  if (df.length >= 2) {
    const cols = df[df.length - 1].split(/\s+/);
    const n = Number(cols[3]);
    if (Number.isFinite(n)) freeKb = n;
  }
  const peer = lines(s.get('peer'))[0] ?? null;
  const pid = lines(s.get('pid'));
  return {
    instance,
    reachable: true,
    monitEtcd: monit.state,
    monitText: monit.text,
    dataEntries: dataMissing ? null : data,
    memberDir: {
      exists: memberExists,
      owner: memberExists ? memberLines[0] : null,
      entries: memberExists ? memberLines.slice(1).filter((l) => !/No such file/.test(l)) : [],
    },
    storeEntries: lines(s.get('store')).filter((l) => !/No such file/.test(l)),
    freeKb,
    peerAddress: peer && peer.length > 0 ? peer : null,
    state: parseStateFile(s.get('state') ?? ''),
    etcdAlive: pid.includes('alive'),
    etcdutl: lines(s.get('etcdutl')).includes('present'),
    raw: out,
  };
}

function unreachableProbe(instance: string, error: string): VmProbe {
  return {
    instance,
    reachable: false,
    error,
    monitEtcd: 'unknown',
    monitText: '',
    dataEntries: null,
    memberDir: { exists: false, owner: null, entries: [] },
    storeEntries: [],
    freeKb: null,
    peerAddress: null,
    state: null,
    etcdAlive: false,
    etcdutl: false,
    raw: '',
  };
}

export async function probeHost(host: RemoteHost, label: string): Promise<VmProbe> {
  let r: ExecResult;
  try {
    r = await host.exec(probeVm().command, { sudo: true, timeoutMs: 30_000 });
  } catch (e) {
    return unreachableProbe(label, `could not inspect ${label} over SSH: ${(e as Error).message}`);
  }
  if (r.code !== 0)
    return unreachableProbe(label, `inspecting ${label} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
  return parseProbe(label, r.stdout);
}

/** The cluster id most endpoints report (ties: the one the target does not report). */
export function majorityClusterId(status: EndpointResult<EndpointStatus>[], targetUrl: string): string | null {
  const count = new Map<string, number>();
  for (const r of status)
    if (r.ok && r.value.clusterId)
      count.set(r.value.clusterId, (count.get(r.value.clusterId) ?? 0) + (r.endpoint === targetUrl ? 0.5 : 1));
  let best: string | null = null;
  for (const [id, n] of count) if (best === null || n > count.get(best)!) best = id;
  return best;
}

/** Finding kinds that say an instance's member is not serving (positive evidence, or the lack of it). */
const NOT_SERVING = new Set<FindingKind>([
  'member-down',
  'member-unknown',
  'split-brain',
  'instance-without-member',
  'member-unstarted',
  'learner-not-promoted',
]);

/** The deployment's diagnosis, shared by the observations of every target of one run. */
export interface SharedObservation {
  cluster: ClusterObservation;
  findings: Finding[];
}

/** Observes the deployment once (Director, every endpoint, every VM) and classifies it. */
export async function observeShared(session: DeploymentSession): Promise<SharedObservation> {
  const cluster = await observeDeployment(session);
  return { cluster, findings: diagnose(cluster).findings };
}

/**
 * One target's observation, built on the diagnosis (health is the classifier's: no second copy of
 * its rules) plus what only the recovery needs: the target VM's recovery probe (member/ owner, the
 * resume marker, the etcd process) and a healthy member chosen for the snapshot. Never throws for an
 * unreachable part: the failure is recorded in `errors` / the probe and the plan refuses with it.
 */
export async function observeCluster(
  session: DeploymentSession,
  targetLabel: string,
  shared?: SharedObservation,
): Promise<Observation> {
  validateInstanceLabel(targetLabel);
  const [group, uuid] = targetLabel.split('/');
  const targetProbeP = session.ssh(targetLabel).then(
    (h) => probeHost(h, targetLabel),
    (e: Error) => unreachableProbe(targetLabel, `could not connect to ${targetLabel} over SSH: ${e.message}`),
  );
  targetProbeP.catch(() => undefined);
  const { cluster: c, findings } = shared ?? (await observeShared(session));
  const errors: string[] = [];
  if (c.directorError && !c.instances.length) errors.push(c.directorError);
  if (c.etcdError) errors.push(`etcd could not be opened: ${c.etcdError}`);
  const instances = c.masters.filter((i) => i.group === group);
  const target = instances.find((i) => i.id === uuid) ?? null;
  if (!target)
    errors.push(
      `instance ${targetLabel} is not in deployment ${session.deployment} (instances of ${group}: ${instances.map((i) => i.id).join(', ') || 'none'})`,
    );
  const status = c.endpoints.flatMap((e) => (e.status ? [e.status] : []));
  const health = c.endpoints.flatMap((e) => (e.health ? [e.health] : []));
  if (c.endpoints.length && !status.some((r) => r.ok)) errors.push('etcd endpoint status: no endpoint answered');
  const targetUrl = target ? endpointUrlFor(target, c.endpoints) : '';
  const majority = majorityClusterId(status, targetUrl);
  // The member list from one of the majority, the leader's first (a member that split off has its own).
  const inMajority = c.endpoints.filter((e) => e.status?.ok && (!majority || e.status.value.clusterId === majority));
  const listFrom =
    inMajority.find((e) => e.members?.ok && e.status?.ok && e.status.value.leader === e.status.value.memberId) ??
    inMajority.find((e) => e.members?.ok);
  const memberList = listFrom?.members?.ok ? listFrom.members.value : null;
  if (!memberList) errors.push('etcd member list: no member of the majority answered it');
  const notServing = (id: string) => findings.some((f) => f.instance?.id === id && NOT_SERVING.has(f.kind));

  const views: MemberView[] = instances.map((i) => {
    const url = endpointUrlFor(i, c.endpoints);
    const peer = i.index !== null ? `https://master-${i.index}.etcd.cfcr.internal:2380` : '';
    const st = status.find((r) => r.endpoint === url);
    const he = health.find((r) => r.endpoint === url);
    const ms = (memberList ?? []).filter((m) => m.name === i.id || m.peerURLs.includes(peer));
    const split = !!st?.ok && !!majority && !!st.value.clusterId && st.value.clusterId !== majority;
    const probe = c.probes[i.id];
    // Healthy: the classifier found nothing wrong with its member, and it answers health from here or on its VM.
    const answersHealth = (!!he?.ok && he.value.healthy) || !!probe?.localHealth?.healthy;
    const healthy = !split && !notServing(i.id) && answersHealth;
    return {
      instance: i,
      label: labelOf(i),
      endpointUrl: url,
      members: ms,
      status: st,
      health: he,
      healthy,
      splitClusterId: split && st?.ok ? st.value.clusterId : undefined,
    };
  });

  let targetVm: VmProbe | null = null;
  let helper: Observation['helper'] = null;
  if (target) {
    const tv = views.find((v) => v.instance.id === target.id)!;
    // The snapshot member: a healthy follower that answers from here (keeps load off the leader), else the leader.
    const healthyOthers = views.filter((v) => v !== tv && v.healthy && v.status?.ok);
    const follower = healthyOthers.find((v) => v.status?.ok && v.status.value.leader !== v.status.value.memberId);
    const chosen = follower ?? healthyOthers[0];
    const [tp, hp] = await Promise.all([
      targetProbeP,
      chosen
        ? session.ssh(chosen.instance).then(
            (h) => probeHost(h, chosen.label),
            (e: Error) => unreachableProbe(chosen.label, `could not connect to ${chosen.label} over SSH: ${e.message}`),
          )
        : Promise.resolve(null),
    ]);
    targetVm = tp;
    if (tp.error) errors.push(tp.error);
    if (chosen && hp) {
      helper = { label: chosen.label, vm: hp };
      if (hp.error) errors.push(hp.error);
    }
  }
  const alarms = c.alarms?.ok ? c.alarms.value : null;
  if (c.alarms && !c.alarms.ok) errors.push(`etcd alarm list failed: ${c.alarms.error}`);
  return {
    at: c.at,
    deployment: session.deployment,
    targetLabel,
    target,
    instances,
    views,
    members: memberList,
    status,
    health,
    alarms,
    targetVm,
    helper,
    errors,
    findings,
  };
}

/** Endpoint of an instance: by the name = UUID the session opened it for, else the job's client URL for its index. */
function endpointUrlFor(i: InstanceInfo, endpoints: { instanceId: string; url: string }[]): string {
  const byName = endpoints.find((e) => e.instanceId === i.id);
  if (byName) return byName.url;
  return i.index !== null ? expectedClientUrl(i.index) : '';
}

export { ValidationError };
