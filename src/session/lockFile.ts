// The cluster lock's file (see clusterLock.ts): where it is, what it holds (JSON: LockHolder), how
// it is written and read back, and what a master's file says (LockReport). Plain Node, no `vscode`.
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from './types';

export const LOCK_FILE = '/var/vcap/store/etcd-doctor.lock';
export const DEFAULT_HEARTBEAT_MS = 10_000;
export const DEFAULT_STALE_MS = 120_000;

/** The changing flows that take the lock. */
export type LockFlow = 'member-recovery' | 'defragmentation' | 'quorum-restore' | 'snapshot-restore';

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

/** The part of a deployment session the lock uses. */
export type LockSession = Pick<DeploymentSession, 'deployment' | 'instances' | 'instancesQuick' | 'ssh'>;

export const RUN_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const FLOWS: readonly LockFlow[] = ['member-recovery', 'defragmentation', 'quorum-restore', 'snapshot-restore'];

/** 'group/uuid' of an instance. */
export const label = (i: Pick<InstanceInfo, 'group' | 'id'>) => `${i.group}/${i.id}`;

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

export function formatHolder(h: LockHolder): string {
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
