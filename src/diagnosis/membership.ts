// Maps etcd members to BOSH instances (member name = instance UUID) and decides each member's
// state from what the cluster answered. Pure functions of the core, shared by the tree, the health
// panel, the wizard and the status bar; unit-tested with recorded answers.
import type { InstanceInfo } from '../bosh/types';
import type { EndpointResult, EndpointStatus, EtcdAlarm, EtcdEndpoint, EtcdMember } from '../etcd/types';
import { sameUrl } from '../util/url';

export type MemberState =
  | 'leader'
  | 'follower'
  | 'learner'
  /** Added but not started yet (empty name). */
  | 'unstarted'
  /** Listed in the cluster but its endpoint does not answer. */
  | 'unreachable'
  /** A BOSH instance that should run etcd but has no member in the cluster. */
  | 'missing';

export interface MemberView {
  /** Hex id as etcdctl prints it; '' for a missing member. */
  id: string;
  /** etcd member name ('' while unstarted). */
  name: string;
  state: MemberState;
  instance?: InstanceInfo;
  peerURLs: string[];
  clientURLs: string[];
  endpoint?: string;
  status?: EndpointStatus;
  /** Why the endpoint did not answer. */
  error?: string;
  alarms: string[];
  /** Things an operator must look at, e.g. 'no BOSH instance named …'. */
  flags: string[];
  /** True when something is wrong with this member (drives red icons and the status bar). */
  unhealthy: boolean;
}

export interface EtcdObservation {
  instances: InstanceInfo[];
  endpoints: EtcdEndpoint[];
  members: EtcdMember[];
  status: EndpointResult<EndpointStatus>[];
  alarms: EtcdAlarm[];
}

/** Instances that run etcd: a monit process named etcd, or (no VM / no processes) the master group. */
export function runsEtcd(i: InstanceInfo): boolean {
  if (i.processes.some((p) => p.name === 'etcd')) return true;
  return i.processes.length === 0 && i.group === 'master';
}

/** The state as the tree, the wizard and the CLI print it (failures in capitals). */
export function memberStateWord(m: MemberView): string {
  switch (m.state) {
    case 'unreachable':
      return 'UNREACHABLE';
    case 'missing':
      return 'NO MEMBER';
    case 'unstarted':
      return 'unstarted';
    default:
      return m.state;
  }
}

export function mapMembers(o: EtcdObservation): MemberView[] {
  const etcdInstances = o.instances.filter(runsEtcd);
  const byId = new Map(o.instances.map((i) => [i.id, i]));
  type Answered = { endpoint: string; value: EndpointStatus };
  const statusByMember = new Map<string, Answered>();
  let leader: string | undefined;
  for (const r of o.status)
    if (r.ok) {
      statusByMember.set(r.value.memberId, { endpoint: r.endpoint, value: r.value });
      leader ??= r.value.leader;
    }

  const views: MemberView[] = o.members.map((m) => {
    // The endpoint of this member: by client URL, else by the endpoint's member name.
    const ep =
      o.endpoints.find((e) => m.clientURLs.some((u) => sameUrl(u, e.url))) ??
      o.endpoints.find((e) => m.name && e.name === m.name);
    const answered = statusByMember.get(m.id);
    const failed = !answered && ep ? o.status.find((r) => !r.ok && sameUrl(r.endpoint, ep.url)) : undefined;
    const instance = m.name ? byId.get(m.name) : undefined;
    const alarms = o.alarms.filter((a) => a.memberId === m.id && a.alarm !== 'NONE').map((a) => a.alarm);
    const flags: string[] = [];
    let state: MemberState;
    if (!m.name) state = 'unstarted';
    else if (!answered) state = 'unreachable';
    else if (m.isLearner || answered.value.isLearner) state = 'learner';
    else if (leader && leader === m.id) state = 'leader';
    else state = 'follower';
    if (m.name && !instance) flags.push(`no BOSH instance with id ${m.name} in this deployment`);
    if (instance && !runsEtcd(instance)) flags.push(`instance ${instance.group}/${instance.id} does not run etcd`);
    if (answered && answered.value.errors.length)
      flags.push(...answered.value.errors.map((e) => `endpoint error: ${e}`));
    if (alarms.length) flags.push(`alarm ${alarms.join(', ')}`);
    if (instance && instance.processState && instance.processState !== 'running')
      flags.push(`BOSH reports the instance ${instance.processState}`);
    const unhealthy = state === 'unreachable' || state === 'unstarted' || flags.length > 0;
    return {
      id: m.id,
      name: m.name,
      state,
      instance,
      peerURLs: m.peerURLs,
      clientURLs: m.clientURLs,
      endpoint: answered?.endpoint ?? ep?.url,
      status: answered?.value,
      error: failed && !failed.ok ? failed.error : !answered && !ep ? 'no endpoint known for this member' : undefined,
      alarms,
      flags,
      unhealthy,
    };
  });

  // BOSH instances that should run etcd but have no member with their UUID.
  const names = new Set(o.members.map((m) => m.name));
  for (const i of etcdInstances) {
    if (names.has(i.id)) continue;
    views.push({
      id: '',
      name: '',
      state: 'missing',
      instance: i,
      peerURLs: [],
      clientURLs: [],
      alarms: [],
      flags: [`instance ${i.group}/${i.id} has no etcd member named after it`],
      unhealthy: true,
    });
  }
  return views.sort((a, b) => (a.instance?.index ?? 99) - (b.instance?.index ?? 99) || a.name.localeCompare(b.name));
}

/** "healthy / total" for the status bar: members that are started, answering and not flagged. */
export function healthCount(views: MemberView[]): { healthy: number; total: number } {
  const real = views.filter((v) => v.state !== 'missing');
  const total = Math.max(real.length, views.length);
  return { healthy: views.filter((v) => !v.unhealthy).length, total };
}
