// The remote commands of the quorum-loss flow that src/recovery/commands.ts does not already have:
// the run's record on the survivor, the copy of the survivor's db, the one run of the survivor with
// --force-new-cluster outside monit, and local reads through the job's etcdctl wrapper.
// Values are validated first (src/recovery/commands.ts). No `vscode` import here.
import { shellQuote } from '../util/shell';
import * as cmd from '../recovery/commands';
import type { RemoteCommand } from '../recovery/commands';

/** The run's record on the survivor: lets a killed run resume (`ts=…`, `survivor=…`, then `forced=yes`, `finished=yes`). */
export const QUORUM_STATE_FILE = `${cmd.STORE_DIR}/etcd-quorum-restore.state`;
/** The pid of the start script run with --force-new-cluster (a process group leader: setsid). */
export const FORCE_PIDFILE = '/var/vcap/sys/run/etcd-force-new-cluster.pid';
export const FORCE_LOG = '/var/vcap/sys/log/etcd/force-new-cluster.log';
export const JOB_START_SCRIPT = `${cmd.ETCD_JOB_DIR}/bin/etcd`;

export interface QuorumRecord {
  ts: string;
  survivor: string;
  forced: boolean;
  finished: boolean;
}

export function readRecord(): RemoteCommand {
  return {
    command: `cat ${QUORUM_STATE_FILE} 2>/dev/null; true`,
    mutates: false,
    purpose: 'read the record of an earlier run',
  };
}

export function parseRecord(text: string): QuorumRecord | null {
  const kv = new Map<string, string>();
  for (const l of text.split('\n')) {
    const m = /^([a-z]+)=(.*)$/.exec(l.trim());
    if (m) kv.set(m[1], m[2]);
  }
  const ts = kv.get('ts');
  const survivor = kv.get('survivor');
  if (!ts || !survivor) return null;
  try {
    cmd.validateStamp(ts);
    cmd.validateInstanceLabel(survivor);
  } catch {
    return null;
  }
  return { ts, survivor, forced: kv.get('forced') === 'yes', finished: kv.get('finished') === 'yes' };
}

export function writeRecord(ts: string, survivor: string): RemoteCommand {
  const body = `ts=${cmd.validateStamp(ts)}\nsurvivor=${cmd.validateInstanceLabel(survivor)}\n`;
  return {
    command: `printf %s ${shellQuote(body)} > ${QUORUM_STATE_FILE}`,
    mutates: true,
    purpose: 'record the quorum restore in progress on the survivor (a later run resumes it)',
  };
}

export function appendRecord(key: 'forced' | 'finished'): RemoteCommand {
  return {
    command: `echo ${key}=yes >> ${QUORUM_STATE_FILE}`,
    mutates: true,
    purpose:
      key === 'forced' ? 'record that the survivor runs as a new one-member cluster' : 'record the run as finished',
  };
}

export function survivorCopyPath(ts: string): string {
  return `${cmd.SNAPSHOT_DIR}/quorum-restore-${cmd.validateStamp(ts)}.db`;
}

/** Copies the stopped survivor's bbolt db (kept on the VM); an existing copy of this run is kept as is. */
export function copySurvivorDb(ts: string): RemoteCommand {
  const p = survivorCopyPath(ts);
  return {
    command: `${cmd.assertEtcdStopped()}; mkdir -p ${cmd.SNAPSHOT_DIR} && { test -s ${shellQuote(p)} || cp -p ${cmd.MEMBER_DIR}/snap/db ${shellQuote(p)}; } && ls -l ${shellQuote(p)}`,
    mutates: true,
    purpose: `copy the survivor's db to ${p} before anything changes it (kept on the VM)`,
  };
}

/** The environment tag of the one run outside monit: found again by it (/proc/<pid>/environ), even without a pidfile. */
export function forcedTag(instanceId: string): string {
  return `BOSH_ETCD_FORCED_NEW_CLUSTER=${cmd.validateInstanceId(instanceId)}`;
}

/** The pids of the run outside monit (the start script and etcd), by their environment tag. */
function forcedPids(instanceId: string): string {
  return `grep -l -s -z -x ${shellQuote(forcedTag(instanceId))} /proc/[0-9]*/environ | cut -d/ -f3`;
}

/**
 * Runs the job's own start script once, as vcap (as bpm does), outside monit, with etcd's
 * ETCD_FORCE_NEW_CLUSTER: every flag is the job's; etcd reads the extra one from its environment.
 */
export function forceNewClusterStart(instanceId: string): RemoteCommand {
  return {
    command: `${cmd.assertEtcdStopped()}; cd / && setsid setpriv --reuid=vcap --regid=vcap --init-groups -- env ETCD_FORCE_NEW_CLUSTER=true ${forcedTag(instanceId)} ${JOB_START_SCRIPT} >>${FORCE_LOG} 2>&1 </dev/null & echo $! > ${FORCE_PIDFILE}; cat ${FORCE_PIDFILE}`,
    mutates: true,
    purpose:
      "run the survivor once as a new one-member cluster: the job's start script with ETCD_FORCE_NEW_CLUSTER=true, outside monit",
  };
}

/** Stops the run outside monit (every process with its tag), waits up to 30 s; fails when something of it survives. */
export function forceNewClusterStop(instanceId: string): RemoteCommand {
  const pids = forcedPids(instanceId);
  return {
    command: `p=$(${pids}); [ -z "$p" ] || kill -TERM $p; for _ in $(seq 1 60); do [ -z "$(${pids})" ] && break; sleep 0.5; done; p=$(${pids}); [ -z "$p" ] || { kill -KILL $p; sleep 1; }; rm -f ${FORCE_PIDFILE}; [ -z "$(${pids})" ] || { echo "the run outside monit is still alive: $(${pids})" >&2; exit 1; }`,
    mutates: true,
    purpose: 'stop the one run of the survivor outside monit',
  };
}

/** Exits 0 while the run outside monit is alive. */
export function forceNewClusterAlive(instanceId: string): RemoteCommand {
  return {
    command: `[ -n "$(${forcedPids(instanceId)})" ]`,
    mutates: false,
    purpose: 'is the run outside monit alive',
  };
}

const LOCAL = `LOCAL=true ${cmd.ETCDCTL} --dial-timeout=2s --command-timeout=5s`;

/** A poll's health check: short timeouts, so a member that turns healthy is seen soon after (the poll asks again). */
export function localHealth(): RemoteCommand {
  return {
    command: `LOCAL=true ${cmd.ETCDCTL} --dial-timeout=1s --command-timeout=3s endpoint health`,
    mutates: false,
    purpose: 'is the local member healthy',
  };
}

export function localMemberList(): RemoteCommand {
  return { command: `${LOCAL} member list -w json`, mutates: false, purpose: 'the member list, from the local member' };
}

export function localStatus(): RemoteCommand {
  return { command: `${LOCAL} endpoint status -w json`, mutates: false, purpose: 'the local member status' };
}

export function localHashKV(rev: bigint): RemoteCommand {
  // hashing a large keyspace on a busy VM takes longer than a read: a timeout would only throw the work away
  return {
    command: `LOCAL=true ${cmd.ETCDCTL} --dial-timeout=2s --command-timeout=60s endpoint hashkv --rev=${BigInt(rev).toString()} -w json`,
    mutates: false,
    purpose: `hashKV of the local member at revision ${rev}`,
  };
}

/**
 * The member list as the survivor's own store has it, from its peer port (`/members`, with the job's
 * peer certificate): answered without a quorum, unlike `member list`.
 */
export function peerMemberList(): RemoteCommand {
  const c = `${cmd.ETCD_JOB_DIR}/config`;
  const script = `source ${cmd.UTILS_SH} >/dev/null 2>&1; curl --http1.1 -sS --max-time 5 --cacert ${c}/peer-ca.crt --cert ${c}/peer.crt --key ${c}/peer.key "\${etcd_peer_address}/members"`;
  return {
    command: `bash -c ${shellQuote(script)}`,
    mutates: false,
    purpose: "the survivor's own member list, from its peer port (answered without a quorum)",
  };
}
