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

/**
 * The newest snapshot of a deployment in dir (by the time it was taken), or undefined. Not
 * verified: the caller shows its age; verify before restoring from it.
 */
export async function newestSnapshot(dir: string, deployment: string): Promise<SnapshotEntry | undefined> {
  return (await listSnapshots(dir, { deployment }))[0];
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
