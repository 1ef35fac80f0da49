// Take a snapshot of a deployment's etcd from one healthy member (a follower when there is one, so
// the leader keeps serving), streamed over the session's tunnel straight into a file: chunks are
// hashed and written as they arrive, with backpressure down to the gRPC call, so memory stays at a
// few chunks whatever the database size. The file appears under its final name only when it is
// complete, its trailing sha256 (appended by etcd) matches and it reads as an etcd bbolt database;
// a failed or cancelled save leaves nothing but what it removed. Plain Node, no `vscode`.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';
import type { DeploymentSession } from '../session/types';
import type { EndpointStatus, EtcdCluster } from '../etcd/types';
import { EtcdError } from '../etcd/types';
import { CancelledError } from '../util/cancel';
import { BoltFormatError, BoltReader } from './bbolt';
import {
  METADATA_FORMAT,
  metadataPathOf,
  snapshotFileName,
  writeFileAtomic,
  defaultSnapshotDir,
  safeName,
  type SnapshotMetadata,
} from './metadata';
import { SHA256_BYTES } from './verify';

export type SnapshotErrorKind = 'config' | 'unhealthy' | 'stream' | 'integrity' | 'io';

export class SnapshotError extends Error {
  constructor(
    readonly kind: SnapshotErrorKind,
    message: string,
    readonly advice: string,
  ) {
    super(message);
    this.name = 'SnapshotError';
  }
}

export interface SaveProgress {
  /** Bytes received from etcd so far. */
  received: number;
  /** Bytes written to the file so far. */
  written: number;
  /** Expected total (the member's database size plus etcd's 32-byte sha256), when known. */
  total?: number;
}

export interface SaveSnapshotOptions {
  /** Folder for the snapshot and its metadata (created 0700 if missing). Default ~/.bosh-etcd/snapshots. */
  dir?: string;
  /** Take it from this member: 'master/<uuid>', '<uuid>' or its client URL. Default: a healthy follower. */
  member?: string;
  signal?: AbortSignal;
  onProgress?: (p: SaveProgress) => void;
  /** Give up when etcd sends nothing for this long (default 60 s). */
  idleTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface SavedSnapshot {
  file: string;
  metadataFile: string;
  metadata: SnapshotMetadata;
}

interface Candidate {
  name: string;
  url: string;
  status: EndpointStatus;
}

function instanceIdOf(ref: string): string {
  return ref.includes('/') && !/^https?:/.test(ref) ? ref.slice(ref.indexOf('/') + 1) : ref;
}

/** The member to stream from: the one asked for (if healthy), else a healthy follower, else the leader. */
async function pickMember(cluster: EtcdCluster, wanted: string | undefined): Promise<Candidate> {
  const [statuses, health] = await Promise.all([cluster.status(), cluster.health()]);
  const candidates: Candidate[] = [];
  const problems: string[] = [];
  for (const ep of cluster.endpoints) {
    const st = statuses.find((s) => s.endpoint === ep.url);
    const h = health.find((x) => x.endpoint === ep.url);
    const label = `${ep.name} (${ep.url})`;
    if (!st?.ok) problems.push(`${label}: ${st && !st.ok ? st.error : 'no status'}`);
    else if (!h?.ok || !h.value.healthy)
      problems.push(`${label}: unhealthy: ${h?.ok ? (h.value.error ?? 'unhealthy') : (h?.error ?? 'no answer')}`);
    else if (st.value.errors.length) problems.push(`${label}: ${st.value.errors.join('; ')}`);
    else if (st.value.isLearner) problems.push(`${label}: a learner (not caught up by definition)`);
    else candidates.push({ name: ep.name, url: ep.url, status: st.value });
  }
  if (wanted) {
    const id = instanceIdOf(wanted);
    const ep = cluster.endpoints.find((e) => e.name === id || e.url === wanted);
    if (!ep)
      throw new SnapshotError(
        'config',
        `No etcd member ${wanted} in this deployment (members: ${cluster.endpoints.map((e) => e.name).join(', ')}).`,
        'Give --member master/<uuid> of a master (bosh -d <deployment> instances), or leave it out to pick a healthy follower.',
      );
    const c = candidates.find((x) => x.url === ep.url);
    if (!c)
      throw new SnapshotError(
        'unhealthy',
        `Member ${wanted} cannot be snapshotted: ${problems.find((p) => p.startsWith(ep.name)) ?? 'not healthy'}.`,
        'Leave out --member to take it from a healthy member, or check the member (bosh-etcd status).',
      );
    return c;
  }
  const followers = candidates.filter((c) => c.status.leader !== c.status.memberId);
  const pick = followers[0] ?? candidates[0];
  if (!pick)
    throw new SnapshotError(
      'unhealthy',
      `No healthy etcd member to take a snapshot from. ${problems.join(' | ')}`,
      'Check the members with bosh-etcd status; a snapshot needs at least one healthy member of a cluster with quorum.',
    );
  return pick;
}

/** Passes chunks through while hashing them: sha256 of all, and of all but the last 32 bytes (etcd's trailer). */
class HashingCounter extends Transform {
  readonly whole = crypto.createHash('sha256');
  readonly body = crypto.createHash('sha256');
  tail = Buffer.alloc(0);
  received = 0;
  lastChunkAt = Date.now();
  constructor(private readonly onChunk: () => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null, d?: Buffer) => void) {
    this.lastChunkAt = Date.now();
    this.received += chunk.length;
    this.whole.update(chunk);
    const joined = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const keep = Math.min(SHA256_BYTES, joined.length);
    this.body.update(joined.subarray(0, joined.length - keep));
    this.tail = Buffer.from(joined.subarray(joined.length - keep));
    done(null, chunk);
    this.onChunk();
  }
}

/**
 * Streams a snapshot of the deployment's etcd to `<dir>/<deployment>-<timestamp>-rev<revision>.db`
 * (mode 0600) with `<…>.json` metadata beside it. Throws SnapshotError (what failed and what to do),
 * CancelledError when opts.signal aborts, or EtcdError when the cluster cannot be reached.
 */
export async function saveSnapshot(session: DeploymentSession, opts: SaveSnapshotOptions = {}): Promise<SavedSnapshot> {
  const log = opts.log ?? (() => undefined);
  const dir = path.resolve(opts.dir ?? defaultSnapshotDir());
  const cancelled = () => {
    if (opts.signal?.aborted) throw new CancelledError('Snapshot cancelled: no file was kept.');
  };
  cancelled();
  const cluster = await session.etcd();
  cancelled();
  const member = await pickMember(cluster, opts.member);
  cancelled();
  log(`snapshot: streaming from ${member.name} (${member.url}, member ${member.status.memberId})`);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new SnapshotError(
      'io',
      `Cannot create the snapshot folder ${dir}: ${(e as Error).message}`,
      'Give a writable folder with --dir.',
    );
  }
  const takenAt = new Date();
  const tmp = path.join(
    dir,
    `.${safeName(session.deployment)}-${takenAt.getTime()}-${process.pid}-${crypto.randomBytes(4).toString('hex')}.db.partial`,
  );
  const total = member.status.dbSize ? member.status.dbSize + SHA256_BYTES : undefined;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let idle = false;
  let out: fs.WriteStream | undefined;
  const counter = new HashingCounter(() =>
    opts.onProgress?.({ received: counter.received, written: out?.bytesWritten ?? 0, total }),
  );
  const watchdog = setInterval(
    () => {
      if (Date.now() - counter.lastChunkAt > idleTimeoutMs) {
        idle = true;
        stop.abort();
      }
    },
    Math.min(1000, idleTimeoutMs),
  );
  try {
    const source = await cluster.snapshot(member.url, { signal: stop.signal });
    out = fs.createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
    await pipeline(source, counter, out, { signal: stop.signal });
    const fd = fs.openSync(tmp, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if (idle)
      throw new SnapshotError(
        'stream',
        `The snapshot stream from ${member.name} stalled (nothing for ${Math.round(idleTimeoutMs / 1000)} s); no file was kept.`,
        'Check the member (bosh-etcd status) and the network path, then take the snapshot again.',
      );
    if (opts.signal?.aborted) throw new CancelledError('Snapshot cancelled: no file was kept.');
    if (e instanceof EtcdError)
      throw new SnapshotError(
        'stream',
        `The snapshot stream from ${member.name} failed: ${e.message} No file was kept.`,
        'Take the snapshot again (another member with --member if this one keeps failing).',
      );
    throw new SnapshotError(
      'io',
      `Writing the snapshot to ${dir} failed: ${(e as Error).message}. No file was kept.`,
      'Check the free space and permissions of the folder (or give another one with --dir), then take it again.',
    );
  } finally {
    clearInterval(watchdog);
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
  const durationMs = Date.now() - takenAt.getTime();
  try {
    const size = counter.received;
    const bodySha = counter.body.digest();
    if (size < SHA256_BYTES || !bodySha.equals(counter.tail))
      throw new SnapshotError(
        'integrity',
        `The snapshot from ${member.name} is incomplete or damaged (${size} bytes; its trailing sha256 does not match the content). No file was kept.`,
        'Take the snapshot again.',
      );
    let reader: BoltReader | undefined;
    let bolt;
    try {
      reader = BoltReader.open(tmp, size - SHA256_BYTES);
      bolt = reader.status();
    } catch (e) {
      if (e instanceof BoltFormatError)
        throw new SnapshotError(
          'integrity',
          `The snapshot from ${member.name} is not a readable etcd database: ${e.message}. No file was kept.`,
          'Take the snapshot again, from another member with --member if it repeats.',
        );
      throw e;
    } finally {
      reader?.close();
    }
    const after = (await cluster.status()).find((s) => s.endpoint === member.url);
    const metadata: SnapshotMetadata = {
      format: METADATA_FORMAT,
      file: snapshotFileName(session.deployment, takenAt, bolt.revision),
      clusterId: member.status.clusterId ?? (await cluster.clusterId()),
      deployment: session.deployment,
      environment: session.env.name,
      member: { name: member.name, id: member.status.memberId, endpoint: member.url },
      revision: bolt.revision,
      statusRevisionBefore: member.status.revision,
      statusRevisionAfter: after?.ok ? after.value.revision : undefined,
      etcdVersion: member.status.version,
      size,
      sha256: counter.whole.digest('hex'),
      totalKeys: bolt.totalKeys,
      hash: bolt.hash,
      takenAt: takenAt.toISOString(),
      durationMs,
    };
    const file = path.join(dir, metadata.file);
    const metadataFile = metadataPathOf(file);
    if (fs.existsSync(file))
      throw new SnapshotError('io', `${file} already exists; not replacing it.`, 'Take the snapshot again.');
    // Metadata first, the .db last: a .db under its final name always has its metadata beside it.
    writeFileAtomic(metadataFile, JSON.stringify(metadata, null, 2) + '\n');
    try {
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(metadataFile, { force: true });
      throw e;
    }
    log(`snapshot: ${file} (${size} bytes, revision ${bolt.revision})`);
    return { file, metadataFile, metadata };
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
