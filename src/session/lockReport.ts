// What the masters' lock files say, in words: staleness (no heartbeat, or a holder process of this
// workstation that is gone), one line per master, and the read-only look at every master that the
// diagnosis and status views use. Plain Node, no `vscode`.
import * as os from 'os';
import {
  DEFAULT_STALE_MS,
  label,
  LOCK_FILE,
  parseLockHolder,
  type LockHolder,
  type LockReport,
  type LockSession,
} from './lockFile';
import { connectMasters, DEFAULT_CONNECT_TIMEOUT_MS, lockOp, type OpResult } from './lockOps';

/** True when pid is a process of this workstation that no longer exists. */
function holderGone(h: LockHolder): boolean {
  if (h.workstation !== os.hostname() || !(h.pid > 0)) return false;
  if (h.pid === process.pid) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** What one master's lock file says, from the state an operation read back. */
export function reportOf(instance: string, r: OpResult, staleMs: number): LockReport {
  if (r.content === null) return { instance, state: 'free' };
  const holder = parseLockHolder(r.content);
  const rep: LockReport = { instance, state: 'held', holder, ageMs: r.ageMs };
  if (!holder) rep.raw = r.content.slice(0, 500);
  if (r.ageMs !== undefined && r.ageMs > staleMs) {
    rep.stale = true;
    rep.staleReason = `no heartbeat for ${Math.round(r.ageMs / 1000)} s (stale after ${Math.round(staleMs / 1000)} s)`;
  } else if (holder && holderGone(holder)) {
    rep.stale = true;
    rep.staleReason = `its process ${holder.pid} on this workstation (${holder.workstation}) is gone`;
  } else rep.stale = false;
  return rep;
}

/** One line naming who holds a master's lock, for refusals and the status view. */
export function describeLock(r: LockReport): string {
  if (r.state === 'unreachable') return `${r.instance}: not reachable (${r.error ?? 'unknown error'})`;
  if (r.state === 'free') return `${r.instance}: free`;
  const age = r.ageMs !== undefined ? `, last written ${Math.round(r.ageMs / 1000)} s ago` : '';
  const stale = r.stale ? ` — STALE: ${r.staleReason}` : '';
  if (!r.holder)
    return `${r.instance}: unrecognised lock file ${LOCK_FILE} (${JSON.stringify(r.raw ?? '')})${age}${stale}`;
  const h = r.holder;
  return (
    `${r.instance}: held by run ${h.runId} (${h.flow}) of ${h.user}@${h.workstation} pid ${h.pid}, ` +
    `since ${h.startedAt}, last heartbeat ${h.heartbeatAt}${age}${stale}`
  );
}

/** Who holds the lock on each master (for the diagnosis and status views). Read-only. */
export async function readLocks(
  session: LockSession,
  opts: { staleMs?: number; connectTimeoutMs?: number; log?: (line: string) => void } = {},
): Promise<LockReport[]> {
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const log = opts.log ?? (() => undefined);
  const { all, hosts, unreachable } = await connectMasters(
    session,
    opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    log,
  );
  const read = await Promise.all(
    hosts.map(async ({ inst, host }): Promise<LockReport> => {
      try {
        return reportOf(label(inst), await lockOp(host, { mode: 'read' }, {}), staleMs);
      } catch (e) {
        return { instance: label(inst), state: 'unreachable', error: (e as Error).message };
      }
    }),
  );
  const byLabel = new Map([...read, ...unreachable].map((r) => [r.instance, r]));
  return all.map((i) => byLabel.get(label(i))!);
}
