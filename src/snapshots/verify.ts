// Integrity of a snapshot file without etcdutl. A file from etcd's Snapshot RPC is the bbolt
// database followed by the sha256 of the database bytes (etcd appends it after the last chunk;
// `etcdctl snapshot restore` checks it when the size modulo 512 is 32, the database being whole
// pages). Checked here: that trailing sha256, the sha256 of the whole file recorded in the
// metadata beside it, the bbolt meta pages (magic, version, checksum, size = pages × page size),
// and a full read-only walk of the B+tree for the revision, key count and hash that
// `etcdctl snapshot status` prints. Plain Node, no `vscode`.
import * as crypto from 'crypto';
import * as fs from 'fs';
import { BoltFormatError, BoltReader, type BoltStatus } from './bbolt';
import { readMetadata, type SnapshotMetadata } from './metadata';

export const SHA256_BYTES = 32;

export type VerifyProblem =
  'missing' | 'too-small' | 'no-etcd-hash' | 'etcd-hash-mismatch' | 'metadata-mismatch' | 'not-bbolt' | 'damaged';

export interface VerifyOk {
  ok: true;
  file: string;
  size: number;
  /** sha256 of the whole file (hex). */
  sha256: string;
  /** What `etcdctl snapshot status` would print for it. */
  status: BoltStatus;
  /** The metadata beside the file, when there is one (its size and sha256 matched). */
  metadata?: SnapshotMetadata;
  /** Metadata beside the file that could not be read (the file itself verified without it). */
  metadataError?: string;
}

export interface VerifyFailed {
  ok: false;
  file: string;
  problem: VerifyProblem;
  /** Why it is refused. */
  reason: string;
  /** What the operator can do. */
  advice: string;
}

export type VerifyResult = VerifyOk | VerifyFailed;

const TAKE_ANOTHER = 'Take a new snapshot (bosh-etcd snapshot save) or use another one; do not restore from this file.';

/**
 * Streams the file once: sha256 of everything but the last 32 bytes (etcd's own hash covers that),
 * and of everything — the same running hash, copied before the last 32 bytes go in, so each byte is
 * hashed once. `size` is the file's size when stat'ed; a file that changed size is reported by `size`.
 */
async function hashes(
  file: string,
  size: number,
): Promise<{ whole: string; body: Buffer; trailer: Buffer; size: number }> {
  const body = crypto.createHash('sha256');
  const bodyBytes = size - SHA256_BYTES;
  const tail: Buffer[] = [];
  let read = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const inBody = Math.max(0, Math.min(chunk.length, bodyBytes - read));
    if (inBody) body.update(chunk.subarray(0, inBody));
    if (inBody < chunk.length) tail.push(Buffer.from(chunk.subarray(inBody)));
    read += chunk.length;
  }
  const trailer = Buffer.concat(tail);
  const whole = body.copy().update(trailer).digest('hex');
  return { whole, body: body.digest(), trailer, size: read };
}

/**
 * Verifies a snapshot file. Failures are values with the reason and what to do. `metadata`:
 * the metadata to check against (default: the JSON beside the file, if any).
 */
export async function verifySnapshot(file: string, opts: { metadata?: SnapshotMetadata } = {}): Promise<VerifyResult> {
  const fail = (problem: VerifyProblem, reason: string, advice = TAKE_ANOTHER): VerifyFailed => ({
    ok: false,
    file,
    problem,
    reason,
    advice,
  });
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return fail('missing', `${file} does not exist`, 'Check the path (bosh-etcd snapshot list shows the snapshots).');
  }
  if (!st.isFile()) return fail('missing', `${file} is not a file`, 'Give the path of a .db snapshot file.');
  let metadata = opts.metadata;
  let metadataError: string | undefined;
  if (!metadata) {
    const m = readMetadata(file);
    metadata = m.metadata;
    metadataError = m.error;
  }
  // Cheap checks first: a truncated download is refused without reading it all.
  if (metadata && metadata.size !== st.size)
    return fail(
      'metadata-mismatch',
      `truncated or altered: ${st.size} bytes, but the snapshot was saved with ${metadata.size} bytes`,
    );
  if (st.size < 2 * 512 + SHA256_BYTES) return fail('too-small', `${st.size} bytes is too small for an etcd snapshot`);
  if (st.size % 512 !== SHA256_BYTES)
    return fail(
      'no-etcd-hash',
      `${st.size} bytes is not whole database pages plus etcd's 32-byte sha256: the file is truncated, or it is a copy of a member's db file rather than a snapshot`,
      `${TAKE_ANOTHER} (A copied member/snap/db can only be restored with --skip-hash-check and may miss recent writes.)`,
    );
  const h = await hashes(file, st.size);
  if (h.size !== st.size) return fail('damaged', `${file} changed while it was read; verify it again`);
  if (!h.body.equals(h.trailer))
    return fail(
      'etcd-hash-mismatch',
      `the sha256 etcd appended (${h.trailer.toString('hex')}) does not match the content (${h.body.toString('hex')}): the file was altered or damaged`,
    );
  if (metadata && metadata.sha256 !== h.whole)
    return fail(
      'metadata-mismatch',
      `sha256 ${h.whole} differs from the one recorded when it was saved (${metadata.sha256}): the file was altered`,
    );
  let status: BoltStatus;
  let reader: BoltReader | undefined;
  try {
    reader = BoltReader.open(file, st.size - SHA256_BYTES);
    status = reader.status();
  } catch (e) {
    if (e instanceof BoltFormatError)
      return fail(
        /not a bbolt/.test(e.message) ? 'not-bbolt' : 'damaged',
        e.message.startsWith('not a bbolt') ? e.message : `bbolt database damaged: ${e.message}`,
      );
    throw e;
  } finally {
    reader?.close();
  }
  if (status.totalSize !== st.size - SHA256_BYTES)
    return fail(
      'damaged',
      `the database's meta page says ${status.totalSize} bytes but the file holds ${st.size - SHA256_BYTES} before etcd's sha256`,
    );
  if (!status.buckets.includes('key') || !status.buckets.includes('meta'))
    return fail(
      'not-bbolt',
      `a bbolt database, but not etcd's (buckets: ${status.buckets.join(', ') || 'none'})`,
      'Give the path of a snapshot taken from etcd (bosh-etcd snapshot save or etcdctl snapshot save).',
    );
  return { ok: true, file, size: st.size, sha256: h.whole, status, metadata, metadataError };
}
