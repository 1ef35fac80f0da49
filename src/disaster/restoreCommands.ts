// Every remote command of the restore from a snapshot (BBR style: every master restored from the same
// file, then started together). Values are validated first and quoted, as src/recovery/commands.ts
// does for the member recovery, whose paths and guards are reused. No `vscode` import here.
import { shellQuote } from '../util/shell';
import { compareEtcdVersions, type EtcdVersion, type SnapshotStatusTool } from '../etcd/version';
import {
  assertEtcdStopped,
  DATA_DIR,
  ETCDCTL,
  ETCDUTL,
  MEMBER_DIR,
  SNAPSHOT_DIR,
  STORE_DIR,
  UTILS_SH,
  validateInstanceId,
  validatePeerUrl,
  validateStamp,
  ValidationError,
  type RemoteCommand,
} from '../recovery/commands';

/** The etcd binary of the VM's package (its `--version` says which etcd the cluster runs). */
export const ETCD_BIN = '/var/vcap/packages/etcd/bin/etcd';
/** Written on each master once its data is the restored one: lets a killed run resume. */
export const RESTORE_STATE_FILE = `${STORE_DIR}/etcd-restore.state`;
/**
 * The job starts etcd without `--initial-cluster-token` (test/testbed/harness/templates.ts follows
 * TKGI's start script), so etcd's default token applies; the restore must use the same one.
 */
export const INITIAL_CLUSTER_TOKEN = 'etcd-cluster';
/** `--bump-revision`/`--mark-compacted` of `etcdutl snapshot restore` exist from etcd 3.5.10 on. */
export const BUMP_MIN_VERSION: EtcdVersion = { major: 3, minor: 5, patch: 10, text: '3.5.10' };

/**
 * The tool that reads and restores a snapshot on the VM: etcdutl on 3.5+ where the package ships it,
 * else etcdctl — the choice src/etcd/version.ts's snapshotStatusTool makes.
 */
export type RestoreTool = SnapshotStatusTool;

/** Whether `--bump-revision`/`--mark-compacted` can be offered: etcdutl on the VM and etcd ≥ 3.5.10. */
export function bumpSupported(server: EtcdVersion | undefined, tool: RestoreTool): boolean {
  return !!server && tool === 'etcdutl' && compareEtcdVersions(server, BUMP_MIN_VERSION) >= 0;
}

function validateSha256(sha: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha)) throw new ValidationError(`${JSON.stringify(sha)} is not a sha256 (64 hex digits)`);
  return sha;
}

/** An absolute path on a VM without shell syntax (quoted anyway). */
export function validateRemotePath(p: string): string {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(p) || p.includes('/../') || p.endsWith('/..'))
    throw new ValidationError(`${JSON.stringify(p)} is not an absolute path on the VM (letters, digits, . _ - /)`);
  return p;
}

/** Where an uploaded snapshot lands on every master: named by its content, so a resumed run finds it. */
export function remoteSnapshotPath(sha256: string): string {
  return `${SNAPSHOT_DIR}/restore-${validateSha256(sha256).slice(0, 16)}.db`;
}

/** The scratch data directory `snapshot restore` writes into (fresh, beside the job's). */
export function restoreDirFor(ts: string): string {
  return `${STORE_DIR}/etcd.restore-${validateStamp(ts)}`;
}

/**
 * Read-only: the VM's etcd version, whether it ships etcdutl, the peers as the job's utils.sh computes
 * them, and a restore state file left by an earlier run. Sections as src/util/probeOutput.ts splits them.
 */
export function restoreProbe(): RemoteCommand {
  return {
    command: [
      `echo '### version'`,
      `${ETCD_BIN} --version 2>&1 | head -n 1`,
      `echo '### etcdutl'`,
      `test -x ${ETCDUTL} && echo present`,
      `echo '### peers'`,
      `bash -c 'source ${UTILS_SH} >/dev/null 2>&1; echo "\${etcd_peer_address}"; echo "\${etcd_peers}"'`,
      `echo '### state'`,
      `cat ${RESTORE_STATE_FILE} 2>/dev/null`,
      'true',
    ].join('; '),
    mutates: false,
    purpose: "read the VM's etcd version, its tools, the job's peer list and an unfinished restore",
  };
}

/**
 * Streamed upload: the workstation writes the file to this command's stdin; it lands under a
 * temporary name and is renamed only when complete (mode 0600, root). The bytes are hashed as they
 * arrive (`tee` into `sha256sum`, pipefail: a failed write fails the command), so the sha256 of what
 * the VM received is printed without reading the file a second time.
 */
export function uploadSnapshot(remotePath: string): RemoteCommand {
  const p = validateRemotePath(remotePath);
  const partial = shellQuote(p + '.partial');
  const receive = shellQuote(`set -o pipefail; tee ${partial} | sha256sum`);
  return {
    command: `mkdir -p ${SNAPSHOT_DIR} && umask 077 && sum=$(bash -c ${receive}) && mv -f ${partial} ${shellQuote(p)} && echo "$sum"`,
    mutates: true,
    purpose: 'receive the snapshot from the workstation (streamed) and hash it as it arrives',
  };
}

/** The sha256 a command printed the way `sha256sum` does (`<64 hex>  <name>`); null if none. */
export function parseSha256Sum(stdout: string): string | null {
  return /^([0-9a-f]{64})\s/m.exec(stdout)?.[1] ?? null;
}

export function sha256OnVm(remotePath: string): RemoteCommand {
  return {
    command: `sha256sum ${shellQuote(validateRemotePath(remotePath))}`,
    mutates: false,
    purpose: 'hash the snapshot on the VM (must equal the workstation’s)',
  };
}

/** `snapshot status -w table` of a file on the VM (src/etcd/statusParsers.ts parses it). */
export function snapshotStatusOnVm(remotePath: string, tool: RestoreTool): RemoteCommand {
  return {
    command: `${tool === 'etcdutl' ? ETCDUTL : ETCDCTL} snapshot status ${shellQuote(validateRemotePath(remotePath))} -w table`,
    mutates: false,
    purpose: 'read the snapshot on the VM (revision, keys, hash)',
  };
}

export interface RestoreMember {
  /** BOSH instance UUID = etcd member name. */
  id: string;
  peerUrl: string;
}

export interface Bump {
  /** Added to the snapshot's revision (etcdutl --bump-revision). */
  revision: number;
  /** etcdutl --mark-compacted: every revision up to the bumped one reads as compacted. */
  markCompacted: boolean;
}

export function initialCluster(members: RestoreMember[]): string {
  if (!members.length) throw new ValidationError('no masters to restore');
  return members.map((m) => `${validateInstanceId(m.id)}=${validatePeerUrl(m.peerUrl)}`).join(',');
}

/**
 * `snapshot restore` of one member into a fresh directory (removed first if a killed run of the
 * same timestamp left it half-written: it only ever holds what this command writes).
 */
export function restoreMember(
  snapshot: string,
  self: RestoreMember,
  all: RestoreMember[],
  ts: string,
  tool: RestoreTool,
  bump?: Bump,
): RemoteCommand {
  const dir = restoreDirFor(ts);
  if (bump && tool !== 'etcdutl')
    throw new ValidationError('--bump-revision/--mark-compacted need etcdutl (etcd 3.5.10 or later on the VM)');
  if (bump && (!Number.isSafeInteger(bump.revision) || bump.revision <= 0))
    throw new ValidationError(`--bump-revision ${bump.revision} is not a positive whole number`);
  const args = [
    `snapshot restore ${shellQuote(validateRemotePath(snapshot))}`,
    `--name ${validateInstanceId(self.id)}`,
    `--initial-cluster ${initialCluster(all)}`,
    `--initial-cluster-token ${INITIAL_CLUSTER_TOKEN}`,
    `--initial-advertise-peer-urls ${validatePeerUrl(self.peerUrl)}`,
    `--data-dir ${dir}`,
    ...(bump ? [`--bump-revision ${bump.revision}`, ...(bump.markCompacted ? ['--mark-compacted'] : [])] : []),
  ];
  return {
    command: `rm -rf ${dir} && ${tool === 'etcdutl' ? ETCDUTL : ETCDCTL} ${args.join(' ')}`,
    mutates: true,
    purpose: `restore this member (${self.id}) from the snapshot into ${dir}`,
  };
}

/**
 * Puts the restored member/ in place of the (already moved aside) data, gives it to vcap, and
 * records that this master is done for this snapshot and run, in one command (guarded: etcd must be stopped).
 */
export function installRestored(ts: string, sha256: string): RemoteCommand {
  const dir = restoreDirFor(ts);
  const state = `ts=${validateStamp(ts)} sha256=${validateSha256(sha256)} phase=restored`;
  return {
    command: `${assertEtcdStopped()}; set -e; mkdir -p ${DATA_DIR}; test ! -e ${MEMBER_DIR}; mv ${dir}/member ${MEMBER_DIR}; rmdir ${dir}; chown -R vcap:vcap ${DATA_DIR}; chmod 0700 ${DATA_DIR}; echo '${state}' > ${RESTORE_STATE_FILE}`,
    mutates: true,
    purpose: `put the restored data in ${DATA_DIR} (owner vcap) and record it`,
  };
}

export function removeRestoreState(): RemoteCommand {
  return { command: `rm -f ${RESTORE_STATE_FILE}`, mutates: true, purpose: 'clear the restore-in-progress record' };
}

/** A restore state file's content (restoreProbe's `state` section); null when absent or unreadable. */
export function parseRestoreState(text: string | undefined): { ts: string; sha256: string; phase: string } | null {
  const m = /^ts=([0-9]{8}T[0-9]{6}Z) sha256=([0-9a-f]{64}) phase=([a-z-]+)\s*$/m.exec(text ?? '');
  return m ? { ts: m[1], sha256: m[2], phase: m[3] } : null;
}
