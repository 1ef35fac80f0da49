// Summaries of the findings for the surfaces: the one-line summary and counts, the diagnosis entry
// point, per-instance lookups, one state word per member, the recoverable instances, and the CLI's
// exit codes. Pure, plain Node.
import { classify } from './classify';
import type { ClusterObservation } from './observe';
import { worstSeverityFirst } from './severity';
import type { Diagnosis, DiagnosisSummary, Finding, FindingInstance, FindingKind, Severity } from './types';

export { severityRank } from './severity';

/** Masters whose member is healthy (no finding against it that says otherwise) / masters. */
function memberCounts(obs: ClusterObservation, findings: Finding[]): { healthy: number; total: number } {
  const notHealthy: FindingKind[] = [
    'member-down',
    'instance-no-vm',
    'member-unknown',
    'split-brain',
    'instance-without-member',
    'member-unstarted',
    'learner-not-promoted',
  ];
  const bad = new Set(findings.filter((f) => f.instance && notHealthy.includes(f.kind)).map((f) => f.instance!.id));
  const total = obs.masters.length;
  return { healthy: obs.masters.filter((m) => !bad.has(m.id)).length, total };
}

export function summarize(findings: Finding[], obs?: ClusterObservation): DiagnosisSummary {
  const counts: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  const worst: DiagnosisSummary['worst'] = counts.critical ? 'critical' : counts.warning ? 'warning' : 'ok';
  const mc = obs ? memberCounts(obs, findings) : { healthy: 0, total: 0 };
  const top = findings.find((f) => f.severity === worst) ?? findings[0];
  const more = counts.critical + counts.warning - 1;
  const line =
    worst === 'ok'
      ? `etcd ${mc.healthy}/${mc.total} healthy`
      : `${worst}: ${top.title}${more > 0 ? ` (+${more} more)` : ''}`;
  return { worst, counts, line, healthyMembers: mc.healthy, members: mc.total };
}

/** The one entry point the surfaces use: observation → diagnosis. Pure. */
export function diagnose(obs: ClusterObservation): Diagnosis {
  const findings = classify(obs);
  return {
    at: obs.at,
    deployment: obs.deployment,
    findings,
    summary: summarize(findings, obs),
    unchecked: obs.unchecked,
  };
}

/** Findings about one instance (by UUID), worst first. */
export function findingsForInstance(findings: Finding[], instanceId: string): Finding[] {
  return findings.filter((f) => f.instance?.id === instanceId);
}

/** The worst finding about one instance (undefined: nothing said about it, i.e. healthy). */
export function worstFindingForInstance(findings: Finding[], instanceId: string): Finding | undefined {
  return findingsForInstance(findings, instanceId).sort(worstSeverityFirst)[0];
}

export type MemberStateWord =
  | 'healthy'
  | 'down'
  | 'no vm'
  | 'split'
  | 'unknown'
  | 'unreachable'
  | 'unstarted'
  | 'learner'
  | 'no member'
  | 'degraded';

const STATE_OF: Partial<Record<FindingKind, MemberStateWord>> = {
  'split-brain': 'split',
  'member-down': 'down',
  'instance-no-vm': 'no vm',
  'instance-without-member': 'no member',
  'member-unknown': 'unknown',
  'unreachable-from-here': 'unreachable',
  'member-unstarted': 'unstarted',
  'learner-not-promoted': 'learner',
};
const STATE_ORDER: FindingKind[] = [
  'split-brain',
  'member-down',
  'instance-no-vm',
  'instance-without-member',
  'member-unstarted',
  'member-unknown',
  'unreachable-from-here',
  'learner-not-promoted',
];

/** One word for an instance's member, for tree descriptions and tables. */
export function memberStateWord(findings: Finding[], instanceId: string): MemberStateWord {
  const mine = findingsForInstance(findings, instanceId);
  for (const k of STATE_ORDER) if (mine.some((f) => f.kind === k)) return STATE_OF[k]!;
  if (mine.some((f) => f.severity !== 'info')) return 'degraded';
  return 'healthy';
}

/** Instances with positive evidence of a broken member whose fix is the recovery wizard (for its preselection). */
export function recoverableInstances(findings: Finding[]): FindingInstance[] {
  const seen = new Map<string, FindingInstance>();
  for (const f of findings)
    if (f.instance && f.action.flow === 'recover-member' && f.severity === 'critical')
      seen.set(f.instance.id, f.instance);
  return [...seen.values()];
}

/** `bosh-etcd status` exit codes by worst severity. */
export const EXIT_CODES = { ok: 0, warning: 7, critical: 8 } as const;
export function exitCodeFor(summary: DiagnosisSummary): number {
  return summary.worst === 'critical'
    ? EXIT_CODES.critical
    : summary.worst === 'warning'
      ? EXIT_CODES.warning
      : EXIT_CODES.ok;
}
