// The cluster lock around one recovery run: taking it (or saying who holds it), the run's abort
// signal that fires on the operator's cancel or when another run breaks the lock, and the trust
// of a target's resume marker, which depends on this run's lock. No `vscode` import here.
import type { DeploymentSession } from '../session/types';
import { acquireClusterLock, ClusterLockError, type ClusterLock } from '../session/clusterLock';
import { describeLock } from '../session/lockReport';
import type { LockFlow } from '../session/lockFile';
import { markerMatches } from '../session/resumeMarker';
import type { Observation } from './observe';
import type { Refusal, RecoveryOptions } from './events';

/** Taking the lock: taken (null for a dry-run, which changes nothing and takes none), held by another run, or failed. */
export type LockOutcome =
  | { kind: 'taken'; lock: ClusterLock | null }
  | { kind: 'held'; refusal: Refusal; holder: string }
  | { kind: 'failed'; message: string; advice: string };

export async function takeRunLock(
  session: DeploymentSession,
  opts: Pick<RecoveryOptions, 'dryRun' | 'breakLock' | 'signal'>,
  flow: LockFlow = 'member-recovery',
): Promise<LockOutcome> {
  if (opts.dryRun) return { kind: 'taken', lock: null };
  try {
    const lock = await acquireClusterLock(session, {
      flow,
      breakLock: opts.breakLock,
      signal: opts.signal,
    });
    return { kind: 'taken', lock };
  } catch (e) {
    if (e instanceof ClusterLockError && (e.kind === 'held' || e.kind === 'stale')) {
      return {
        kind: 'held',
        holder: e.reports.map(describeLock).join('; '),
        refusal: {
          code: 'lock-held',
          message: e.message,
          advice:
            e.kind === 'stale'
              ? 'If that run is really gone, run again with --break-lock.'
              : 'Wait until the other run finishes; nothing was changed.',
        },
      };
    }
    return {
      kind: 'failed',
      message: `Could not take the cluster lock: ${(e as Error).message}`,
      advice: 'Check SSH access to the masters, then run again; nothing was changed.',
    };
  }
}

/** What the run needs from its lock while it runs. */
export interface RunGuard {
  /** Aborts on the operator's cancel and when the lock is lost. */
  signal: AbortSignal;
  lockLost(): boolean;
  /** This run's id (null for a dry-run). */
  runId: string | null;
  /** Run ids of stale locks this run broke: their markers belong to runs that are gone. */
  staleRunIds: string[];
  /** Stops listening to the operator's signal and releases the lock. */
  release(): Promise<void>;
}

export function guardRun(lock: ClusterLock | null, signal: AbortSignal | undefined): RunGuard {
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  signal?.addEventListener('abort', onAbort);
  lock?.signal.addEventListener('abort', onAbort);
  if (signal?.aborted) abort.abort();
  return {
    signal: abort.signal,
    lockLost: () => !!lock?.signal.aborted,
    runId: lock?.runId ?? null,
    staleRunIds: lock ? lock.broken.flatMap((b) => (b.holder ? [b.holder.runId] : [])) : [],
    release: async () => {
      signal?.removeEventListener('abort', onAbort);
      if (lock) await lock.release().catch(() => undefined);
    },
  };
}

/** Keeps the target's resume marker only when markerMatches trusts it for this run; reports it otherwise. */
export function bindMarker(o: Observation, runId: string | null, staleRunIds: string[]): void {
  const state = o.targetVm?.state;
  if (!state?.marker) return;
  o.marker = state.marker;
  // A marker of a run that ended (cancelled, failed, killed) while no lock is held by anyone else: we
  // hold the cluster lock now, so that run is not running; its marker is trusted while the member list matches.
  const ended = state.marker.runId && state.marker.runId !== runId ? [state.marker.runId] : [];
  const v = runId
    ? markerMatches(state.marker, o.members ?? [], runId, { staleRunIds: [...staleRunIds, ...ended] })
    : markerMatches(state.marker, o.members ?? [], '', { staleRunIds: state.marker.runId ? [state.marker.runId] : [] });
  o.markerReason = v.reason;
  if (!v.trusted && o.targetVm) o.targetVm.state = null;
}
