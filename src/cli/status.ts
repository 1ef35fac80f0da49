// `bosh-etcd status`: the endpoint table (like `etcdctl endpoint status -w table`), then the
// diagnosis every surface shows (src/diagnosis), what could not be checked and who holds the cluster
// lock. Exit code by the worst finding: 0 healthy, 7 warning, 8 critical. No `vscode` import here.
import { diagnose, exitCodeFor, observeDeployment, type ClusterObservation, type Diagnosis } from '../diagnosis';
import { snapshotDirFrom } from '../snapshots/metadata';
import type { Finding } from '../diagnosis';
import type { EndpointResult, EndpointStatus } from '../etcd/types';
import type { LockReport } from '../session/lockFile';
import { describeLock, readLocks } from '../session/lockReport';
import type { DeploymentSession } from '../session/types';
import type { Args } from './args';
import { formatSize, type CliIo } from './io';
import { ENDPOINT_STATUS_COLUMNS } from '../etcd/statusColumns';

/** How long the lock read waits for one master's SSH connection (as the VM probes do). */
const LOCK_CONNECT_TIMEOUT_MS = 25_000;

/** `etcdctl endpoint status -w table` look-alike (unreachable endpoints shown with their error). */
export function statusTable(rows: EndpointResult<EndpointStatus>[]): string {
  const head = [...ENDPOINT_STATUS_COLUMNS];
  const body = rows.map((r) =>
    r.ok
      ? [
          r.endpoint,
          r.value.memberId,
          r.value.version,
          formatSize(r.value.dbSize),
          String(r.value.leader === r.value.memberId),
          String(!!r.value.isLearner),
          r.value.raftTerm,
          r.value.raftIndex,
          r.value.raftAppliedIndex ?? '',
          r.value.errors.join('; '),
        ]
      : [r.endpoint, '', '', '', '', '', '', '', '', `UNREACHABLE: ${r.error}`],
  );
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const sep = '+' + w.map((n) => '-'.repeat(n + 2)).join('+') + '+';
  const fmt = (cells: string[]) => '|' + cells.map((c, i) => ` ${c.padEnd(w[i])} `).join('|') + '|';
  return [sep, fmt(head), sep, ...body.map(fmt), sep].join('\n');
}

const statusRows = (obs: ClusterObservation): EndpointResult<EndpointStatus>[] =>
  obs.endpoints.map(
    (e) => e.status ?? { endpoint: e.url, ok: false, error: 'not asked (etcd could not be opened)', tookMs: 0 },
  );

/** One finding as text: severity, instance, title, evidence, action. */
export function formatFinding(f: Finding): string {
  const action = f.action.command ? `${f.action.text} (${f.action.command})` : f.action.text;
  return [
    `${f.severity.toUpperCase().padEnd(8)} ${f.instance ? `${f.instance.label}: ` : ''}${f.title}`,
    `         evidence: ${f.evidence}`,
    `         action:   ${action}`,
  ].join('\n');
}

/** Everything after the endpoint table, in the order an operator reads it. */
export function formatDiagnosis(d: Diagnosis, locks: LockReport[] | null): string {
  const order = { critical: 0, warning: 1, info: 2 } as const;
  const findings = [...d.findings].sort((a, b) => order[a.severity] - order[b.severity]);
  const out = [`Findings (${d.summary.line}):`, ...findings.map(formatFinding)];
  if (d.unchecked.length) out.push('', 'Not checked:', ...d.unchecked.map((u) => `  - ${u}`));
  if (locks) {
    const held = locks.filter((l) => l.state === 'held');
    const unreadable = locks.filter((l) => l.state === 'unreachable');
    if (held.length) out.push('', 'Cluster lock HELD (a recovery or maintenance run may be changing the cluster):');
    else out.push('', `Cluster lock: free${unreadable.length ? ' on every master that could be read' : ''}.`);
    for (const l of [...held, ...unreadable]) out.push(`  ${describeLock(l)}`);
    if (held.some((l) => l.stale))
      out.push('  A STALE lock is broken by the next run given --break-lock (only if that run is really gone).');
  }
  return out.join('\n');
}

/** The `--json` document. ids (member, cluster, raft) are strings exactly as etcdctl prints them. */
export function statusJson(obs: ClusterObservation, d: Diagnosis, locks: LockReport[] | null): object {
  return {
    deployment: d.deployment,
    at: d.at,
    summary: d.summary,
    findings: d.findings,
    unchecked: d.unchecked,
    locks,
    endpoints: obs.endpoints.map((e) => ({
      url: e.url,
      instanceId: e.instanceId,
      status: e.status?.ok ? e.status.value : null,
      statusError: e.status && !e.status.ok ? e.status.error : undefined,
      healthy: e.health?.ok ? e.health.value.healthy : false,
      healthError: e.health ? (e.health.ok ? e.health.value.error : e.health.error) : 'not asked',
    })),
  };
}

export async function cmdStatus(a: Args, io: CliIo, session: DeploymentSession): Promise<number> {
  const locksP: Promise<LockReport[] | null> = a.noProbe
    ? Promise.resolve(null)
    : readLocks(session, { connectTimeoutMs: LOCK_CONNECT_TIMEOUT_MS }).catch((e) => [
        { instance: '(every master)', state: 'unreachable' as const, error: (e as Error).message },
      ]);
  // the newest snapshot's age, in the folder `bosh-etcd snapshot save` writes to
  const obs = await observeDeployment(session, {
    probeVms: !a.noProbe,
    snapshotDir: snapshotDirFrom(io.env.BOSH_ETCD_SNAPSHOT_DIR),
  });
  const d = diagnose(obs);
  const locks = await locksP;
  if (a.noProbe) d.unchecked.push('the cluster lock on the masters (--no-probe: no SSH): not read');
  if (a.json) {
    io.out.write(JSON.stringify(statusJson(obs, d, locks), null, 2) + '\n');
    return exitCodeFor(d.summary);
  }
  if (obs.endpoints.length) io.out.write(statusTable(statusRows(obs)) + '\n');
  if (obs.etcdError) io.out.write(`etcd could not be observed: ${obs.etcdError}\n`);
  for (const e of obs.endpoints) {
    const h = e.health;
    io.out.write(
      `${e.url} is ${h?.ok && h.value.healthy ? 'healthy' : `UNHEALTHY: ${!h ? 'not asked' : h.ok ? (h.value.error ?? 'unhealthy') : h.error}`}\n`,
    );
  }
  io.out.write('\n' + formatDiagnosis(d, locks) + '\n');
  return exitCodeFor(d.summary);
}
