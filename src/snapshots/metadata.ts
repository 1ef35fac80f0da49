// The metadata JSON saved beside each snapshot file, and the file names. Plain Node, no `vscode`.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expandHome } from '../bosh/config/common';

export const METADATA_FORMAT = 1;

export interface SnapshotMetadata {
  format: typeof METADATA_FORMAT;
  /** File name of the snapshot (beside this metadata). */
  file: string;
  /** Cluster id (hex, as etcdctl prints it). */
  clusterId: string;
  deployment: string;
  /** BOSH environment name (as in ~/.bosh/config or BOSH_ENVIRONMENT). */
  environment: string;
  /** The member the snapshot was streamed from: name = instance UUID, id = etcd member id (hex). */
  member: { name: string; id: string; endpoint: string };
  /**
   * The revision the snapshot holds: read from the file (the highest revision in etcd's "key"
   * bucket, as `etcdctl snapshot status` reports it). etcd's Snapshot stream carries no response
   * header, so the member's status revisions just before and after the stream are kept too.
   */
  revision: string;
  statusRevisionBefore?: string;
  statusRevisionAfter?: string;
  /** etcd server version of the member. */
  etcdVersion: string;
  /** Bytes of the snapshot file (database plus etcd's 32-byte sha256). */
  size: number;
  /** sha256 (hex) of the whole file. */
  sha256: string;
  /** Total keys and CRC-32C hash as `etcdctl snapshot status` prints them. */
  totalKeys: number;
  hash: number;
  /** ISO time the stream started. */
  takenAt: string;
  durationMs: number;
}

export function defaultSnapshotDir(): string {
  return path.join(os.homedir(), '.bosh-etcd', 'snapshots');
}

/** The snapshot folder a setting or variable names (`~` expanded), the default one when empty. */
export function snapshotDirFrom(setting: string | undefined): string {
  return setting ? expandHome(setting, os.homedir()) : defaultSnapshotDir();
}

/** `x.db` → `x.json`. */
export function metadataPathOf(snapshotFile: string): string {
  return snapshotFile.replace(/\.db$/, '') + '.json';
}

/** 2026-12-01T03:51:03.123Z → 20261201T035103Z (sortable, safe in file names). */
export function compactTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** File-name-safe form of a deployment name. */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** `<deployment>-<timestamp>-rev<revision>.db` */
export function snapshotFileName(deployment: string, takenAt: Date, revision: string): string {
  return `${safeName(deployment)}-${compactTimestamp(takenAt)}-rev${revision}.db`;
}

/** Parses a snapshot file name back (for files without metadata). */
export function parseSnapshotFileName(
  name: string,
): { deployment: string; takenAt: Date; revision: string } | undefined {
  const m = /^(.+)-(\d{8})T(\d{6})Z-rev(\d+)\.db$/.exec(name);
  if (!m) return undefined;
  const [d, t] = [m[2], m[3]];
  const takenAt = new Date(
    `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${t.slice(0, 2)}:${t.slice(2, 4)}:${t.slice(4, 6)}Z`,
  );
  return { deployment: m[1], takenAt, revision: m[4] };
}

function isMetadata(x: unknown): x is SnapshotMetadata {
  const m = x as SnapshotMetadata;
  return (
    !!m &&
    typeof m === 'object' &&
    m.format === METADATA_FORMAT &&
    typeof m.sha256 === 'string' &&
    typeof m.size === 'number' &&
    typeof m.deployment === 'string' &&
    typeof m.revision === 'string'
  );
}

/** The metadata beside a snapshot file: absent (no error), or unreadable (error says why). */
export function readMetadata(snapshotFile: string): { metadata?: SnapshotMetadata; error?: string } {
  const p = metadataPathOf(snapshotFile);
  let text: string;
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return { error: `cannot read ${p}: ${(e as Error).message}` };
  }
  try {
    const m: unknown = JSON.parse(text);
    if (!isMetadata(m)) return { error: `${p} is not snapshot metadata of format ${METADATA_FORMAT}` };
    return { metadata: m };
  } catch (e) {
    return { error: `${p} is not valid JSON: ${(e as Error).message}` };
  }
}

/** Writes `content` to `file` with mode 0600 through a temporary file and a rename. */
export function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.partial-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeFileSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
