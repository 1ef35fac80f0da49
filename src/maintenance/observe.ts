// What the maintenance flows are decided from, read without changing anything: the Director's
// etcd instances, etcd's status / health / members / alarms, and a read-only probe of every master
// VM (recovery in progress, the job's quota). An unreachable part is a value, never a throw.
// No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import { etcdInstances } from '../session/etcdEndpoints';
import type { EndpointStatus, EtcdCluster } from '../etcd/types';
import type { ExecResult } from '../ssh/types';
import { parseProbe, probeVm } from './commands';
import type { MaintenanceAlarm, MaintenanceMember, MaintenanceObservation, MaintenanceVm } from './types';

/**
 * Runs one read-only command on a VM; the returned function shows it (the flows emit it as events
 * then) and gives its result, so that commands run in parallel are shown in a stable order.
 */
export type ReadOnlyExec = (label: string, command: string, purpose: string) => Promise<() => ExecResult>;

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** A health result whose only problem is an active NOSPACE alarm still proves the member answers reads. */
export function onlyNospace(error: string | undefined): boolean {
  if (!error || !/^Active alarm/.test(error)) return false;
  const list = error.replace(/^Active alarm\(s\):\s*/, '');
  return list.split(',').every((a) => /NOSPACE/i.test(a));
}

/** The errors of a status other than the NOSPACE alarm ("memberID:… alarm:NOSPACE"), which the flows handle. */
export function otherErrors(errors: string[]): string[] {
  return errors.filter((e) => !/alarm:\s*NOSPACE/i.test(e));
}

/**
 * The Director's instances for the maintenance flows: the fast list (no agent calls, which take
 * seconds on a large deployment) is enough, as every member's state is read from etcd and its VM;
 * the full list when the fast one fails or shows no 'master' group (etcd found by its process).
 */
async function etcdInstanceList(session: DeploymentSession): Promise<InstanceInfo[]> {
  if (session.instancesQuick) {
    try {
      const quick = await session.instancesQuick();
      if (quick.some((i) => i.group === 'master')) return quick;
    } catch {
      /* the full list below says what is wrong */
    }
  }
  return session.instances();
}

export async function observeMaintenance(
  session: DeploymentSession,
  opts: { exec?: ReadOnlyExec; probeVms?: boolean; cluster?: EtcdCluster } = {},
): Promise<MaintenanceObservation> {
  const errors: string[] = [];
  // The Director's instance list and etcd's answers are read at the same time (an etcd connection
  // still to open waits for the same list: the session shares the request).
  const listing = etcdInstanceList(session);
  const opening = opts.cluster ? Promise.resolve(opts.cluster) : session.etcd();
  const reading = opening.then((c) =>
    Promise.all([settle(c.status()), settle(c.health()), settle(c.memberList()), settle(c.alarms())]),
  );
  reading.catch(() => undefined); // awaited below, unless the listing failed first
  const instances: InstanceInfo[] = etcdInstances(await listing);
  const exec: ReadOnlyExec =
    opts.exec ??
    (async (label, command) => {
      const r = await (await session.ssh(label)).exec(command, { sudo: true, timeoutMs: 30_000 });
      return () => r;
    });
  const probe = async (label: string): Promise<() => MaintenanceVm> => {
    const unreachable = (error: string): MaintenanceVm => ({
      reachable: false,
      error,
      recoveryInProgress: false,
      quotaBackendBytes: null,
    });
    try {
      const shown = await exec(label, probeVm(), 'inspect the VM: recovery in progress, the quota etcd runs with');
      return () => {
        const r = shown();
        if (r.code !== 0)
          return unreachable(`inspecting ${label} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
        return { reachable: true, ...parseProbe(r.stdout) };
      };
    } catch (e) {
      return () => unreachable(`could not inspect ${label} over SSH: ${(e as Error).message}`);
    }
  };
  // The VM probes (each a first SSH connection: the Director's setup, the handshake) run while the
  // etcd connection opens and answers; they never reject. Shown as one block each, in instance order.
  const probing = (opts.probeVms ?? true) ? Promise.all(instances.map((i) => probe(`${i.group}/${i.id}`))) : undefined;
  const cluster = await opening;
  const [status, health, members, alarms] = await reading;
  const readAt = Date.now();
  if (!status.ok) errors.push(`etcd endpoint status failed: ${status.error}`);
  if (!health.ok) errors.push(`etcd endpoint health failed: ${health.error}`);
  if (!members.ok) errors.push(`etcd member list failed: ${members.error}`);
  if (!alarms.ok) errors.push(`etcd alarm list failed: ${alarms.error}`);

  const views: MaintenanceMember[] = instances.map((i) => {
    const label = `${i.group}/${i.id}`;
    const ep = cluster.endpoints.find((e) => e.name === i.id);
    const url = ep?.url ?? '';
    const st = status.ok ? status.value.find((r) => r.endpoint === url) : undefined;
    const he = health.ok ? health.value.find((r) => r.endpoint === url) : undefined;
    let problem: string | undefined;
    if (!ep) problem = `${label} has no etcd endpoint (no VM or no IP address)`;
    else if (!st || !st.ok) problem = st ? st.error : 'no status';
    else if (!he || !he.ok) problem = he ? he.error : 'no health';
    else if (!he.value.healthy && !onlyNospace(he.value.error)) problem = he.value.error ?? 'unhealthy';
    else if (otherErrors(st.value.errors).length) problem = `etcd reports: ${otherErrors(st.value.errors).join('; ')}`;
    const s = st && st.ok ? st.value : null;
    const memberLearner = members.ok && members.value.some((m) => m.name === i.id && m.isLearner);
    return {
      label,
      instanceId: i.id,
      index: i.index,
      endpointUrl: url,
      memberId: s?.memberId ?? null,
      healthy: !problem,
      problem,
      isLeader: !!s && s.leader === s.memberId,
      isLearner: !!s?.isLearner || memberLearner,
      dbSize: s ? s.dbSize : null,
      dbSizeInUse: s?.dbSizeInUse ?? null,
      raftIndex: s ? s.raftIndex : null,
      vm: null,
    };
  });
  if (probing) {
    const probes = (await probing).map((b) => b());
    views.forEach((v, k) => {
      v.vm = probes[k];
      if (probes[k].error) errors.push(probes[k].error!);
    });
  }
  const byId = new Map(views.filter((v) => v.memberId).map((v) => [v.memberId!, v.label]));
  const alarmList: MaintenanceAlarm[] = alarms.ok
    ? alarms.value.map((a) => ({ memberId: a.memberId, alarm: a.alarm, label: byId.get(a.memberId) ?? null }))
    : [];
  const obs: MaintenanceObservation = {
    at: new Date().toISOString(),
    deployment: session.deployment,
    members: views,
    alarms: alarmList,
    alarmsError: alarms.ok ? undefined : alarms.error,
    learners: members.ok ? members.value.filter((m) => m.isLearner).map((m) => m.name || m.id) : [],
    errors,
  };
  const statusOf = (url: string): EndpointStatus | undefined => {
    const row = status.ok ? status.value.find((r) => r.endpoint === url) : undefined;
    return row && row.ok ? row.value : undefined;
  };
  etcdReads.set(obs, {
    at: readAt,
    live: new Map(
      views
        .filter((v) => v.endpointUrl)
        .map((v) => [
          v.endpointUrl,
          {
            healthy: v.healthy,
            problem: v.problem,
            status: statusOf(v.endpointUrl),
          },
        ]),
    ),
  });
  return obs;
}

/** One member as etcd answered a round of status and health (the rolling defragmentation's checks). */
export interface LiveMember {
  healthy: boolean;
  problem?: string;
  status?: EndpointStatus;
}

/** etcd's answers an observation was made of, and when they came (kept beside it, not in it: it goes to the panel). */
const etcdReads = new WeakMap<MaintenanceObservation, { at: number; live: Map<string, LiveMember> }>();

export function etcdReadOf(obs: MaintenanceObservation): { at: number; live: Map<string, LiveMember> } | undefined {
  return etcdReads.get(obs);
}

/** The alarms of every member, with the instance that raised each (for the panel and the CLI). */
export async function listAlarms(session: DeploymentSession): Promise<MaintenanceAlarm[]> {
  const obs = await observeMaintenance(session, { probeVms: false });
  if (obs.alarmsError) throw new Error(obs.alarmsError);
  return obs.alarms;
}
