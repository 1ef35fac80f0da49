// The local snapshot folder: list (age, size, metadata, verified or not), delete, and the newest
// snapshot of a deployment (for the diagnosis and the health panel). Plain Node, no `vscode`.
import * as fs from 'fs';
import * as path from 'path';
import { metadataPathOf, parseSnapshotFileName, readMetadata, type SnapshotMetadata } from './metadata';
import { verifySnapshot, type VerifyResult } from './verify';

export interface SnapshotEntry {
  /** Absolute path of the .db file. */
  file: string;
  name: string;
  size: number;
  /** When it was taken (metadata; else the file name; else the file's modification time). */
  takenAt: Date;
  ageMs: number;
  /** From the metadata, else from the file name; undefined for a .db that follows neither. */
  deployment?: string;
  revision?: string;
  metadata?: SnapshotMetadata;
  /** Why the metadata beside the file could not be read (absent metadata is not an error). */
  metadataError?: string;
  /** Set when listSnapshots was asked to verify. */
  verification?: VerifyResult;
}

export interface ListOptions {
  deployment?: string;
  /** Verify every file (reads each one whole). Default false. */
  verify?: boolean;
  now?: Date;
}

/** Snapshots (*.db) in dir, newest first. A missing folder lists as empty. */
export async function listSnapshots(dir: string, opts: ListOptions = {}): Promise<SnapshotEntry[]> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const now = (opts.now ?? new Date()).getTime();
  const out: SnapshotEntry[] = [];
  for (const name of names) {
    if (!name.endsWith('.db') || name.startsWith('.')) continue;
    const file = path.resolve(dir, name);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue; // deleted meanwhile
    }
    if (!st.isFile()) continue;
    const { metadata, error } = readMetadata(file);
    const parsed = parseSnapshotFileName(name);
    const takenAt = metadata ? new Date(metadata.takenAt) : (parsed?.takenAt ?? st.mtime);
    const deployment = metadata?.deployment ?? parsed?.deployment;
    if (opts.deployment !== undefined && deployment !== opts.deployment) continue;
    out.push({
      file,
      name,
      size: st.size,
      takenAt,
      ageMs: Math.max(0, now - takenAt.getTime()),
      deployment,
      revision: metadata?.revision ?? parsed?.revision,
      metadata,
      metadataError: error,
    });
  }
  out.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime() || a.name.localeCompare(b.name));
  if (opts.verify) for (const e of out) e.verification = await verifySnapshot(e.file, { metadata: e.metadata });
  return out;
}

/** newestSnapshot's answers by folder and deployment, valid while the folder's modification time is unchanged. */
const newestCache = new Map<string, { dirMtimeMs: number; entry: SnapshotEntry | undefined }>();
/**
 * A listing made this soon after the folder's last change is not cached: file times are coarse (a
 * clock tick), so a change in the same tick right after the listing would leave the time unchanged.
 */
const RACY_MS = 2_000;

/**
 * The newest snapshot of a deployment in dir (by the time it was taken), or undefined. Not
 * verified: the caller shows its age; verify before restoring from it. The diagnosis asks on every
 * poll: the folder is listed again only when its modification time changed (a snapshot saved,
 * deleted or renamed there changes it), otherwise the last answer is given with its age updated.
 */
export async function newestSnapshot(
  dir: string,
  deployment: string,
  now: Date = new Date(),
): Promise<SnapshotEntry | undefined> {
  const key = `${path.resolve(dir)}\0${deployment}`;
  let dirMtimeMs: number | undefined;
  try {
    dirMtimeMs = fs.statSync(dir).mtimeMs;
  } catch {
    newestCache.delete(key); // missing or unreadable: listSnapshots says which
  }
  const hit = newestCache.get(key);
  if (hit && hit.dirMtimeMs === dirMtimeMs && (!hit.entry || fs.existsSync(hit.entry.file)))
    return hit.entry && { ...hit.entry, ageMs: Math.max(0, now.getTime() - hit.entry.takenAt.getTime()) };
  const listedAt = Date.now();
  const entry = (await listSnapshots(dir, { deployment, now }))[0];
  if (dirMtimeMs !== undefined && listedAt - dirMtimeMs > RACY_MS) newestCache.set(key, { dirMtimeMs, entry });
  else newestCache.delete(key);
  return entry;
}

/** Removes a snapshot file and its metadata. Returns the paths removed. */
export function deleteSnapshot(file: string): string[] {
  if (!file.endsWith('.db'))
    throw new Error(`${file} is not a snapshot file (.db): not deleting it. Give the path of a .db snapshot.`);
  const removed: string[] = [];
  for (const p of [file, metadataPathOf(file)]) {
    try {
      fs.unlinkSync(p);
      removed.push(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  if (!removed.length) throw new Error(`${file} does not exist (bosh-etcd snapshot list shows the snapshots).`);
  return removed;
}
