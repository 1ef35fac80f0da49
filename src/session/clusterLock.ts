// The cluster-wide lock held for a whole run of a changing flow (member recovery, defragmentation,
// quorum restore), so that two runs (the CLI and the wizard, or two operators) never change one
// cluster at the same time. Plain Node, no `vscode`.
//
// Where: a lock file on every master VM (LOCK_FILE, JSON: LockHolder), written over the session's
// SSH with sudo. Every read-check-write on a VM happens under `flock` on a guard file next to it, so
// creating, heart-beating, breaking and releasing are each atomic on that VM.
//
// Acquire rule: the masters are taken in index order, one after the other, and the lock must be
// created on EVERY master that can be reached AND on a MAJORITY of all masters (the Director's
// list). Two runs that both reach the first master race for it and the loser stops there; two runs
// that see different masters need a majority each, and two majorities always share a master, so at
// most one run proceeds. A refused acquire removes what it created.
//
// Staleness: the holder rewrites the file every heartbeatMs (default 10 s). A lock is stale when the
// file was last written more than staleMs ago (default 120 s) by the VM's own clock (file mtime
// against `date` on the VM: workstation clocks may disagree), or when its holder ran on this
// workstation and that process no longer exists. A live lock is never broken; a stale one only with
// breakLock (the CLI's --break-lock), and the broken holders are returned so the caller shows them.
import * as crypto from 'crypto';
import * as os from 'os';
import type { InstanceInfo } from '../bosh/types';
import type { RemoteHost } from '../ssh/types';
import { pause, withTimeout } from '../util/async';
import { etcdInstances } from './session';
import type { DeploymentSession } from './types';

export const LOCK_FILE = '/var/vcap/store/etcd-doctor.lock';
export const DEFAULT_HEARTBEAT_MS = 10_000;
export const DEFAULT_STALE_MS = 120_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
const OP_TIMEOUT_MS = 30_000;

/** The changing flows that take the lock. */
export type LockFlow = 'member-recovery' | 'defragmentation' | 'quorum-restore';

/** The content of a lock file. Times are ISO 8601 from the holder's workstation clock. */
export interface LockHolder {
  runId: string;
  flow: LockFlow;
  workstation: string;
  user: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
}

/** What one master's lock file says. */
export interface LockReport {
  /** 'group/uuid' of the master. */
  instance: string;
  state: 'free' | 'held' | 'unreachable';
  /** The holder (state 'held'); null when the file is not a lock this tool wrote (raw has it). */
  holder?: LockHolder | null;
  raw?: string;
  /** Milliseconds since the file was last written, by the VM's clock. */
  ageMs?: number;
  /** Older than the stale time, or its holder process on this workstation is gone. */
  stale?: boolean;
  /** Why: 'no heartbeat for N s' or 'process N on this workstation is gone'. */
  staleReason?: string;
  /** Why the master could not be read (state 'unreachable'). */
  error?: string;
}

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

/** The part of a deployment session the lock uses. */
export type LockSession = Pick<DeploymentSession, 'deployment' | 'instances' | 'ssh'>;

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

const RUN_ID = /^[A-Za-z0-9._-]{1,64}$/;
const FLOWS: readonly LockFlow[] = ['member-recovery', 'defragmentation', 'quorum-restore'];

const label = (i: Pick<InstanceInfo, 'group' | 'id'>) => `${i.group}/${i.id}`;

/**
 * One atomic operation on a master's lock file, under flock:
 *   mode read:   only report;
 *   mode absent: write stdin if there is no lock file;
 *   mode run:    write stdin (or remove the file when REMOVE=1) if the file names run RUN;
 *   mode exact:  write stdin if the file's bytes equal EXPECT.
 * Prints `ok` or `mismatch`, then the file's state afterwards (VM time, mtime, base64 content).
 */
function lockOpScript(): string {
  return [
    `L=${LOCK_FILE}`,
    'exec 9>>"$L.guard" || exit 97',
    'flock -w 20 9 || { echo "cannot take the guard lock $L.guard within 20 s" >&2; exit 98; }',
    'match=0',
    'case "$MODE" in',
    '  absent) [ -e "$L" ] || match=1 ;;',
    '  run) [ -e "$L" ] && grep -qF "\\"runId\\":\\"$RUN\\"" "$L" && match=1 ;;',
    `  exact) [ -e "$L" ] && printf '%s' "$EXPECT" | cmp -s - "$L" && match=1 ;;`,
    'esac',
    'if [ "$MODE" = read ]; then echo read',
    'elif [ $match = 1 ]; then',
    '  if [ "$REMOVE" = 1 ]; then rm -f "$L" || exit 99',
    '  else t="$L.tmp.$$"; { cat > "$t" && chmod 0644 "$t" && mv -f "$t" "$L"; } || { rm -f "$t"; exit 99; }',
    '  fi; echo ok',
    'else cat > /dev/null; echo mismatch; fi',
    'echo "now=$(date +%s)"',
    'if [ -e "$L" ]; then echo "mtime=$(stat -c %Y "$L")"; echo "content=$(base64 -w0 < "$L")"; else echo absent; fi',
  ].join('\n');
}

interface OpResult {
  outcome: 'ok' | 'mismatch' | 'read';
  /** The file afterwards: null when absent. */
  content: string | null;
  ageMs?: number;
}

type OpMode =
  { mode: 'read' } | { mode: 'absent' } | { mode: 'run'; runId: string } | { mode: 'exact'; expect: string };

async function lockOp(host: RemoteHost, op: OpMode, write: { content?: string; remove?: boolean }): Promise<OpResult> {
  const env: Record<string, string> = { MODE: op.mode, REMOVE: write.remove ? '1' : '0' };
  if (op.mode === 'run') env.RUN = op.runId;
  if (op.mode === 'exact') env.EXPECT = op.expect;
  const r = await host.exec(lockOpScript(), {
    sudo: true,
    env,
    stdin: write.content ?? '',
    timeoutMs: OP_TIMEOUT_MS,
  });
  const lines = r.stdout.split('\n').map((l) => l.trim());
  const outcome = lines[0];
  if (r.code !== 0 || (outcome !== 'ok' && outcome !== 'mismatch' && outcome !== 'read')) {
    throw new Error(
      `the lock file ${LOCK_FILE} on ${host.label} could not be handled (exit ${r.code ?? r.signal}): ${r.stderr.trim() || r.stdout.trim()}. ` +
        'Check that /var/vcap/store is mounted and writable and that flock is installed.',
    );
  }
  const kv = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf('=');
    if (i > 0) kv.set(l.slice(0, i), l.slice(i + 1));
  }
  const b64 = kv.get('content');
  const content = b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : null;
  const now = Number(kv.get('now'));
  const mtime = Number(kv.get('mtime'));
  const ageMs = content !== null && Number.isFinite(now) && Number.isFinite(mtime) ? (now - mtime) * 1000 : undefined;
  return { outcome, content, ageMs };
}

/** Parses a lock file's content; null when it is not a lock this tool wrote. */
export function parseLockHolder(text: string): LockHolder | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : null);
  const runId = str('runId');
  const flow = str('flow');
  if (!runId || !RUN_ID.test(runId) || !flow || !FLOWS.includes(flow as LockFlow)) return null;
  return {
    runId,
    flow: flow as LockFlow,
    workstation: str('workstation') ?? '?',
    user: str('user') ?? '?',
    pid: typeof o.pid === 'number' ? o.pid : -1,
    startedAt: str('startedAt') ?? '?',
    heartbeatAt: str('heartbeatAt') ?? '?',
  };
}

function formatHolder(h: LockHolder): string {
  return JSON.stringify({
    runId: h.runId,
    flow: h.flow,
    workstation: h.workstation,
    user: h.user,
    pid: h.pid,
    startedAt: h.startedAt,
    heartbeatAt: h.heartbeatAt,
  });
}

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

function reportOf(instance: string, r: OpResult, staleMs: number): LockReport {
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

async function connectMasters(
  session: LockSession,
  timeoutMs: number,
  log: (l: string) => void,
): Promise<{ all: InstanceInfo[]; hosts: { inst: InstanceInfo; host: RemoteHost }[]; unreachable: LockReport[] }> {
  const all = etcdInstances(await session.instances());
  const attempts = await Promise.all(
    all.map(async (inst) => {
      if (!inst.ips.length) return { inst, error: 'no VM' };
      try {
        const host = await withTimeout(
          session.ssh(inst),
          timeoutMs,
          () => new Error(`no SSH connection within ${Math.round(timeoutMs / 1000)} s`),
        );
        return { inst, host };
      } catch (e) {
        log(`lock: ${label(inst)} is not reachable: ${(e as Error).message}`);
        return { inst, error: (e as Error).message };
      }
    }),
  );
  const hosts: { inst: InstanceInfo; host: RemoteHost }[] = [];
  const unreachable: LockReport[] = [];
  for (const a of attempts) {
    if (a.host) hosts.push({ inst: a.inst, host: a.host });
    else unreachable.push({ instance: label(a.inst), state: 'unreachable', error: a.error });
  }
  return { all, hosts, unreachable };
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

  const touched: { inst: InstanceInfo; host: RemoteHost }[] = [];
  const broken: LockReport[] = [];
  const refuse = async (err: ClusterLockError): Promise<never> => {
    await removeOurs(touched, runId, log);
    throw err;
  };
  // Index order (etcdInstances sorts by index): two runs race for the same first master.
  for (const t of hosts) {
    const name = label(t.inst);
    touched.push(t);
    let r: OpResult;
    try {
      r = await lockOp(t.host, { mode: 'absent' }, { content: formatHolder(holder) });
      if (r.outcome === 'mismatch') {
        const rep = reportOf(name, r, staleMs);
        if (rep.holder?.runId === runId) {
          // Resuming under the same run id: ours already; refresh it.
          r = await lockOp(t.host, { mode: 'run', runId }, { content: formatHolder(holder) });
        } else if (!rep.stale) {
          return await refuse(
            new ClusterLockError(
              'held',
              `Another run holds the cluster lock: ${describeLock(rep)}. Wait until it finishes (or stop it there); a lock without heartbeat becomes stale after ${Math.round(staleMs / 1000)} s.`,
              [rep],
            ),
          );
        } else if (!opts.breakLock) {
          return await refuse(
            new ClusterLockError(
              'stale',
              `A stale cluster lock is in the way: ${describeLock(rep)}. If that run is really gone, run again with --break-lock to break it.`,
              [rep],
            ),
          );
        } else {
          log(`lock: breaking the stale lock on ${describeLock(rep)}`);
          r = await lockOp(t.host, { mode: 'exact', expect: r.content ?? '' }, { content: formatHolder(holder) });
          if (r.outcome === 'ok') broken.push(rep);
          else {
            const now = reportOf(name, r, staleMs);
            return await refuse(
              new ClusterLockError(
                'held',
                `The stale lock changed while breaking it: ${describeLock(now)}. Another run is starting: check who it is before running again.`,
                [now],
              ),
            );
          }
        }
      }
    } catch (e) {
      if (e instanceof ClusterLockError) throw e; // a refusal above: already cleaned up
      return await refuse(
        new ClusterLockError('failed', `Cannot take the cluster lock on ${name}: ${(e as Error).message}`),
      );
    }
    if (r.outcome !== 'ok') {
      return await refuse(
        new ClusterLockError(
          'held',
          `Cannot take the cluster lock on ${name}: ${describeLock(reportOf(name, r, staleMs))}.`,
          [reportOf(name, r, staleMs)],
        ),
      );
    }
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

async function removeOurs(
  hosts: { inst: InstanceInfo; host: RemoteHost }[],
  runId: string,
  log: (l: string) => void,
): Promise<ReleaseResult> {
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
    private readonly hosts: { inst: InstanceInfo; host: RemoteHost }[],
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
