// Maps what one observation saw to a row per etcd member / master instance (member name =
// instance UUID): facts only (ids, URLs, the endpoint's status answer, its role). Whether a member
// is healthy is never decided here: that is the findings' job (classify.ts), which every surface
// renders. Pure functions of the core, unit-tested with recorded answers.
import type { InstanceInfo } from '../bosh/types';
import type { EndpointStatus, EtcdMember } from '../etcd/types';
import { expectedPeerUrl, majorityClusterId, type ClusterObservation } from './observe';

/** What the member's own status answer says it is (no judgement: 'none' when it did not answer). */
export type MemberRole = 'leader' | 'follower' | 'learner' | 'unstarted' | 'no leader' | 'none';

export interface MemberView {
  /** Hex id as etcdctl prints it; '' when the instance has no member in the cluster's list. */
  id: string;
  /** etcd member name ('' while unstarted or unknown). */
  name: string;
  role: MemberRole;
  instance?: InstanceInfo;
  peerURLs: string[];
  clientURLs: string[];
  endpoint?: string;
  /** The endpoint's status answer, when it answered. */
  status?: EndpointStatus;
  /** Why the endpoint did not answer, in etcd's words. */
  error?: string;
}

/** Instances that run etcd: a monit process named etcd, or (no VM / no processes) the master group. */
export function runsEtcd(i: InstanceInfo): boolean {
  if (i.processes.some((p) => p.name === 'etcd')) return true;
  return i.processes.length === 0 && i.group === 'master';
}

/** `master/0`: the short name an operator reads in a narrow sidebar (the UUID goes in the tooltip). */
export function shortInstanceName(i: Pick<InstanceInfo, 'group' | 'index' | 'id'>): string {
  return `${i.group}/${i.index ?? i.id.slice(0, 8)}`;
}

/** The cluster's member list as the majority sees it (the leader's answer first), or null. */
export function clusterMembers(obs: ClusterObservation): EtcdMember[] | null {
  const majority = majorityClusterId(obs.endpoints.map((e) => (e.status?.ok ? e.status.value.clusterId : undefined)));
  const main = obs.endpoints.filter((e) => e.status?.ok && e.status.value.clusterId === majority && e.members?.ok);
  const leader = main.find((e) => e.status?.ok && e.status.value.leader === e.status.value.memberId);
  const from = leader ?? main[0];
  return from?.members?.ok ? from.members.value : null;
}

/** One row per master instance (with its member when it has one), then members no instance owns. */
export function membersOf(obs: ClusterObservation): MemberView[] {
  const members = clusterMembers(obs) ?? [];
  const used = new Set<string>();
  const rows: MemberView[] = obs.masters.map((inst) => {
    const peer = inst.index !== null ? expectedPeerUrl(inst.index) : '';
    const m = members.find((x) => x.name === inst.id) ?? members.find((x) => !!peer && x.peerURLs.includes(peer));
    if (m) used.add(m.id);
    const ep = obs.endpoints.find((e) => e.instanceId === inst.id);
    const st = ep?.status?.ok ? ep.status.value : undefined;
    const id = m?.id ?? st?.memberId ?? '';
    return {
      id,
      name: m?.name ?? (st ? inst.id : ''),
      role: roleOf(m, st),
      instance: inst,
      peerURLs: m?.peerURLs ?? [],
      clientURLs: m?.clientURLs ?? [],
      endpoint: ep?.url,
      status: st,
      error: ep?.status && !ep.status.ok ? ep.status.error : undefined,
    };
  });
  for (const m of members)
    if (!used.has(m.id))
      rows.push({
        id: m.id,
        name: m.name,
        role: roleOf(m, undefined),
        peerURLs: m.peerURLs,
        clientURLs: m.clientURLs,
      });
  return rows;
}

function roleOf(m: EtcdMember | undefined, st: EndpointStatus | undefined): MemberRole {
  if (m && !m.name) return 'unstarted';
  if (m?.isLearner || st?.isLearner) return 'learner';
  if (!st) return 'none';
  // leader 0: the member knows no leader (quorum lost, or an election going on): not a follower of anyone
  if (/^0+$/.test(st.leader)) return 'no leader';
  return st.leader === st.memberId ? 'leader' : 'follower';
}
