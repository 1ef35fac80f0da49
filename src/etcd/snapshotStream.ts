// A member's backend as a byte stream (etcd's Snapshot call), with backpressure and cancellation.
// Plain Node, no `vscode`.
import { Readable, Transform } from 'stream';
import { CancelledError } from '../util/cancel';
import { toEtcdError } from './errors';
import type { MemberPool } from './memberPool';

/** The member's backend, streamed; ends with etcd's sha256 of it. Aborting the signal cancels the call. */
export async function snapshotStream(
  pool: MemberPool,
  endpointUrl: string,
  opts: { signal?: AbortSignal } = {},
): Promise<NodeJS.ReadableStream> {
  pool.check();
  const m = pool.member(endpointUrl);
  let call: Readable & { cancel(): void };
  try {
    call = (await m.client.maintenance.snapshot()) as unknown as Readable & { cancel(): void };
  } catch (e) {
    throw toEtcdError(e, `snapshot of ${m.ep.url}`);
  }
  // pipe() pauses the gRPC stream while the consumer is behind: never more than a few chunks in memory.
  const out = new Transform({
    writableObjectMode: true,
    transform(d: { blob?: Uint8Array }, _enc, done) {
      if (!d.blob?.length) return done();
      done(null, Buffer.isBuffer(d.blob) ? d.blob : Buffer.from(d.blob));
    },
  });
  call.on('error', (e) => out.destroy(toEtcdError(e, `snapshot of ${m.ep.url}`)));
  out.on('close', () => {
    if (!out.writableFinished) call.cancel();
  });
  const onAbort = () => out.destroy(new CancelledError('Snapshot cancelled'));
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  out.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
  call.pipe(out);
  return out;
}
