// One observation of a deployment's etcd cluster, read without changing anything: the Director's
// instances and process states, every endpoint's status / health / member list (each bounded by
// its own deadline, so a member that never answers does not hold up the others), the alarms,
// hashKV at one revision where it is cheap, and, when SSH works, a probe of each master VM (monit,
// member/, the etcd process, the tail of etcd.stderr.log, free disk, the job's quota, and etcd's
// health asked on the VM itself). What could not be checked is listed in `unchecked`.
// Plain Node, no `vscode`: the tree, the panel, the status bar, the wizard, the engine and the CLI
// all classify this one observation (classify.ts). The parts: the VM probe (vmProbe.ts), the
// endpoints (observeEtcd.ts), the shape of the result (observationTypes.ts); their names are
// exported from here too.
import type { InstanceInfo } from '../bosh/types';
import { instanceFromSummary } from '../bosh/director/instances';
import type { DeploymentSession } from '../session/types';
import { withTimeout } from '../util/async';
import { etcdMasters, labelOf, type ClusterObservation, type ObserveOptions, type VmProbe } from './observationTypes';
import { emptyProbe, probeVmHost } from './vmProbe';
import { observeEtcdOf } from './observeEtcd';
import { observeSnapshots } from './observeSnapshots';
import { endpointPicture } from './probeCache';

/** Default of ObserveOptions.hashKvMaxAgeMs. */
export const DEFAULT_HASHKV_MAX_AGE_MS = 30_000;
/** ObserveOptions.quorumReadMaxAgeMs of the monitor's polls (DiagnosisMonitor); observeDeployment's default is 0. */
export const DEFAULT_QUORUM_READ_MAX_AGE_MS = 15_000;

export {
  etcdMasters,
  expectedClientUrl,
  expectedPeerUrl,
  labelOf,
  type ClusterObservation,
  type EndpointObservation,
  type ObserveOptions,
  type Outcome,
  type VmProbe,
} from './observationTypes';
export {
  DATA_DIR,
  DEFAULT_QUOTA_BYTES,
  ETCD_JOB_DIR,
  ETCD_PIDFILES,
  ETCD_STDERR_LOG,
  ETCDCTL_WRAPPER,
  MEMBER_DIR,
  STORE_DIR,
  parseVmProbe,
  probeCommand,
  probeVmHost,
} from './vmProbe';
export { majorityClusterId } from './observeEtcd';

/** The Director's full instance list; when it does not come in time, the fast list without process states. */
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
        list: fast.map((f) => instanceFromSummary(session.deployment, f)),
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

/**
 * Probes the masters, reusing what opts.probeCache holds: a master without a young cached probe (or
 * every master, with freshProbes) is probed at once, in parallel with etcd; one with a young probe
 * waits for etcd's answers and is probed again only when its endpoint picture changed. Every probe
 * taken goes into the cache with the picture of this observation.
 */
async function probeWithCache(
  masters: InstanceInfo[],
  probeOne: (m: InstanceInfo) => Promise<VmProbe>,
  etcdP: ReturnType<typeof observeEtcdOf>,
  opts: ObserveOptions,
): Promise<Record<string, VmProbe>> {
  const cache = opts.probeCache;
  const now = Date.now();
  const early = masters.filter((m) => !cache || opts.freshProbes || !cache.young(m.id, now));
  const earlyP = Promise.all(early.map(async (m) => [m.id, await probeOne(m)] as const));
  if (!cache) return Object.fromEntries(await earlyP);
  cache.retain(masters.map((m) => m.id));
  const endpoints = (await etcdP).value?.endpoints ?? [];
  const pictures = new Map(
    masters.map((m) => [
      m.id,
      endpointPicture(
        m,
        endpoints.find((e) => e.instanceId === m.id),
      ),
    ]),
  );
  const reused: [string, VmProbe][] = [];
  const stale: InstanceInfo[] = [];
  for (const m of masters) {
    if (early.includes(m)) continue;
    const p = cache.reusable(m.id, pictures.get(m.id)!, now);
    if (p) reused.push([m.id, { ...p, reusedAgeMs: now - (cache.takenAt(m.id) ?? now) }]);
    else stale.push(m);
  }
  const taken = [...(await earlyP), ...(await Promise.all(stale.map(async (m) => [m.id, await probeOne(m)] as const)))];
  for (const [id, p] of taken) cache.set(id, p, pictures.get(id)!);
  const all = new Map<string, VmProbe>([...taken, ...reused]);
  return Object.fromEntries(masters.map((m) => [m.id, all.get(m.id)!]));
}

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

  // The Director's quick list (no agent calls) first: the etcd connection opens from it and the VM
  // probes' SSH setups start from it, while the full list (process states: it asks every agent, the
  // slowest part of an observation) comes in parallel; the findings are judged on the full list.
  const quickP: Promise<InstanceInfo[] | undefined> =
    !opts.instances && session.instancesQuick
      ? session.instancesQuick().then(
          (l) => (l.some((i) => i.group === 'master') ? l : undefined),
          () => undefined,
        )
      : Promise.resolve(undefined);
  // etcd goes out at once (the session knows the endpoints from its last instance list, else from the
  // quick list), in parallel with the Director's full list.
  const etcdP = observeEtcdOf(
    session,
    deadlineMs,
    probeDeadlineMs,
    opts.hashKvMaxDbBytes ?? 256 * 1024 * 1024,
    opts.hashKvMaxAgeMs ?? DEFAULT_HASHKV_MAX_AGE_MS,
    opts.freshProbes ? 0 : (opts.quorumReadMaxAgeMs ?? 0),
  );
  const snapshotDir = typeof opts.snapshotDir === 'function' ? opts.snapshotDir() : opts.snapshotDir;
  const snapshotsP = snapshotDir
    ? observeSnapshots(snapshotDir, session.deployment, opts.snapshotWarnAgeMs)
    : Promise.resolve(undefined);
  const directorP: ReturnType<typeof instancesWithFallback> = opts.instances
    ? Promise.resolve({ list: opts.instances, statesUnknown: false })
    : instancesWithFallback(session, opts.directorDeadlineMs ?? 10_000);

  // VM probes and etcd in parallel: a slow VM or endpoint holds up only its own part. One probe per
  // master per observation: one started from the quick list is the one used.
  const started = new Map<string, Promise<VmProbe>>();
  const probeOnce = (m: InstanceInfo): Promise<VmProbe> => {
    let p = started.get(m.id);
    if (!p) started.set(m.id, (p = probeOne(m)));
    return p;
  };
  if (probeVms && !opts.instances)
    void quickP.then((quick) => {
      const now = Date.now();
      for (const m of etcdMasters(quick ?? []))
        if (!opts.probeCache || opts.freshProbes || !opts.probeCache.young(m.id, now)) void probeOnce(m);
    });
  const director = await directorP;
  if (director.error) unchecked.push(director.error);
  const masters = etcdMasters(director.list);

  async function probeOne(m: InstanceInfo): Promise<VmProbe> {
    const label = labelOf(m);
    if (!m.ips.length) return emptyProbe(label, `${label} has no IP address (no VM)`);
    const t = Date.now();
    try {
      const host = await withTimeout(session.ssh(m), probeDeadlineMs, `SSH to ${label}`);
      const left = Math.max(5000, probeDeadlineMs - (Date.now() - t));
      return await probeVmHost(host, label, { timeoutMs: left, logLines: opts.logLines });
    } catch (e) {
      return emptyProbe(label, `could not connect to ${label} over SSH: ${(e as Error).message}`, Date.now() - t);
    }
  }
  const probesP: Promise<Record<string, VmProbe>> = probeVms
    ? probeWithCache(masters, probeOnce, etcdP, opts)
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
    snapshots: await snapshotsP,
    tookMs: Date.now() - t0,
  };
}
