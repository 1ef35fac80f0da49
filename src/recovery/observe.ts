// Observation: everything the plan is decided from, read without changing anything —
// the Director's instances, etcd's members/status/health/alarms, and the target VM itself
// (its probe is src/recovery/vmProbe.ts). No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import type { EndpointHealth, EndpointResult, EndpointStatus, EtcdAlarm, EtcdMember } from '../etcd/types';
import { observeDeployment, type ClusterObservation } from '../diagnosis/observe';
import { etcdMasters } from '../diagnosis/observationTypes';
import { diagnose } from '../diagnosis/summary';
import type { Finding, FindingKind } from '../diagnosis/types';
import type { ResumeMarker } from '../session/resumeMarker';
import { expectedClientUrl, validateInstanceLabel, ValidationError } from './commands';
import { probeHost, unreachableProbe, type VmProbe } from './vmProbe';

export { etcdMonitState, parseProbe, parseStateFile, probeHost } from './vmProbe';
export type { MonitState, RecoveryStateRecord, VmProbe } from './vmProbe';

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
  /** The recovery probes of this observation, by 'group/uuid' (see probeMasters). */
  probes?: RecoveryProbes;
}

/** One recovery probe per VM per observation, started at most once. */
export type RecoveryProbes = Map<string, Promise<VmProbe>>;

/** The recovery probe of one VM (never rejects: an unreachable VM is a probe with its error). */
function probeOf(session: DeploymentSession, label: string, i: InstanceInfo | string = label): Promise<VmProbe> {
  return session.ssh(i).then(
    (h) => probeHost(h, label),
    (e: Error) => unreachableProbe(label, `could not connect to ${label} over SSH: ${e.message}`),
  );
}

/**
 * The recovery probes of an observation. With the Director's list, every master's is started at once,
 * in parallel with the diagnosis (the snapshot member is chosen from the diagnosis, the target is
 * known): the observation does not wait for them afterwards. Without it, each starts when first asked.
 */
export function probeMasters(session: DeploymentSession, instances: InstanceInfo[] | undefined): RecoveryProbes {
  const probes: RecoveryProbes = new Map();
  for (const m of etcdMasters(instances ?? [])) probes.set(labelOf(m), probeOf(session, labelOf(m), m));
  return probes;
}

/**
 * Observes the deployment once (Director, every endpoint, every VM) and classifies it. `instances`:
 * the Director's list when the caller asked it moments ago (this run's own, see src/recovery/engine.ts).
 */
export async function observeShared(
  session: DeploymentSession,
  opts: { instances?: InstanceInfo[]; probes?: RecoveryProbes } = {},
): Promise<SharedObservation> {
  const cluster = await observeDeployment(session, opts.instances ? { instances: opts.instances } : {});
  return { cluster, findings: diagnose(cluster).findings, probes: opts.probes };
}

function probeIn(session: DeploymentSession, shared: SharedObservation | undefined, label: string, i?: InstanceInfo) {
  const probes = shared?.probes;
  let p = probes?.get(label);
  if (!p) {
    p = probeOf(session, label, i);
    probes?.set(label, p);
  }
  return p;
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
  const targetProbeP = probeIn(session, shared, targetLabel);
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
      chosen ? probeIn(session, shared, chosen.label, chosen.instance) : Promise.resolve(null),
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
