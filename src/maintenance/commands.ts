// Every remote command the maintenance flows run, built from validated values with shell quoting
// (as src/recovery/commands.ts does for the recovery, whose paths and etcdctl wrapper are reused).
// The commands are what an operator would type after `bosh ssh`, so the terminal and the
// transcript show (and the operator could repeat) exactly what runs. No `vscode` import here.
import { shellQuote } from '../util/shell';
import { ETCD_JOB_DIR, ETCD_PIDFILES, ETCDCTL, STATE_FILE, ValidationError } from '../recovery/commands';
import type { MaintenanceCommand } from './types';

export { STATE_FILE as RECOVERY_STATE_FILE };

/** Keys of the test write after a NOSPACE recovery live here (put, then deleted at once). */
export const WRITE_TEST_PREFIX = '/bosh-etcd-doctor/write-test/';

/** etcd's default backend quota when the job sets none. */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * `LOCAL=true`: the job's etcdctl wrapper then passes `--endpoints` = this VM's own client URL only
 * (an extra `--endpoints` flag would be appended to the wrapper's list of every member and
 * defragment them all at once).
 */
const LOCAL_ETCDCTL = `LOCAL=true ${ETCDCTL}`;

/** Seconds etcdctl waits for a defragmentation of this size: generous, never below a minute. */
export function defragTimeoutSeconds(dbSize: number | null): number {
  const mb = (dbSize ?? 0) / (1024 * 1024);
  return Math.max(60, Math.ceil(60 + mb / 5));
}

/** Defragments the member on this VM only (its own client URL). */
export function defragLocal(dbSize: number | null): MaintenanceCommand['command'] {
  return `${LOCAL_ETCDCTL} --command-timeout=${defragTimeoutSeconds(dbSize)}s defrag`;
}

export function validateRevision(rev: string): string {
  if (!/^[1-9][0-9]{0,18}$/.test(rev)) throw new ValidationError(`revision ${JSON.stringify(rev)} is not a revision`);
  return rev;
}

/** Compacts the history up to `rev` and waits until the space is really freed (--physical). */
export function compactTo(rev: string): string {
  return `${LOCAL_ETCDCTL} compaction ${validateRevision(rev)} --physical`;
}

/** The compaction as the plan shows it before the revision is read. */
export function compactToCurrentPlaceholder(): string {
  return `${LOCAL_ETCDCTL} compaction <current revision> --physical`;
}

/** Disarms every alarm of the cluster (only ever run after checking that none is CORRUPT). */
export function alarmDisarm(): string {
  return `${LOCAL_ETCDCTL} alarm disarm`;
}

export function alarmList(): string {
  return `${LOCAL_ETCDCTL} alarm list`;
}

export function writeTestKey(stamp: string): string {
  if (!/^[0-9A-Za-z-]{1,40}$/.test(stamp)) throw new ValidationError(`write-test stamp ${JSON.stringify(stamp)}`);
  return `${WRITE_TEST_PREFIX}${stamp}`;
}

export function putKey(key: string, value: string): string {
  return `${LOCAL_ETCDCTL} put ${shellQuote(key)} ${shellQuote(value)}`;
}

export function deleteKey(key: string): string {
  return `${LOCAL_ETCDCTL} del ${shellQuote(key)}`;
}

/** Marker lines of the read-only VM probe. */
export const PROBE_SECTIONS = ['state', 'quota'] as const;

/**
 * Read-only probe of a master: is a member recovery in progress (its state file), and the quota
 * etcd runs with (the running process's arguments, else the job's start script and bpm config: the
 * first line grep prints). Shell builtins and one grep: on a loaded VM every process started counts.
 */
export function probeVm(): string {
  const cmdlines = ETCD_PIDFILES.map((f) => `[ -s ${f} ] && read p < ${f} && echo /proc/$p/cmdline`).join('; ');
  return [
    `echo '### state'`,
    `[ -e ${STATE_FILE} ] && echo present`,
    `echo '### quota'`,
    `grep -ahoE -m1 -- '--quota-backend-bytes[= ]+"?[0-9]+' $(${cmdlines}) ${ETCD_JOB_DIR}/bin/etcd ${ETCD_JOB_DIR}/config/bpm.yml 2>/dev/null`,
    'true',
  ].join('; ');
}

export interface VmProbeResult {
  recoveryInProgress: boolean;
  quotaBackendBytes: number | null;
}

export function parseProbe(out: string): VmProbeResult {
  const sections = new Map<string, string[]>();
  let cur: string | null = null;
  for (const line of out.split(/\r?\n/)) {
    const h = /^### (\w+)$/.exec(line.trim());
    if (h) {
      cur = h[1];
      sections.set(cur, []);
    } else if (cur && line.trim()) sections.get(cur)!.push(line.trim());
  }
  const q = /([0-9]+)/.exec((sections.get('quota') ?? [])[0] ?? '');
  return {
    recoveryInProgress: (sections.get('state') ?? []).includes('present'),
    quotaBackendBytes: q ? Number(q[1]) : null,
  };
}
