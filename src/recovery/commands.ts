// Builders for every remote command the recovery runs. Each value is validated first and the
// command is built with shell quoting, so nothing from the Director, etcd or the operator can
// inject shell syntax. The commands are the runbook's own, so the operator sees (and could repeat)
// exactly what runs on the VM. No `vscode` import here.
import { shellQuote } from '../util/shell';
import { writeResumeMarkerCommand } from '../session/resumeMarker';

import type { SnapshotStatusTool } from '../etcd/version';

/** One remote command, as shown to the operator and executed (with sudo) on one VM. */
export interface RemoteCommand {
  /** The exact shell command line. */
  command: string;
  /** true when the command changes something on the VM or in the cluster (never run in a dry-run). */
  mutates: boolean;
  /** What it does, in a few words (for the plan and the transcript). */
  purpose: string;
}

/** Thrown when a value fails validation; nothing has been sent anywhere when this is thrown. */
export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

export const ETCD_JOB_DIR = '/var/vcap/jobs/etcd';
export const ETCDCTL = `ETCDCTL_API=3 ${ETCD_JOB_DIR}/bin/etcdctl`;
export const UTILS_SH = `${ETCD_JOB_DIR}/bin/utils.sh`;
/** etcd 3.5's offline tool, where the VM's etcd package ships it (TKGI's may not: the probe checks). */
export const ETCDUTL = '/var/vcap/packages/etcd/bin/etcdutl';
export const STORE_DIR = '/var/vcap/store';
export const DATA_DIR = `${STORE_DIR}/etcd`;
export const MEMBER_DIR = `${DATA_DIR}/member`;
export const SNAPSHOT_DIR = `${STORE_DIR}/etcd-snapshots`;
export const ETCD_PIDFILES = ['/var/vcap/sys/run/bpm/etcd/etcd.pid', '/var/vcap/sys/run/etcd/etcd.pid'];
/**
 * Written on the target VM once etcd is stopped there and the snapshot has read back, before its data or
 * the membership changes; lets a later run recognise a resumed recovery.
 */
export const STATE_FILE = `${STORE_DIR}/etcd-recovery.state`;

const SHELL_META = /[\s;&|`$<>(){}[\]*?!~#'"\\\n\r\t\0]/;

function rejectMeta(kind: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(`${kind} is empty`);
  if (SHELL_META.test(value))
    throw new ValidationError(
      `${kind} ${JSON.stringify(value)} contains shell metacharacters or spaces: refusing to build a command with it`,
    );
}

/** BOSH instance UUID (also the etcd member name). */
export function validateInstanceId(id: string): string {
  rejectMeta('instance id', id);
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(id))
    throw new ValidationError(`instance id ${JSON.stringify(id)} is not a BOSH instance UUID`);
  return id;
}

/** Instance group name, e.g. 'master'. */
export function validateGroup(group: string): string {
  rejectMeta('instance group', group);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(group))
    throw new ValidationError(`instance group ${JSON.stringify(group)} is not a valid BOSH instance group name`);
  return group;
}

/** etcd member id as etcdctl prints it: lower-case hex, at most 16 digits, not zero. */
export function validateMemberId(id: string): string {
  rejectMeta('member id', id);
  if (!/^[0-9a-f]{1,16}$/.test(id) || /^0+$/.test(id))
    throw new ValidationError(
      `member id ${JSON.stringify(id)} is not an etcd member id (lower-case hex, up to 16 digits)`,
    );
  return id;
}

/** Peer URL of the BOSH etcd job: https://<host>:<port>, host a DNS name. */
export function validatePeerUrl(url: string): string {
  rejectMeta('peer URL', url);
  if (!/^https:\/\/[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*:[0-9]{1,5}$/.test(url)) {
    throw new ValidationError(
      `peer URL ${JSON.stringify(url)} is malformed (expected https://master-<index>.etcd.cfcr.internal:2380)`,
    );
  }
  return url;
}

/** The peer URL the BOSH etcd job gives the instance with this index. */
export function expectedPeerUrl(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 9999)
    throw new ValidationError(`instance index ${index} is not valid`);
  return `https://master-${index}.etcd.cfcr.internal:2380`;
}

export function expectedClientUrl(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 9999)
    throw new ValidationError(`instance index ${index} is not valid`);
  return `https://master-${index}.etcd.cfcr.internal:2379`;
}

/** Recovery timestamp used in file names: 20261126T130501Z. */
export function validateStamp(ts: string): string {
  rejectMeta('timestamp', ts);
  if (!/^[0-9]{8}T[0-9]{6}Z$/.test(ts))
    throw new ValidationError(`timestamp ${JSON.stringify(ts)} is not of the form YYYYMMDDTHHMMSSZ`);
  return ts;
}

export function stampOf(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.[0-9]+/, '');
}

export function backupDirFor(ts: string): string {
  return `${DATA_DIR}.bak-${validateStamp(ts)}`;
}

export function snapshotPathFor(ts: string): string {
  return `${SNAPSHOT_DIR}/${validateStamp(ts)}.db`;
}

// ---------------------------------------------------------------- read-only (observation) commands

/** Marker lines separating the sections of the target-VM probe output. */
export const PROBE_SECTIONS = ['monit', 'data', 'member', 'store', 'df', 'peer', 'state', 'pid', 'etcdutl'] as const;

/**
 * One read-only probe of a master VM: monit's view of etcd, the data directory, the disk space of
 * /var/vcap/store, the peer address utils.sh computes, the recovery state file, the etcd process.
 */
export function probeVm(): RemoteCommand {
  const s = (name: string) => `echo '### ${name}'`;
  return {
    command: [
      s('monit'),
      'monit summary 2>&1',
      s('data'),
      `ls -1A ${DATA_DIR} 2>&1`,
      s('member'),
      `stat -c '%U:%G' ${MEMBER_DIR} 2>/dev/null && ls -1A ${MEMBER_DIR} 2>&1`,
      s('store'),
      `ls -1A ${STORE_DIR} 2>&1`,
      s('df'),
      `df -Pk ${STORE_DIR} 2>&1`,
      s('peer'),
      `bash -c 'source ${UTILS_SH} >/dev/null 2>&1; echo "\${etcd_peer_address}"'`,
      s('state'),
      `cat ${STATE_FILE} 2>/dev/null`,
      // bpm's pidfile (TKGI), or the pre-bpm job's
      s('pid'),
      `for f in ${ETCD_PIDFILES.join(' ')}; do test -s $f && kill -0 "$(cat $f)" 2>/dev/null && echo alive; done`,
      s('etcdutl'),
      `test -x ${ETCDUTL} && echo present`,
      'true',
    ].join('; '),
    mutates: false,
    purpose: 'inspect etcd on the VM (monit, data directory, disk space, peer address)',
  };
}

export function monitSummary(): RemoteCommand {
  return { command: 'monit summary', mutates: false, purpose: "monit's view of the processes" };
}

export function memberList(): RemoteCommand {
  return { command: `${ETCDCTL} member list`, mutates: false, purpose: 'list the etcd members' };
}

export function endpointStatusTable(): RemoteCommand {
  return { command: `${ETCDCTL} endpoint status -w table`, mutates: false, purpose: 'endpoint status of every member' };
}

// ---------------------------------------------------------------- commands that change things

export function snapshotSave(ts: string): RemoteCommand {
  const p = snapshotPathFor(ts);
  return {
    // LOCAL=true: the job's etcdctl wrapper then talks to this VM's own member only (snapshot needs exactly one endpoint).
    command: `mkdir -p ${SNAPSHOT_DIR} && LOCAL=true ${ETCDCTL} snapshot save ${shellQuote(p)}`,
    mutates: true,
    purpose: 'save a snapshot of the keyspace on a healthy member',
  };
}

/** `etcdutl snapshot status` where the VM has it and etcd is 3.5+ (src/etcd/version.ts), else etcdctl's. */
export function snapshotStatus(ts: string, tool: SnapshotStatusTool = 'etcdctl'): RemoteCommand {
  return {
    command: `${tool === 'etcdutl' ? ETCDUTL : ETCDCTL} snapshot status ${shellQuote(snapshotPathFor(ts))} -w table`,
    mutates: false,
    purpose: 'verify the snapshot file',
  };
}

/** What the resume marker records besides the timestamp, the dead member and the snapshot. */
export interface MarkerBinding {
  runId?: string | null;
  instance?: string | null;
  peerUrl?: string | null;
  addedMemberId?: string | null;
}

export function writeStateFile(
  ts: string,
  oldMemberId: string | null,
  snapshotHost: string | null,
  bound: MarkerBinding = {},
): RemoteCommand {
  validateStamp(ts);
  if (oldMemberId) validateMemberId(oldMemberId);
  if (snapshotHost) validateInstanceLabel(snapshotHost);
  if (bound.addedMemberId) validateMemberId(bound.addedMemberId);
  let command: string;
  try {
    command = writeResumeMarkerCommand({
      runId: bound.runId ?? null,
      ts,
      instance: bound.instance ?? null,
      peerUrl: bound.peerUrl ?? null,
      removedMemberId: oldMemberId,
      addedMemberId: bound.addedMemberId ?? null,
      snapshot: snapshotHost ? snapshotPathFor(ts) : null,
      snapshotHost,
    });
  } catch (e) {
    throw new ValidationError((e as Error).message);
  }
  return {
    command,
    mutates: true,
    purpose: 'record the recovery in progress, bound to this run (so a later run can resume it)',
  };
}

export function removeStateFile(): RemoteCommand {
  return { command: `rm -f ${STATE_FILE}`, mutates: true, purpose: 'clear the recovery-in-progress record' };
}

export function monitStop(): RemoteCommand {
  return { command: 'monit stop etcd', mutates: true, purpose: 'stop etcd (monit stops watching it)' };
}

export function monitStart(): RemoteCommand {
  return { command: 'monit start etcd', mutates: true, purpose: 'start etcd under monit' };
}

/** Exits 3 when etcd runs on the VM (a live pid in the job's pidfile that is an etcd process). */
export function assertEtcdStopped(): string {
  return `for f in ${ETCD_PIDFILES.join(' ')}; do p=$(cat $f 2>/dev/null); if [ -n "$p" ] && kill -0 "$p" 2>/dev/null && grep -q etcd /proc/$p/cmdline 2>/dev/null; then echo "etcd is running (pid $p, $f): its data is not moved" >&2; exit 3; fi; done`;
}

export function moveDataAside(ts: string): RemoteCommand {
  const b = backupDirFor(ts);
  return {
    // the guard in the same command: nothing can start etcd between the check and the move but monit, which is stopped
    command: `${assertEtcdStopped()}; mkdir -p ${shellQuote(b)} && find ${DATA_DIR} -mindepth 1 -maxdepth 1 -exec mv -t ${shellQuote(b)} {} +`,
    mutates: true,
    purpose: `move the old data directory contents aside to ${b} (kept, not deleted)`,
  };
}

export function memberRemove(idHex: string): RemoteCommand {
  return {
    command: `${ETCDCTL} member remove ${shellQuote(validateMemberId(idHex))}`,
    mutates: true,
    purpose: 'remove the dead member from the cluster',
  };
}

export function recreateMemberDir(): RemoteCommand {
  return {
    command: `mkdir -p ${MEMBER_DIR}; chown vcap:vcap ${MEMBER_DIR}`,
    mutates: true,
    purpose: 'recreate an empty member/ directory so the start script joins the existing cluster',
  };
}

export function memberAdd(instanceId: string, learner: boolean): RemoteCommand {
  return {
    // bash -c: `source` and utils.sh need bash; the remote side runs commands through `sudo sh -c`.
    command: `bash -c ${shellQuote(`source ${UTILS_SH}; ${ETCDCTL} member add ${shellQuote(validateInstanceId(instanceId))} --peer-urls \${etcd_peer_address}${learner ? ' --learner' : ''}`)}`,
    mutates: true,
    purpose: learner ? 'add the instance back as a learner (non-voting) member' : 'add the instance back as a member',
  };
}

/** `local`: through the VM's own member only (the job wrapper's LOCAL=true), not every endpoint. */
export function memberPromote(idHex: string, o: { local?: boolean } = {}): RemoteCommand {
  return {
    command: `${o.local ? 'LOCAL=true ' : ''}${ETCDCTL} member promote ${shellQuote(validateMemberId(idHex))}`,
    mutates: true,
    purpose: 'promote the learner to a voting member',
  };
}

export function alarmDisarm(): RemoteCommand {
  return { command: `${ETCDCTL} alarm disarm`, mutates: true, purpose: 'disarm the alarms' };
}

/** `group/uuid` */
export function validateInstanceLabel(label: string): string {
  const m = /^([^/]+)\/([^/]+)$/.exec(label);
  if (!m)
    throw new ValidationError(`instance ${JSON.stringify(label)} is not of the form group/uuid (e.g. master/8d1f…)`);
  validateGroup(m[1]);
  validateInstanceId(m[2]);
  return label;
}
