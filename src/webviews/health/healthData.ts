// Gathers what the etcd health panel shows: `endpoint status` rows of every endpoint (failures
// are rows too), `endpoint health` latency, members mapped to BOSH instances, alarms, cluster id,
// and a short history of raft index and DB size per endpoint. Plain TypeScript, no `vscode`.
import type { InstanceInfo } from '../../bosh/types';
import { instanceName } from '../../bosh/types';
import type { DeploymentSession } from '../../session/types';
import type { EndpointHealth, EndpointResult, EtcdAlarm, EtcdMember } from '../../etcd/types';
import { mapMembers } from '../../diagnosis/membership';
import { explainForOperator } from '../../util/errors';
import { withTimeout } from '../../util/async';
import type { AlarmRow, EndpointRow, HealthSnapshot, HistoryPoint, MemberRow } from './protocol';

export const HISTORY_POINTS = 120;

export interface HealthSource {
  envName: string;
  deployment: string;
  session(): Promise<DeploymentSession>;
  /** BOSH instances (cached by the tree; the panel does not ask the Director every poll). */
  instances(): Promise<InstanceInfo[]>;
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();
}

export class HealthCollector {
  private readonly history = new Map<string, HistoryPoint[]>();

  constructor(
    private readonly src: HealthSource,
    private readonly timeoutMs = 30_000,
  ) {}

  async collect(): Promise<HealthSnapshot> {
    const problems: string[] = [];
    const session = await this.src.session();
    const cluster = await withTimeout(session.etcd(), this.timeoutMs, `connecting to etcd of ${this.src.deployment}`);
    const instances = await this.src.instances().catch((e) => {
      problems.push(explainForOperator(e, 'listing BOSH instances'));
      return [] as InstanceInfo[];
    });
    const settle = <T>(p: Promise<T>, what: string, fallback: T): Promise<T> =>
      withTimeout(p, this.timeoutMs, what).catch((e) => {
        problems.push(explainForOperator(e, what));
        return fallback;
      });
    const [status, health, members, alarms, clusterId] = await Promise.all([
      settle(cluster.status(), 'reading endpoint status', []),
      settle(cluster.health(), 'checking endpoint health', [] as EndpointResult<EndpointHealth>[]),
      settle(cluster.memberList(), 'listing members', [] as EtcdMember[]),
      settle(cluster.alarms(), 'listing alarms', [] as EtcdAlarm[]),
      settle(cluster.clusterId(), 'reading the cluster id', undefined as string | undefined),
    ]);
    const views = mapMembers({ instances, endpoints: cluster.endpoints, members, status, alarms });
    const byId = new Map(instances.map((i) => [i.id, i]));
    const memberNameById = new Map(members.map((m) => [m.id, m.name]));
    let leader: string | undefined;
    for (const r of status) if (r.ok) leader ??= r.value.leader;

    const now = Date.now();
    const rows: EndpointRow[] = cluster.endpoints.map((ep) => {
      const st = status.find((r) => sameUrl(r.endpoint, ep.url));
      const h = health.find((r) => sameUrl(r.endpoint, ep.url));
      const inst = byId.get(ep.name);
      const healthy = h ? (h.ok ? h.value.healthy : false) : undefined;
      const healthMs = h ? (h.ok ? h.value.tookMs : h.tookMs) : undefined;
      const healthError =
        h && !h.ok ? h.error : h && h.ok && !h.value.healthy ? (h.value.error ?? 'unhealthy') : undefined;
      const base = {
        endpoint: ep.url,
        memberName: ep.name,
        instance: inst ? instanceName(inst) : undefined,
        az: inst?.az ?? undefined,
        healthy,
        healthMs,
      };
      if (!st || !st.ok) {
        const error = st && !st.ok ? st.error : 'no status answer';
        return {
          ...base,
          id: '',
          version: '',
          dbSize: 0,
          isLeader: false,
          isLearner: false,
          raftTerm: '',
          raftIndex: '',
          raftAppliedIndex: '',
          errors: [],
          unreachable: true,
          error,
          failing: true,
        };
      }
      const v = st.value;
      const errors = [...v.errors];
      const row: EndpointRow = {
        ...base,
        memberName: memberNameById.get(v.memberId) || ep.name,
        id: v.memberId,
        version: v.version,
        dbSize: v.dbSize,
        dbSizeInUse: v.dbSizeInUse,
        isLeader: v.leader === v.memberId,
        isLearner: v.isLearner ?? false,
        raftTerm: v.raftTerm,
        raftIndex: v.raftIndex,
        raftAppliedIndex: v.raftAppliedIndex ?? '',
        errors,
        unreachable: false,
        error: healthError,
        failing: errors.length > 0 || healthy === false,
      };
      const pts = this.history.get(ep.url) ?? [];
      pts.push({ t: now, raftIndex: Number(v.raftIndex), dbSize: v.dbSize });
      if (pts.length > HISTORY_POINTS) pts.splice(0, pts.length - HISTORY_POINTS);
      this.history.set(ep.url, pts);
      return row;
    });

    const memberRows: MemberRow[] = views.map((m) => ({
      id: m.id,
      name: m.name,
      instance: m.instance ? instanceName(m.instance) : undefined,
      state: m.state,
      isLearner: m.state === 'learner',
      peerURLs: m.peerURLs,
      clientURLs: m.clientURLs,
      flags: m.error ? [...m.flags, `endpoint: ${m.error}`] : m.flags,
      unhealthy: m.unhealthy,
    }));
    const alarmRows: AlarmRow[] = alarms
      .filter((a) => a.alarm !== 'NONE')
      .map((a) => {
        const name = memberNameById.get(a.memberId);
        const inst = name ? byId.get(name) : undefined;
        return { memberId: a.memberId, alarm: a.alarm, member: inst ? instanceName(inst) : name };
      });
    const healthyRows = rows.filter((r) => !r.failing).length;
    const missing = views.filter((v) => v.state === 'missing').length;
    return {
      at: now,
      envName: this.src.envName,
      deployment: this.src.deployment,
      clusterId,
      leader,
      rows,
      members: memberRows,
      alarms: alarmRows,
      history: Object.fromEntries([...this.history.entries()].map(([k, v]) => [k, v.slice()])),
      healthy: healthyRows,
      total: Math.max(rows.length, members.length + missing),
      problems,
    };
  }
}
