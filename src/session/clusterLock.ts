// The cluster-wide lock held for a whole run of a changing flow (member recovery, defragmentation,
// quorum restore), so that two runs (the CLI and the wizard, or two operators) never change one
// cluster at the same time. Plain Node, no `vscode`.
//
// Where: a lock file on every master VM (LOCK_FILE, JSON: LockHolder), written over the session's
// SSH with sudo. Every read-check-write on a VM happens under `flock` on a guard file next to it, so
// creating, heart-beating, breaking and releasing are each atomic on that VM.
//
// Acquire rule: the first master in index order is taken alone, then the others at once, and the
// lock must be created on EVERY master that can be reached AND on a MAJORITY of all masters (the
// Director's list). Two runs that both reach the first master race for it and the loser stops there; two runs
// that see different masters need a majority each, and two majorities always share a master, so at
// most one run proceeds. A refused acquire removes what it created.
//
// Staleness: the holder rewrites the file every heartbeatMs (default 10 s). A lock is stale when the
// file was last written more than staleMs ago (default 120 s) by the VM's own clock (file mtime
// against `date` on the VM: workstation clocks may disagree), or when its holder ran on this
// workstation and that process no longer exists. A live lock is never broken; a stale one only with
// breakLock (the CLI's --break-lock), and the broken holders are returned so the caller shows them.
//
// The parts: the lock file and its format (lockFile.ts), the atomic per-VM operations (lockOps.ts),
// staleness and the holders in words (lockReport.ts).
import * as crypto from 'crypto';
import * as os from 'os';
import { pause } from '../util/async';
import {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_STALE_MS,
  FLOWS,
  formatHolder,
  label,
  RUN_ID,
  type LockFlow,
  type LockHolder,
  type LockReport,
  type LockSession,
} from './lockFile';
import { connectMasters, DEFAULT_CONNECT_TIMEOUT_MS, lockOp, type MasterHost, type OpResult } from './lockOps';
import { describeLock, reportOf } from './lockReport';

export type ClusterLockErrorKind = 'held' | 'stale' | 'no-majority' | 'failed' | 'lost' | 'config';

export class ClusterLockError extends Error {
  constructor(
    readonly kind: ClusterLockErrorKind,
    message: string,
    /** The masters' lock states behind the refusal (the holders to show). */
    readonly reports: LockReport[] = [],
  ) {
    super(message);
    this.name = 'ClusterLockError';
  }
}

export interface AcquireOptions {
  flow: LockFlow;
  /** Default: a fresh UUID. Letters, digits, '.', '_', '-' (up to 64). */
  runId?: string;
  heartbeatMs?: number;
  staleMs?: number;
  /** Break stale locks (never live ones). The broken holders are in ClusterLock.broken. */
  breakLock?: boolean;
  /** Stops the heartbeat (the caller still releases). */
  signal?: AbortSignal;
  /** How long to wait for the SSH connection to one master before counting it unreachable. */
  connectTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ReleaseResult {
  /** Masters the lock was removed from. */
  released: string[];
  /** Masters where the lock file was not ours any more (left in place). */
  notOurs: LockReport[];
  /** Masters that could not be reached to release ('group/uuid: error'); the lock there goes stale. */
  failed: string[];
}

export interface ClusterLock {
  readonly runId: string;
  readonly flow: LockFlow;
  /** Masters holding our lock ('group/uuid'). */
  readonly masters: string[];
  /** Masters that could not be reached at acquire time. */
  readonly unreachable: LockReport[];
  /** Stale locks of other runs that were broken to acquire (show them to the operator). */
  readonly broken: LockReport[];
  /** Aborted when the lock is lost (another run broke it): reason is a ClusterLockError of kind 'lost'. */
  readonly signal: AbortSignal;
  /** Stops the heartbeat and removes the lock from every master where it is still ours. Idempotent. */
  release(): Promise<ReleaseResult>;
}

/**
 * Takes the cluster lock for a run (see the rule at the top of this file). Throws ClusterLockError:
 * 'held' (a live lock of another run: the reports name the holder), 'stale' (a stale lock and no
 * breakLock), 'no-majority' (too few masters reachable), 'failed' (a reachable master's lock file
 * could not be written), 'config' (bad options, no masters). Nothing is left behind on refusal.
 */
export async function acquireClusterLock(session: LockSession, opts: AcquireOptions): Promise<ClusterLock> {
  const log = opts.log ?? (() => undefined);
  const runId = opts.runId ?? crypto.randomUUID();
  if (!RUN_ID.test(runId)) throw new ClusterLockError('config', `Invalid run id ${JSON.stringify(runId)}.`);
  if (!FLOWS.includes(opts.flow)) throw new ClusterLockError('config', `Unknown flow ${JSON.stringify(opts.flow)}.`);
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const started = new Date().toISOString();
  const holder: LockHolder = {
    runId,
    flow: opts.flow,
    workstation: os.hostname(),
    user: safeUserName(),
    pid: process.pid,
    startedAt: started,
    heartbeatAt: started,
  };

  const { all, hosts, unreachable } = await connectMasters(
    session,
    opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    log,
  );
  if (!all.length)
    throw new ClusterLockError(
      'config',
      `Deployment ${session.deployment} has no etcd instances to lock (instance group 'master' or a process named 'etcd').`,
    );
  const majority = Math.floor(all.length / 2) + 1;
  if (hosts.length < majority) {
    throw new ClusterLockError(
      'no-majority',
      `Cannot take the cluster lock: only ${hosts.length} of ${all.length} masters are reachable, ${majority} are needed so that no other run can lock the cluster at the same time. ` +
        `Unreachable: ${unreachable.map(describeLock).join('; ')}. Check the VMs (bosh -d ${session.deployment} instances) and the network path, then run again.`,
      unreachable,
    );
  }

  const touched: MasterHost[] = [];
  const broken: LockReport[] = [];
  /** Takes the lock on one master; throws ClusterLockError (what it created elsewhere is removed by the caller). */
  const takeOn = async (t: MasterHost): Promise<void> => {
    const name = label(t.inst);
    let r: OpResult;
    try {
      r = await lockOp(t.host, { mode: 'absent' }, { content: formatHolder(holder) });
      if (r.outcome === 'mismatch') {
        const rep = reportOf(name, r, staleMs);
        if (rep.holder?.runId === runId) {
          // Resuming under the same run id: ours already; refresh it.
          r = await lockOp(t.host, { mode: 'run', runId }, { content: formatHolder(holder) });
        } else if (!rep.stale) {
          throw new ClusterLockError(
            'held',
            `Another run holds the cluster lock: ${describeLock(rep)}. Wait until it finishes (or stop it there); a lock without heartbeat becomes stale after ${Math.round(staleMs / 1000)} s.`,
            [rep],
          );
        } else if (!opts.breakLock) {
          throw new ClusterLockError(
            'stale',
            `A stale cluster lock is in the way: ${describeLock(rep)}. If that run is really gone, run again with --break-lock to break it.`,
            [rep],
          );
        } else {
          log(`lock: breaking the stale lock on ${describeLock(rep)}`);
          r = await lockOp(t.host, { mode: 'exact', expect: r.content ?? '' }, { content: formatHolder(holder) });
          if (r.outcome === 'ok') broken.push(rep);
          else {
            const now = reportOf(name, r, staleMs);
            throw new ClusterLockError(
              'held',
              `The stale lock changed while breaking it: ${describeLock(now)}. Another run is starting: check who it is before running again.`,
              [now],
            );
          }
        }
      }
    } catch (e) {
      if (e instanceof ClusterLockError) throw e;
      throw new ClusterLockError('failed', `Cannot take the cluster lock on ${name}: ${(e as Error).message}`);
    }
    if (r.outcome !== 'ok') {
      throw new ClusterLockError(
        'held',
        `Cannot take the cluster lock on ${name}: ${describeLock(reportOf(name, r, staleMs))}.`,
        [reportOf(name, r, staleMs)],
      );
    }
  };
  try {
    // The first master (index order: etcdInstances sorts by index) alone: two runs that both reach it
    // race there and the loser stops before touching another. Then every other master at once; a
    // refusal on any of them is reported once all have answered.
    touched.push(hosts[0]);
    await takeOn(hosts[0]);
    touched.push(...hosts.slice(1));
    const settled = await Promise.allSettled(hosts.slice(1).map(takeOn));
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (e) {
    await removeOurs(touched, runId, log);
    throw e;
  }
  log(`lock: run ${runId} (${opts.flow}) holds the cluster lock on ${touched.map((t) => label(t.inst)).join(', ')}`);
  return new HeldLock(runId, holder, touched, unreachable, broken, heartbeatMs, opts.signal, log);
}

function safeUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? '?';
  }
}

async function removeOurs(hosts: MasterHost[], runId: string, log: (l: string) => void): Promise<ReleaseResult> {
  const result: ReleaseResult = { released: [], notOurs: [], failed: [] };
  await Promise.all(
    hosts.map(async ({ inst, host }) => {
      const name = label(inst);
      try {
        const r = await lockOp(host, { mode: 'run', runId }, { remove: true });
        if (r.outcome === 'ok') result.released.push(name);
        else if (r.content !== null) result.notOurs.push(reportOf(name, r, DEFAULT_STALE_MS));
      } catch (e) {
        log(`lock: cannot release on ${name}: ${(e as Error).message}`);
        result.failed.push(`${name}: ${(e as Error).message}`);
      }
    }),
  );
  return result;
}

class HeldLock implements ClusterLock {
  private readonly lostController = new AbortController();
  private readonly stopHeartbeat = new AbortController();
  private readonly heartbeat: Promise<void>;
  private released: Promise<ReleaseResult> | undefined;

  constructor(
    readonly runId: string,
    private readonly holder: LockHolder,
    private readonly hosts: MasterHost[],
    readonly unreachable: LockReport[],
    readonly broken: LockReport[],
    private readonly heartbeatMs: number,
    signal: AbortSignal | undefined,
    private readonly log: (l: string) => void,
  ) {
    if (signal?.aborted) this.stopHeartbeat.abort();
    else signal?.addEventListener('abort', () => this.stopHeartbeat.abort(), { once: true });
    this.heartbeat = this.beat();
  }

  get flow(): LockFlow {
    return this.holder.flow;
  }
  get masters(): string[] {
    return this.hosts.map((h) => label(h.inst));
  }
  get signal(): AbortSignal {
    return this.lostController.signal;
  }

  private async beat(): Promise<void> {
    const stop = this.stopHeartbeat.signal;
    while (!stop.aborted) {
      await pause(this.heartbeatMs, stop);
      if (stop.aborted) return;
      const content = formatHolder({ ...this.holder, heartbeatAt: new Date().toISOString() });
      await Promise.all(
        this.hosts.map(async ({ inst, host }) => {
          try {
            const r = await lockOp(host, { mode: 'run', runId: this.runId }, { content });
            if (r.outcome === 'ok' || stop.aborted) return;
            const rep = reportOf(label(inst), r, DEFAULT_STALE_MS);
            this.lost(
              new ClusterLockError(
                'lost',
                `The cluster lock of run ${this.runId} was taken away on ${describeLock(rep)}. Stop and check what the other run did before going on.`,
                [rep],
              ),
            );
          } catch (e) {
            // A VM out of reach for a while: the next beat tries again; others see the lock go stale.
            this.log(`lock: heartbeat on ${label(inst)} failed: ${(e as Error).message}`);
          }
        }),
      );
    }
  }

  private lost(e: ClusterLockError): void {
    if (this.lostController.signal.aborted) return;
    this.log(`lock: ${e.message}`);
    this.lostController.abort(e);
    this.stopHeartbeat.abort();
  }

  release(): Promise<ReleaseResult> {
    this.released ??= (async () => {
      this.stopHeartbeat.abort();
      await this.heartbeat;
      const r = await removeOurs(this.hosts, this.runId, this.log);
      this.log(
        `lock: run ${this.runId} released the cluster lock on ${r.released.join(', ') || 'no master'}` +
          (r.notOurs.length ? `; not ours any more: ${r.notOurs.map(describeLock).join('; ')}` : ''),
      );
      return r;
    })();
    return this.released;
  }
}
