// What the status bar says about the deployments the monitor diagnosed: the worst severity across
// them, in the diagnosis' own words. Plain TypeScript.
import type { MonitorEntry } from '../diagnosis/monitor';
import { headline, worstFirst } from '../diagnosis/headline';
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
    return { entry, name: entry.deployment, worst: 'critical', words: 'not diagnosed', line: entry.error };
  }
  const worst = d.summary.worst === 'info' ? 'ok' : d.summary.worst;
  return { entry, name: entry.deployment, worst, words: headline(d), line: d.summary.line };
}

export function summarize(entries: MonitorEntry[]): StatusSummary | undefined {
  const rated = worstFirst(entries.map(rate).filter((r): r is Rated => !!r));
  if (!rated.length) return undefined;
  const top = rated[0];
  const level = top.worst === 'ok' || top.worst === 'info' ? 'ok' : top.worst;
  const icon = level === 'critical' ? '$(error)' : level === 'warning' ? '$(warning)' : '$(database)';
  // "etcd: SPLIT BRAIN", "etcd 2/3", "etcd ok"
  const counts = /^(\d+\/\d+) healthy$/.exec(top.words)?.[1];
  const words = level === 'ok' ? 'etcd ok' : counts ? `etcd ${counts}` : `etcd: ${top.words}`;
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
