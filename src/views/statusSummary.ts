// What the status bar says about the deployments the monitor diagnosed: the worst severity across
// them, in the diagnosis' own words. Plain TypeScript.
import type { MonitorEntry } from '../diagnosis/monitor';
import { clusterHeadline, worstFirst } from '../diagnosis/headline';
import type { Severity } from '../diagnosis/types';

export interface StatusSummary {
  text: string;
  tooltip: string;
  /** The worst severity of the watched deployments ('ok': no warning nor critical finding). */
  level: 'ok' | 'warning' | 'critical';
  /** The deployment a click opens (the worst one). */
  target?: { envName: string; deployment: string };
}

interface Rated {
  entry: MonitorEntry;
  name: string;
  worst: Severity | 'ok';
  words: string;
  line: string;
}

function rate(entry: MonitorEntry): Rated | undefined {
  const d = entry.diagnosis;
  if (!d) {
    if (!entry.error) return undefined;
    return { entry, name: entry.deployment, worst: 'critical', words: 'etcd: not diagnosed', line: entry.error };
  }
  const worst = d.summary.worst === 'info' ? 'ok' : d.summary.worst;
  // "etcd: SPLIT BRAIN" for a cluster-wide state; else the member count, with the warnings when every member is healthy.
  const grave = clusterHeadline(d);
  const s = d.summary;
  const warnings = s.counts.warning ? ` (${s.counts.warning} warning${s.counts.warning === 1 ? '' : 's'})` : '';
  const words = grave
    ? `etcd: ${grave}`
    : worst === 'ok'
      ? 'etcd ok'
      : `etcd ${s.healthyMembers}/${s.members}${s.healthyMembers === s.members ? warnings : ''}`;
  return { entry, name: entry.deployment, worst, words, line: d.summary.line };
}

export function summarize(entries: MonitorEntry[]): StatusSummary | undefined {
  const rated = worstFirst(entries.map(rate).filter((r): r is Rated => !!r));
  if (!rated.length) return undefined;
  const top = rated[0];
  const level = top.worst === 'ok' || top.worst === 'info' ? 'ok' : top.worst;
  const icon = level === 'critical' ? '$(error)' : level === 'warning' ? '$(warning)' : '$(database)';
  const words = top.words;
  const others = rated.length > 1 ? ` (${rated.filter((r) => r.worst === 'ok').length}/${rated.length} ok)` : '';
  const tooltip = [
    'etcd diagnosis of the watched deployments (click: open the health panel of the worst one)',
    ...rated.map((r) => `${r.entry.deployment} (${r.entry.envName}): ${r.line}`),
  ].join('\n');
  return {
    text: `${icon} ${words}${others}`,
    tooltip,
    level,
    target: { envName: top.entry.envName, deployment: top.entry.deployment },
  };
}
