// The cluster lock around a maintenance run: the lock every changing flow takes (src/session/clusterLock.ts,
// flow 'defragmentation'), so a defragmentation or a NOSPACE recovery never runs beside a member recovery,
// a quorum or snapshot restore, or another maintenance run. It is taken while the cluster is observed
// (both use the same SSH connections) and held until the run ends; a dry run takes none. The run's abort
// signal fires on the operator's cancel and when another run breaks the lock. No `vscode` import here.
import type { DeploymentSession } from '../session/types';
import type { ClusterLock } from '../session/clusterLock';
import { takeRunLock } from '../recovery/runLock';
import type { MaintenanceRefusal } from './types';
import type { MaintenanceRun } from './run';

export type MaintenanceLockOutcome =
  | { kind: 'taken' }
  | { kind: 'refused'; refusal: MaintenanceRefusal }
  | { kind: 'failed'; message: string; advice: string };

export class MaintenanceGuard {
  private readonly abort = new AbortController();
  private readonly onAbort = () => this.abort.abort();
  private lock: ClusterLock | null = null;
  private pending: Promise<unknown> | null = null;

  constructor(private readonly operator?: AbortSignal) {
    operator?.addEventListener('abort', this.onAbort);
    if (operator?.aborted) this.abort.abort();
  }

  /** Aborted on the operator's cancel and when the lock is lost. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  lockLost(): boolean {
    return !!this.lock?.signal.aborted;
  }

  /** Takes the lock (a dry run: none); a live lock of another run is a refusal naming it, a stale one is broken only with breakLock. */
  take(session: DeploymentSession, opts: { dryRun?: boolean; breakLock?: boolean }): Promise<MaintenanceLockOutcome> {
    const p = (async (): Promise<MaintenanceLockOutcome> => {
      const got = await takeRunLock(session, { ...opts, signal: this.abort.signal }, 'defragmentation');
      if (got.kind === 'held')
        return {
          kind: 'refused',
          refusal: { code: 'lock-held', message: got.refusal.message, advice: got.refusal.advice },
        };
      if (got.kind === 'failed') return got;
      this.lock = got.lock;
      got.lock?.signal.addEventListener('abort', this.onAbort);
      if (got.lock?.signal.aborted) this.abort.abort();
      return { kind: 'taken' };
    })();
    this.pending = p.catch(() => undefined);
    return p;
  }

  /** Releases the lock (after a take still under way has ended) and stops listening to the operator. */
  async release(): Promise<void> {
    this.operator?.removeEventListener('abort', this.onAbort);
    await this.pending;
    const lock = this.lock;
    this.lock = null;
    if (lock) await lock.release().catch(() => undefined);
  }
}

/** Runs `body` with a guard over the operator's `signal`; the lock it took is released when the body ends. */
export async function underGuard<R>(
  signal: AbortSignal | undefined,
  body: (guard: MaintenanceGuard) => Promise<R>,
): Promise<R> {
  const guard = new MaintenanceGuard(signal);
  try {
    return await body(guard);
  } finally {
    await guard.release();
  }
}

/** What a cancelled run says: the operator's cancel, or the lock taken over by another run. */
export function stopCause(guard: MaintenanceGuard): string {
  return guard.lockLost() ? 'The cluster lock was lost (another run broke it)' : 'Cancelled';
}

/** The lock's answer as the run's result: undefined when taken, else the refusal (another run holds it) or the failure. */
export function lockResult(
  run: MaintenanceRun,
  lock: MaintenanceLockOutcome,
): { outcome: 'refused' | 'failed'; message: string; advice: string; refusals?: MaintenanceRefusal[] } | undefined {
  if (lock.kind === 'taken') return undefined;
  if (lock.kind === 'failed') return { outcome: 'failed', message: lock.message, advice: lock.advice };
  run.emit({ type: 'refused', time: run.time(), refusals: [lock.refusal] });
  return {
    outcome: 'refused',
    message: `Refused: ${lock.refusal.message}`,
    advice: lock.refusal.advice,
    refusals: [lock.refusal],
  };
}
