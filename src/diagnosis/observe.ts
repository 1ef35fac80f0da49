// One observation of a deployment's etcd cluster, read without changing anything: the Director's
// instances and process states, every endpoint's status / health / member list (each bounded by
// its own deadline, so a member that never answers does not hold up the others), the alarms,
// hashKV at one revision where it is cheap, and, when SSH works, a probe of each master VM (monit,
// member/, the etcd process, the tail of etcd.stderr.log, free disk, the job's quota, and etcd's
// health asked on the VM itself). What could not be checked is listed in `unchecked`.
// Plain Node, no `vscode`: the tree, the panel, the status bar, the wizard, the engine and the CLI
// all classify this one observation (classify.ts).
import type { InstanceInfo } from '../bosh/types';
import { parseMonitSummary, findService, type MonitService } from '../bosh/monit';
import type { DeploymentSession } from '../session/types';
import type { RemoteHost } from '../ssh/types';
import type {
  EndpointHealth,
  EndpointResult,
  EndpointStatus,
  EtcdAlarm,
  EtcdCluster,
  EtcdMember,
  HashKV,
} from '../etcd/types';
import { parseEndpointHealth, parseEndpointStatusJson } from '../etcd/parsers';
import { withTimeout } from '../util/async';

export const ETCD_JOB_DIR = '/var/vcap/jobs/etcd';
export const ETCDCTL_WRAPPER = `${ETCD_JOB_DIR}/bin/etcdctl`;
export const STORE_DIR = '/var/vcap/store';
export const DATA_DIR = `${STORE_DIR}/etcd`;
export const MEMBER_DIR = `${DATA_DIR}/member`;
export const ETCD_STDERR_LOG = '/var/vcap/sys/log/etcd/etcd.stderr.log';
/** bpm's pidfile (TKGI), then the pre-bpm job's. */
export const ETCD_PIDFILES = ['/var/vcap/sys/run/bpm/etcd/etcd.pid', '/var/vcap/sys/run/etcd/etcd.pid'];
/** etcd's default `--quota-backend-bytes` (2 GiB) when the job does not set one. */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;

/** A result that may have failed; the failure is a value with the reason in words. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** What a read-only probe found on one master VM over SSH. */
export interface VmProbe {
  /** `master/<uuid>` */
  label: string;
  /** false: SSH or the probe command failed (`error` says why); every other field is then empty. */
  reachable: boolean;
  error?: string;
  /** monit's view of etcd (undefined: monit has no etcd process or `monit summary` failed). */
  monitEtcd?: MonitService;
  /** Every process monit lists (for the Director / VM comparison). */
  monitProcesses: MonitService[];
  /** `monit summary` could not be read (its output, shortened). */
  monitError?: string;
  /** /var/vcap/store/etcd/member exists. */
  memberDirExists: boolean;
  /** /var/vcap/store/etcd exists and has entries. */
  dataDirEntries: string[] | null;
  /** pid from the job's pidfile whose process is alive, else null. */
  etcdPid: number | null;
  /** The last lines of etcd.stderr.log (tail only; empty when the file is missing). */
  logTail: string[];
  logMissing: boolean;
  /** Free space on /var/vcap/store, bytes. */
  storeFreeBytes: number | null;
  storeSizeBytes: number | null;
  /** `--quota-backend-bytes` of the running etcd (or of the job's start script); null: not set (2 GiB). */
  quotaBytes: number | null;
  /** `${etcd_peer_address}` as the job's utils.sh computes it. */
  peerAddress: string | null;
  /** `LOCAL=true etcdctl endpoint health` run on the VM against its own client URL. */
  localHealth: { healthy: boolean; detail: string } | null;
  /** `LOCAL=true etcdctl endpoint status -w json` on the VM (cluster id and leader as the member itself says). */
  localStatus: { memberId: string; clusterId?: string; leader: string; dbSize: number; dbSizeInUse?: number } | null;
  tookMs: number;
}

/** One endpoint as seen from the workstation. */
export interface EndpointObservation {
  /** `https://master-<i>.etcd.cfcr.internal:2379` */
  url: string;
  /** The instance UUID the endpoint was opened for. */
  instanceId: string;
  status: EndpointResult<EndpointStatus> | null;
  health: EndpointResult<EndpointHealth> | null;
  /** The member list as this member answers it (serializable read: its own view). */
  members: Outcome<EtcdMember[]> | null;
  /** hashKV at the observation's common revision; null when not asked. */
  hashKV: Outcome<HashKV> | null;
}

export interface ClusterObservation {
  at: string;
  deployment: string;
  /** Every instance of the deployment (Director). */
  instances: InstanceInfo[];
  /** The etcd instances (group 'master' or with an 'etcd' process), index order. */
  masters: InstanceInfo[];
  /** The Director's full list did not come in time: process states are unknown (fast list). */
  processStatesUnknown: boolean;
  directorError?: string;
  /** etcd could not be opened at all (no certificates, no master reachable): why. */
  etcdError?: string;
  endpoints: EndpointObservation[];
  alarms: Outcome<EtcdAlarm[]> | null;
  /** Revision the hashKV values were taken at (null: not compared). */
  hashRevision: string | null;
  /** Probes by instance id; absent when probing was off. */
  probes: Record<string, VmProbe>;
  /** VM probes were asked for (false: `probeVms: false`). */
  probed: boolean;
  /** What could not be checked, in words (shown by every surface). */
  unchecked: string[];
  tookMs: number;
}

export interface ObserveOptions {
  /** Probe each master over SSH (default true). */
  probeVms?: boolean;
  /**
   * Deadline of each endpoint's own calls (default 5000 ms, the session's etcd call deadline: keep it
   * at least that, since status and health ask every endpoint in parallel, each bounded by the session's).
   */
  endpointDeadlineMs?: number;
  /** Deadline of one VM probe, SSH connection included (default 25 000 ms). */
  probeDeadlineMs?: number;
  /** Deadline of the Director's full instance list before the fast list is used (default 10 000 ms). */
  directorDeadlineMs?: number;
  /** Compare hashKV when every DB is at most this big (default 256 MiB; 0 turns it off). */
  hashKvMaxDbBytes?: number;
  /** Lines of etcd.stderr.log to read (default 50). */
  logLines?: number;
  /**
   * The deployment's instances when the caller already has them (e.g. the tree's last load, with
   * process states): the Director is not asked again.
   */
  instances?: InstanceInfo[];
}

export const labelOf = (i: Pick<InstanceInfo, 'group' | 'id'>) => `${i.group}/${i.id}`;

/** Instances that run an etcd member: group 'master', or any instance with an 'etcd' process. */
export function etcdMasters(instances: InstanceInfo[]): InstanceInfo[] {
  return instances
    .filter((i) => i.group === 'master' || i.processes.some((p) => p.name === 'etcd'))
    .sort((a, b) => (a.index ?? 0) - (b.index ?? 0) || a.id.localeCompare(b.id));
}

export const expectedClientUrl = (index: number) => `https://master-${index}.etcd.cfcr.internal:2379`;
export const expectedPeerUrl = (index: number) => `https://master-${index}.etcd.cfcr.internal:2380`;

async function settle<T>(p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

// ------------------------------------------------------------------------------ the VM probe

const LOG_LINES_MAX = 500;

/** The probe's shell command (read-only; run with sudo). Sections start with `### <name>`. */
export function probeCommand(logLines = 50): string {
  const n = Math.max(1, Math.min(LOG_LINES_MAX, Math.floor(logLines)));
  const s = (name: string) => `echo '### ${name}'`;
  const local = `LOCAL=true ETCDCTL_API=3 timeout 12 ${ETCDCTL_WRAPPER} --dial-timeout=3s --command-timeout=5s`;
  return [
    s('monit'),
    'monit summary 2>&1 || /var/vcap/bosh/bin/monit summary 2>&1',
    s('data'),
    `ls -1A ${DATA_DIR} 2>&1`,
    s('member'),
    `test -d ${MEMBER_DIR} && echo present || echo absent`,
    s('pid'),
    `for f in ${ETCD_PIDFILES.join(' ')}; do test -s $f && p=$(cat $f) && kill -0 "$p" 2>/dev/null && echo "$p" && break; done`,
    s('df'),
    `df -Pk ${STORE_DIR} 2>&1`,
    s('quota'),
    // the running process's flag first, else the job's start script
    `for f in ${ETCD_PIDFILES.join(' ')}; do test -s $f && tr '\\0' '\\n' < /proc/$(cat $f)/cmdline 2>/dev/null | grep -E '^--quota-backend-bytes' && break; done; ` +
      `grep -oE -- '--quota-backend-bytes[= ]"?[0-9]+' ${ETCD_JOB_DIR}/bin/etcd 2>/dev/null | head -1`,
    s('peer'),
    `bash -c 'source ${ETCD_JOB_DIR}/bin/utils.sh >/dev/null 2>&1; echo "\${etcd_peer_address}"'`,
    s('log'),
    // tail seeks to the end: a huge log costs the same as a small one
    `test -f ${ETCD_STDERR_LOG} && tail -n ${n} ${ETCD_STDERR_LOG} | cut -c1-600 || echo '(no log file)'`,
    s('health'),
    `${local} endpoint health -w json 2>&1; echo "exit=$?"`,
    s('status'),
    `${local} endpoint status -w json 2>/dev/null`,
    s('end'),
    'true',
  ].join('; ');
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

const nonEmptyLines = (s: string | undefined) =>
  (s ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);

function emptyProbe(label: string, error: string, tookMs = 0): VmProbe {
  return {
    label,
    reachable: false,
    error,
    monitProcesses: [],
    memberDirExists: false,
    dataDirEntries: null,
    etcdPid: null,
    logTail: [],
    logMissing: false,
    storeFreeBytes: null,
    storeSizeBytes: null,
    quotaBytes: null,
    peerAddress: null,
    localHealth: null,
    localStatus: null,
    tookMs,
  };
}

/** Parses the output of `probeCommand()`. */
export function parseVmProbe(label: string, out: string, tookMs = 0): VmProbe {
  const s = sections(out);
  const p = emptyProbe(label, '', tookMs);
  p.reachable = true;
  delete p.error;
  try {
    const summary = parseMonitSummary(s.get('monit') ?? '');
    p.monitProcesses = summary.services.filter((x) => x.type === 'Process');
    p.monitEtcd = findService(summary, 'etcd');
  } catch (e) {
    p.monitError = `monit summary could not be read: ${(e as Error).message.slice(0, 200)}`;
  }
  const data = nonEmptyLines(s.get('data'));
  p.dataDirEntries = data.some((l) => /No such file or directory/.test(l)) ? null : data;
  p.memberDirExists = nonEmptyLines(s.get('member'))[0] === 'present';
  const pid = Number(nonEmptyLines(s.get('pid'))[0]);
  p.etcdPid = Number.isInteger(pid) && pid > 0 ? pid : null;
  const df = nonEmptyLines(s.get('df'));
  if (df.length >= 2) {
    const cols = df[df.length - 1].split(/\s+/);
    const size = Number(cols[1]);
    const free = Number(cols[3]);
    if (Number.isFinite(free)) p.storeFreeBytes = free * 1024;
    if (Number.isFinite(size)) p.storeSizeBytes = size * 1024;
  }
  const q = /--quota-backend-bytes[= ]"?(\d+)/.exec(s.get('quota') ?? '');
  p.quotaBytes = q ? Number(q[1]) : null;
  p.peerAddress = nonEmptyLines(s.get('peer'))[0] ?? null;
  const log = (s.get('log') ?? '').split('\n').filter((l) => l.length > 0);
  p.logMissing = log.length === 1 && log[0] === '(no log file)';
  p.logTail = p.logMissing ? [] : log;
  p.localHealth = parseLocalHealth(s.get('health') ?? '');
  p.localStatus = parseLocalStatus(s.get('status') ?? '');
  return p;
}

function parseLocalHealth(text: string): VmProbe['localHealth'] {
  const exit = /exit=(\d+)\s*$/.exec(text.trim());
  const body = text.replace(/exit=\d+\s*$/, '').trim();
  const jsonStart = body.indexOf('[');
  if (jsonStart >= 0) {
    try {
      const rows = parseEndpointHealth(body.slice(jsonStart, body.lastIndexOf(']') + 1));
      if (rows.length) {
        const r = rows[0];
        return {
          healthy: r.healthy && exit?.[1] === '0',
          detail: r.healthy ? `healthy (took ${r.tookMs} ms)` : (r.error ?? 'unhealthy'),
        };
      }
    } catch {
      /* fall through to the text */
    }
  }
  if (!exit && !body) return null;
  const firstError = body.split('\n').find((l) => /error|failed|unhealthy|deadline|refused/i.test(l)) ?? body;
  return { healthy: false, detail: (firstError || `exit ${exit?.[1]}`).slice(0, 300) };
}

function parseLocalStatus(text: string): VmProbe['localStatus'] {
  const t = text.trim();
  if (!t.startsWith('[')) return null;
  try {
    const r = parseEndpointStatusJson(t)[0];
    if (!r) return null;
    return {
      memberId: r.memberId,
      clusterId: r.clusterId,
      leader: r.leader,
      dbSize: r.dbSize,
      dbSizeInUse: r.dbSizeInUse,
    };
  } catch {
    return null;
  }
}

/** Runs the probe on one connected VM; a failure is a value (reachable: false, error says why). */
export async function probeVmHost(
  host: RemoteHost,
  label: string,
  opts: { timeoutMs?: number; logLines?: number } = {},
) {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 25_000;
  const once = () => host.exec(probeCommand(opts.logLines), { sudo: true, timeoutMs });
  try {
    let r;
    try {
      r = await once();
    } catch (e) {
      // a connection that dropped since the last use reconnects at the next exec: one more try
      if ((e as { kind?: string }).kind !== 'dropped') throw e;
      r = await once();
    }
    if (r.code !== 0)
      return emptyProbe(
        label,
        `inspecting ${label} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim().slice(0, 300)}`,
        Date.now() - t0,
      );
    return parseVmProbe(label, r.stdout, Date.now() - t0);
  } catch (e) {
    return emptyProbe(label, `could not inspect ${label} over SSH: ${(e as Error).message}`, Date.now() - t0);
  }
}

// ------------------------------------------------------------------------------ the Director

async function instancesWithFallback(
  session: DeploymentSession,
  deadlineMs: number,
): Promise<{ list: InstanceInfo[]; statesUnknown: boolean; error?: string }> {
  try {
    return { list: await withTimeout(session.instances(), deadlineMs, 'the Director'), statesUnknown: false };
  } catch (e) {
    const why = (e as Error).message;
    try {
      const fast = await session.director.instancesFast(session.deployment);
      return {
        statesUnknown: true,
        error: `the Director's instance list with process states failed (${why}); process states are unknown`,
        list: fast.map((f) => ({
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
        })),
      };
    } catch (e2) {
      return {
        list: [],
        statesUnknown: true,
        error: `the Director did not list the instances: ${why}; ${(e2 as Error).message}`,
      };
    }
  }
}

// ------------------------------------------------------------------------------ etcd

/** The cluster id most endpoints report; null when none answered. */
export function majorityClusterId(ids: (string | undefined)[]): string | null {
  const count = new Map<string, number>();
  for (const id of ids) if (id) count.set(id, (count.get(id) ?? 0) + 1);
  let best: string | null = null;
  for (const [id, n] of count) if (best === null || n > count.get(best)!) best = id;
  return best;
}

async function observeEtcd(
  cluster: EtcdCluster,
  deadlineMs: number,
  hashKvMaxDbBytes: number,
  unchecked: string[],
): Promise<{ endpoints: EndpointObservation[]; alarms: Outcome<EtcdAlarm[]>; hashRevision: string | null }> {
  const late = (what: string) => () => new Error(`${what}: no answer within ${Math.round(deadlineMs / 1000)} s`);
  // Everything that does not depend on another answer goes out at once: status, health, alarms and
  // each member's own list. The cluster's per-call deadline bounds each endpoint (a member that never
  // answers costs its deadline, in parallel); the outer one is a safety net.
  const listsP = cluster.endpoints.map((e) =>
    settle(withTimeout(cluster.memberList({ endpointUrl: e.url }), deadlineMs, late(`member list of ${e.url}`))),
  );
  const [status, health, alarms, lists] = await Promise.all([
    settle(withTimeout(cluster.status(), deadlineMs + 3000, late('endpoint status'))),
    settle(withTimeout(cluster.health(), deadlineMs + 3000, late('endpoint health'))),
    settle(withTimeout(cluster.alarms(), deadlineMs + 3000, late('alarm list'))),
    Promise.all(listsP),
  ]);
  if (!status.ok) unchecked.push(`endpoint status: ${status.error}`);
  if (!health.ok) unchecked.push(`endpoint health: ${health.error}`);
  if (!alarms.ok) unchecked.push(`alarms: ${alarms.error}`);
  const endpoints: EndpointObservation[] = cluster.endpoints.map((e, i) => ({
    url: e.url,
    instanceId: e.name,
    status: (status.ok && status.value.find((r) => r.endpoint === e.url)) || null,
    health: (health.ok && health.value.find((r) => r.endpoint === e.url)) || null,
    members: lists[i],
    hashKV: null,
  }));
  // hashKV across the majority's members when the DBs are small enough to hash quickly: each at its
  // current revision in one round; only when the revisions differ (writes in between) again at the
  // lowest one, so that the hashes compared are of the same revision.
  let hashRevision: string | null = null;
  const majority = majorityClusterId(endpoints.map((e) => (e.status?.ok ? e.status.value.clusterId : undefined)));
  const inMajority = endpoints.filter((e) => e.status?.ok && e.status.value.clusterId === majority);
  const small = inMajority.every((e) => e.status?.ok && e.status.value.dbSize <= hashKvMaxDbBytes);
  if (hashKvMaxDbBytes > 0 && inMajority.length >= 2 && small) {
    const hash = (e: EndpointObservation, rev?: string) =>
      settle(withTimeout(cluster.hashKV(e.url, rev), deadlineMs * 2, late(`hashKV of ${e.url}`)));
    await Promise.all(inMajority.map(async (e) => (e.hashKV = await hash(e))));
    const revs = inMajority.flatMap((e) => (e.hashKV?.ok ? [BigInt(e.hashKV.value.revision)] : []));
    if (revs.length >= 2) {
      const low = revs.reduce((a, b) => (b < a ? b : a));
      hashRevision = String(low);
      await Promise.all(
        inMajority
          .filter((e) => e.hashKV?.ok && e.hashKV.value.revision !== hashRevision)
          .map(async (e) => (e.hashKV = await hash(e, hashRevision!))),
      );
    }
  } else if (hashKvMaxDbBytes > 0 && inMajority.length >= 2) {
    unchecked.push('hashKV: not compared (a DB is larger than the cheap limit)');
  }
  return { endpoints, alarms, hashRevision };
}

async function observeEtcdOf(
  session: DeploymentSession,
  deadlineMs: number,
  openDeadlineMs: number,
  hashKvMaxDbBytes: number,
): Promise<{ value?: Awaited<ReturnType<typeof observeEtcd>>; error?: string; unchecked: string[] }> {
  const unchecked: string[] = [];
  try {
    const cluster = await withTimeout(session.etcd(), openDeadlineMs, 'opening the etcd endpoints');
    return { value: await observeEtcd(cluster, deadlineMs, hashKvMaxDbBytes, unchecked), unchecked };
  } catch (e) {
    const error = (e as Error).message;
    return { error, unchecked: [...unchecked, `etcd from here: ${error}`] };
  }
}

// ------------------------------------------------------------------------------ the observation

/**
 * Observes the deployment's etcd cluster. Never throws for an unreachable part: every failure is
 * recorded (in the endpoint's result, the probe, or `unchecked`).
 */
export async function observeDeployment(
  session: DeploymentSession,
  opts: ObserveOptions = {},
): Promise<ClusterObservation> {
  const t0 = Date.now();
  const deadlineMs = opts.endpointDeadlineMs ?? 5000;
  const probeDeadlineMs = opts.probeDeadlineMs ?? 25_000;
  const probeVms = opts.probeVms ?? true;
  const unchecked: string[] = [];

  // etcd goes out at once (the session knows the endpoints from its last instance list), in parallel
  // with the Director's list, which asks every agent and is the slowest part of a warm observation.
  const etcdP = observeEtcdOf(session, deadlineMs, probeDeadlineMs, opts.hashKvMaxDbBytes ?? 256 * 1024 * 1024);
  const director = opts.instances
    ? { list: opts.instances, statesUnknown: false }
    : await instancesWithFallback(session, opts.directorDeadlineMs ?? 10_000);
  if (director.error) unchecked.push(director.error);
  const masters = etcdMasters(director.list);

  // VM probes and etcd in parallel: a slow VM or endpoint holds up only its own part.
  const probesP: Promise<Record<string, VmProbe>> = probeVms
    ? Promise.all(
        masters.map(async (m): Promise<[string, VmProbe]> => {
          const label = labelOf(m);
          if (!m.ips.length) return [m.id, emptyProbe(label, `${label} has no IP address (no VM)`)];
          const t = Date.now();
          try {
            const host = await withTimeout(session.ssh(m), probeDeadlineMs, `SSH to ${label}`);
            const left = Math.max(5000, probeDeadlineMs - (Date.now() - t));
            return [m.id, await probeVmHost(host, label, { timeoutMs: left, logLines: opts.logLines })];
          } catch (e) {
            return [
              m.id,
              emptyProbe(label, `could not connect to ${label} over SSH: ${(e as Error).message}`, Date.now() - t),
            ];
          }
        }),
      ).then((entries) => Object.fromEntries(entries))
    : Promise.resolve({});

  const etcdResult = await etcdP;
  unchecked.push(...etcdResult.unchecked);
  const etcdError = etcdResult.error;
  const etcd = etcdResult.value ?? { endpoints: [], alarms: null, hashRevision: null };
  if (!masters.length && !director.error)
    unchecked.push(`deployment ${session.deployment} has no etcd instances (group 'master' or an 'etcd' process)`);
  const probes = await probesP;
  if (probeVms) {
    const failed = Object.values(probes).filter((p) => !p.reachable);
    for (const p of failed) unchecked.push(`${p.label} on the VM: ${p.error}`);
  } else {
    unchecked.push('the VMs were not probed over SSH (monit, data directory, etcd log, local health): not checked');
  }
  return {
    at: new Date().toISOString(),
    deployment: session.deployment,
    instances: director.list,
    masters,
    processStatesUnknown: director.statesUnknown,
    directorError: director.error,
    etcdError,
    endpoints: etcd.endpoints,
    alarms: etcd.alarms,
    hashRevision: etcd.hashRevision,
    probes,
    probed: probeVms,
    unchecked,
    tookMs: Date.now() - t0,
  };
}
