// What the status bar says about the watched etcd clusters. Plain TypeScript.

export interface WatchedCluster {
  envName: string;
  deployment: string;
  healthy: number;
  total: number;
  error?: string;
}

export interface StatusSummary {
  text: string;
  tooltip: string;
  /** 'ok' | 'degraded' (some member down) | 'critical' (quorum lost or unreadable). */
  level: 'ok' | 'degraded' | 'critical';
  /** The cluster a click opens (the worst one). */
  target?: { envName: string; deployment: string };
}

function levelOf(c: WatchedCluster): StatusSummary['level'] {
  if (c.error) return 'critical';
  if (c.healthy >= c.total) return 'ok';
  return c.healthy > c.total / 2 ? 'degraded' : 'critical';
}

const RANK = { critical: 0, degraded: 1, ok: 2 } as const;

export function summarize(clusters: WatchedCluster[]): StatusSummary | undefined {
  if (!clusters.length) return undefined;
  const sorted = clusters
    .slice()
    .sort((a, b) => RANK[levelOf(a)] - RANK[levelOf(b)] || a.deployment.localeCompare(b.deployment));
  const worst = sorted[0];
  const level = levelOf(worst);
  const counts = (c: WatchedCluster): string => (c.error ? 'unreachable' : `${c.healthy}/${c.total}`);
  const icon = level === 'ok' ? '$(database)' : '$(warning)';
  const text =
    clusters.length === 1
      ? `${icon} etcd ${counts(worst)}`
      : `${icon} etcd ${counts(worst)} (${clusters.filter((c) => levelOf(c) === 'ok').length}/${clusters.length} clusters ok)`;
  const tooltip = [
    'etcd health of the watched deployments (click: open the health panel of the worst one)',
    ...sorted.map(
      (c) =>
        `${c.deployment} (${c.envName}): ${c.error ? `unreachable — ${c.error}` : `${c.healthy}/${c.total} members healthy`}`,
    ),
  ].join('\n');
  return { text, tooltip, level, target: { envName: worst.envName, deployment: worst.deployment } };
}
