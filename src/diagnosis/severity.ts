// The order of severities: worst first everywhere findings are listed.
import type { Finding, Severity } from './types';

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
export const severityRank = (s: Severity | 'ok') => (s === 'ok' ? -1 : SEVERITY_RANK[s]);

/** Sort comparator: critical findings first, info last. */
export const worstSeverityFirst = (a: Finding, b: Finding) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity];
