// Observation: everything the plan is decided from, read without changing anything —
// the Director's instances, etcd's members/status/health/alarms, and the target VM itself
// (monit, data directory, disk space, peer address, recovery state file). No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import { findService, parseMonitSummary, type MonitService, type MonitSummary } from '../bosh/monit';
import type { DeploymentSession } from '../session/types';
import type { RemoteHost, ExecResult } from '../ssh/types';
import type { EndpointHealth, EndpointResult, EndpointStatus, EtcdAlarm, EtcdMember } from '../etcd/types';
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
  membersError?: string;
  status: EndpointResult<EndpointStatus>[];
  health: EndpointResult<EndpointHealth>[];
  alarms: EtcdAlarm[] | null;
  alarmsError?: string;
  targetVm: VmProbe | null;
  /** A healthy other member chosen for the snapshot, with its probe. */
  helper: { label: string; vm: VmProbe } | null;
  /** Problems met while observing (each says what failed). */
  errors: string[];
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

export function parseStateFile(text: string): RecoveryStateRecord | null {
  const kv = new Map<string, string>();
  for (const l of lines(text)) {
    const i = l.indexOf('=');
    if (i > 0) kv.set(l.slice(0, i), l.slice(i + 1));
  }
  const ts = kv.get('ts');
  if (!ts || !/^[0-9]{8}T[0-9]{6}Z$/.test(ts)) return null;
  const id = kv.get('old_member_id') || null;
  return {
    ts,
    oldMemberId: id && /^[0-9a-f]{1,16}$/.test(id) ? id : null,
    snapshot: kv.get('snapshot') || null,
    snapshotHost: kv.get('snapshot_host') || null,
  };
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

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** How long the full instance list (process states: the Director asks every agent) may take before the fast list is used. */
export const DIRECTOR_FULL_TIMEOUT_MS = 10_000;

/**
 * `instances()` asks every agent and can hang while a VM's monit is busy (e.g. retrying etcd's start
 * program); the identities (ids, indexes) come from the fast list then, without process states.
 */
async function instancesWithFallback(session: DeploymentSession, notes: string[]): Promise<InstanceInfo[]> {
  const full = session.instances().then(
    (v) => ({ ok: true as const, v }),
    (e: Error) => ({ ok: false as const, e }),
  );
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    full,
    new Promise<null>((res) => {
      timer = setTimeout(() => res(null), DIRECTOR_FULL_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (r && r.ok) return r.v;
  const fast = await session.director.instancesFast(session.deployment);
  void notes;
  return fast.map(
    (f) =>
      ({
        deployment: session.deployment,
        group: f.group,
        id: f.id,
        index: f.index,
        processState: null,
        state: 'started',
        az: f.az,
        ips: f.ips,
        vmCid: f.vmCid,
        vmType: null,
        agentId: f.agentId,
        bootstrap: false,
        ignore: false,
        diskCids: [],
        processes: [],
        vmCreatedAt: null,
        // bootstrap is unknown in the fast list: the plan's member/ step protects the bootstrap instance anyway
      }) as InstanceInfo,
  );
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

/** Endpoint of an instance: by the job's client URL for its index, else by the endpoint name = UUID. */
function endpointUrlFor(i: InstanceInfo, endpoints: { name: string; url: string }[]): string {
  const byName = endpoints.find((e) => e.name === i.id);
  if (byName) return byName.url;
  return i.index !== null ? expectedClientUrl(i.index) : '';
}

/**
 * Reads the whole picture, changing nothing. Never throws for an unreachable part: the failure is
 * recorded in `errors` / the probe and the plan refuses with it.
 */
export async function observeCluster(session: DeploymentSession, targetLabel: string): Promise<Observation> {
  const errors: string[] = [];
  validateInstanceLabel(targetLabel);
  const [group, uuid] = targetLabel.split('/');
  // Director, etcd and the target VM are read in parallel (the Director's full list can take seconds).
  const targetProbeP = session.ssh(targetLabel).then(
    (h) => probeHost(h, targetLabel),
    (e: Error) => unreachableProbe(targetLabel, `could not connect to ${targetLabel} over SSH: ${e.message}`),
  );
  targetProbeP.catch(() => undefined);
  const etcdP = session.etcd().then(async (c) => {
    const [st, he, al] = await Promise.all([settle(c.status()), settle(c.health()), settle(c.alarms())]);
    return { c, st, he, al };
  });
  etcdP.catch(() => undefined);
  const all = await instancesWithFallback(session, errors);
  const instances = all.filter((i) => i.group === group).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  const target = instances.find((i) => i.id === uuid) ?? null;
  if (!target)
    errors.push(
      `instance ${targetLabel} is not in deployment ${session.deployment} (instances of ${group}: ${instances.map((i) => i.id).join(', ') || 'none'})`,
    );

  const { c: cluster, st: status, he: health, al: alarms } = await etcdP;
  // A member that split off (the bootstrap instance started without member/ makes a new one-member
  // cluster) answers with another cluster id: the majority's id is the cluster, and the member list
  // is read from one of the majority.
  const majority = status.ok
    ? majorityClusterId(status.value, target ? endpointUrlFor(target, cluster.endpoints) : '')
    : null;
  const listFrom = status.ok
    ? status.value.filter((r) => r.ok && (!majority || r.value.clusterId === majority)).map((r) => r.endpoint)
    : [];
  const members = await settle(
    (async () => {
      for (const url of listFrom) {
        try {
          return await cluster.memberList({ endpointUrl: url });
        } catch {
          /* next */
        }
      }
      return cluster.memberList();
    })(),
  );
  if (!members.ok) errors.push(`etcd member list failed: ${members.error}`);
  if (!status.ok) errors.push(`etcd endpoint status failed: ${status.error}`);
  if (!health.ok) errors.push(`etcd endpoint health failed: ${health.error}`);
  const statusList = status.ok ? status.value : [];
  const healthList = health.ok ? health.value : [];
  const memberList = members.ok ? members.value : null;

  const views: MemberView[] = instances.map((i) => {
    const url = endpointUrlFor(i, cluster.endpoints);
    const peer = i.index !== null ? `https://master-${i.index}.etcd.cfcr.internal:2380` : '';
    const st = statusList.find((r) => r.endpoint === url);
    const he = healthList.find((r) => r.endpoint === url);
    const ms = (memberList ?? []).filter((m) => m.name === i.id || m.peerURLs.includes(peer));
    const split = !!st?.ok && !!majority && !!st.value.clusterId && st.value.clusterId !== majority;
    const healthy = !split && !!st?.ok && !!he?.ok && he.value.healthy && st.value.errors.length === 0;
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
    // The snapshot member: a healthy follower (keeps load off the leader), else the healthy leader.
    const healthyOthers = views.filter((v) => v !== tv && v.healthy);
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
  if (!alarms.ok) errors.push(`etcd alarm list failed: ${alarms.error}`);
  return {
    at: new Date().toISOString(),
    deployment: session.deployment,
    targetLabel,
    target,
    instances,
    views,
    members: memberList,
    membersError: members.ok ? undefined : members.error,
    status: statusList,
    health: healthList,
    alarms: alarms.ok ? alarms.value : null,
    alarmsError: alarms.ok ? undefined : alarms.error,
    targetVm,
    helper,
    errors,
  };
}

export { ValidationError };
