// Turns the shared diagnosis (monitor entry: observation + findings) into what the etcd health
// panel shows: `endpoint status` rows of every endpoint (failures are rows too), `endpoint health`
// latency, members mapped to BOSH instances, alarms, sizes against the quota, the findings and the
// cluster-wide banners, and a history of raft index and DB size per endpoint over the panel's life.
// Every judgement (colours, state words, counts) is read from the findings. Plain TypeScript.
import { instanceName } from '../../bosh/types';
import type { MonitorEntry } from '../../diagnosis/monitor';
import {
  FRAGMENTATION_IN_USE_RATIO,
  FRAGMENTATION_MIN_DB_BYTES,
  NEAR_QUOTA_RATIO,
} from '../../diagnosis/rules/capacity';
import {
  memberStateWord,
  recoverableInstances,
  worstFindingForInstance,
  findingsForInstance,
} from '../../diagnosis/summary';
import { DEFAULT_QUOTA_BYTES } from '../../diagnosis/observe';
import { alarmExplanation, CLUSTER_ALARM_KINDS, headline } from '../../diagnosis/headline';
import type { Finding } from '../../diagnosis/types';
import { alarmName, alarmRule, findingButton } from '../../diagnosis/actions';
import type {
  AlarmRow,
  BannerRow,
  EndpointRow,
  FindingRow,
  HealthSnapshot,
  HistoryPoint,
  MemberRow,
  RowSeverity,
  SizeRow,
} from './protocol';

export const HISTORY_POINTS = 120;

const rowSeverity = (f: Finding | undefined): RowSeverity =>
  !f || f.severity === 'info' ? 'ok' : f.severity === 'critical' ? 'critical' : 'warning';

export class HealthCollector {
  private readonly history = new Map<string, HistoryPoint[]>();
  private lastEntry?: MonitorEntry;

  constructor(
    private readonly envName: string,
    private readonly deployment: string,
  ) {}

  /** The panel's snapshot of one monitor result; a new result adds a point to the history. */
  snapshot(entry: MonitorEntry): HealthSnapshot {
    const d = entry.diagnosis;
    const obs = entry.observation;
    const findings = d?.findings ?? [];
    const byId = new Map((obs?.instances ?? []).map((i) => [i.id, i]));
    const recoverable = new Set(recoverableInstances(findings).map((i) => i.id));
    // Each monitor result is a new object: the same result shown twice adds one point.
    const fresh = entry !== this.lastEntry;
    this.lastEntry = entry;
    let leader: string | undefined;
    let clusterId: string | undefined;
    for (const e of obs?.endpoints ?? [])
      if (e.status?.ok) {
        leader ??= e.status.value.leader;
        clusterId ??= e.status.value.clusterId;
      }

    const rows: EndpointRow[] = (obs?.endpoints ?? []).map((ep) => {
      const inst = byId.get(ep.instanceId);
      const worst = worstFindingForInstance(findings, ep.instanceId);
      const severity = rowSeverity(worst);
      const state = memberStateWord(findings, ep.instanceId);
      const h = ep.health;
      const healthy = h ? (h.ok ? h.value.healthy : false) : undefined;
      const healthMs = h ? (h.ok ? h.value.tookMs : h.tookMs) : undefined;
      const healthError =
        h && !h.ok ? h.error : h && h.ok && !h.value.healthy ? (h.value.error ?? 'unhealthy') : undefined;
      const base = {
        endpoint: ep.url,
        memberName: ep.instanceId,
        instance: inst ? instanceName(inst) : undefined,
        az: inst?.az ?? undefined,
        healthy,
        healthMs,
        severity,
        state,
        failing: severity === 'critical',
      };
      const st = ep.status;
      if (!st || !st.ok) {
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
          error: st && !st.ok ? st.error : 'no status answer',
        };
      }
      const v = st.value;
      if (fresh) {
        const pts = this.history.get(ep.url) ?? [];
        pts.push({ t: entry.at, raftIndex: Number(v.raftIndex), dbSize: v.dbSize });
        if (pts.length > HISTORY_POINTS) pts.splice(0, pts.length - HISTORY_POINTS);
        this.history.set(ep.url, pts);
      }
      return {
        ...base,
        id: v.memberId,
        version: v.version,
        dbSize: v.dbSize,
        dbSizeInUse: v.dbSizeInUse,
        isLeader: v.leader === v.memberId,
        isLearner: v.isLearner ?? false,
        raftTerm: v.raftTerm,
        raftIndex: v.raftIndex,
        raftAppliedIndex: v.raftAppliedIndex ?? '',
        errors: [...v.errors],
        unreachable: false,
        error: healthError,
      };
    });

    const memberRows: MemberRow[] = entry.members.map((m) => {
      const mine = m.instance
        ? findingsForInstance(findings, m.instance.id)
        : findings.filter((f) => !f.instance && !!m.id && f.member?.id === m.id);
      const worst = m.instance ? worstFindingForInstance(findings, m.instance.id) : mine[0];
      return {
        id: m.id,
        name: m.name,
        instance: m.instance ? instanceName(m.instance) : undefined,
        state: m.instance ? memberStateWord(findings, m.instance.id) : 'no instance',
        isLearner: m.role === 'learner',
        peerURLs: m.peerURLs,
        clientURLs: m.clientURLs,
        flags: mine.filter((f) => f.severity !== 'info').map((f) => f.title),
        severity: rowSeverity(worst),
        recoverable: !!m.instance && recoverable.has(m.instance.id),
      };
    });

    const sizes: SizeRow[] = entry.members.flatMap((m) => {
      if (!m.status || !m.instance || !m.endpoint) return [];
      const probe = obs?.probes[m.instance.id];
      const quotaKnown = !!probe?.reachable;
      const quotaBytes = probe?.quotaBytes ?? DEFAULT_QUOTA_BYTES;
      const inUse = m.status.dbSizeInUse;
      const db = m.status.dbSize;
      return [
        {
          instance: instanceName(m.instance),
          endpoint: m.endpoint,
          dbSize: db,
          dbSizeInUse: inUse,
          fragmentationPct:
            inUse !== undefined && db > 0 ? Math.max(0, Math.round((100 * (db - inUse)) / db)) : undefined,
          quotaBytes,
          quotaKnown,
          quotaPct: Math.round((1000 * db) / quotaBytes) / 10,
          nearQuota: db > NEAR_QUOTA_RATIO * quotaBytes,
          fragmented:
            inUse !== undefined && db >= FRAGMENTATION_MIN_DB_BYTES && inUse < FRAGMENTATION_IN_USE_RATIO * db,
        },
      ];
    });

    const findingRows: FindingRow[] = findings.map((f) => ({
      severity: f.severity,
      kind: f.kind,
      title: f.title,
      instance: f.instance?.label,
      evidence: f.evidence,
      action: f.action.text,
      command: f.action.command,
      button: findingButton(f),
    }));
    const banners: BannerRow[] = [];
    for (const kind of CLUSTER_ALARM_KINDS) {
      const f = findings.find((x) => x.kind === kind && x.severity === 'critical');
      const why = alarmExplanation(kind);
      if (f && why) banners.push({ kind, title: f.title, ...why });
    }
    const alarms: AlarmRow[] = obs?.alarms?.ok
      ? obs.alarms.value
          .filter((a) => a.alarm !== 'NONE')
          .map((a) => {
            const m = entry.members.find((x) => x.id === a.memberId);
            const { rule, button } = alarmRule(a.alarm, m?.instance?.id);
            return {
              memberId: a.memberId,
              alarm: alarmName(a.alarm),
              member: m?.instance ? instanceName(m.instance) : m?.name,
              rule,
              button,
            };
          })
      : [];
    const worst: RowSeverity = !d
      ? 'critical'
      : d.summary.worst === 'critical'
        ? 'critical'
        : d.summary.worst === 'warning'
          ? 'warning'
          : 'ok';
    return {
      at: entry.at || Date.now(),
      envName: this.envName,
      deployment: this.deployment,
      clusterId,
      leader,
      rows,
      members: memberRows,
      alarms,
      history: Object.fromEntries([...this.history.entries()].map(([k, v]) => [k, v.slice()])),
      healthy: d?.summary.healthyMembers ?? 0,
      total: d?.summary.members ?? rows.length,
      problems: entry.error ? [entry.error] : [],
      worst,
      headline: d ? headline(d) : 'not diagnosed',
      summaryLine: d?.summary.line ?? entry.error ?? 'not diagnosed yet',
      findings: findingRows,
      banners,
      sizes,
      thresholds: {
        nearQuotaRatio: NEAR_QUOTA_RATIO,
        fragmentationInUseRatio: FRAGMENTATION_IN_USE_RATIO,
        fragmentationMinDbBytes: FRAGMENTATION_MIN_DB_BYTES,
      },
      unchecked: d?.unchecked ?? [],
    };
  }
}
