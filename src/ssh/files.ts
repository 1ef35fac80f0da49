// Reading a file from a VM: over SFTP as the SSH user first, then `sudo cat` when that is refused
// (etcd's client keys are root:vcap 0640, unreadable to a Director-provisioned user).
// Plain Node, no `vscode`.
import type { Client } from 'ssh2';
import { SshError } from './types';
import { shellQuote } from '../util/shell';
import { ChannelContext, PendingOp, runCommand } from './exec';

/** `connect` returns the live client (reconnecting if the connection dropped). */
export async function readRemoteFile(
  ctx: ChannelContext,
  connect: () => Promise<Client>,
  path: string,
  opts: { sudo?: boolean } = {},
): Promise<Buffer> {
  if (!opts.sudo) {
    try {
      return await sftpReadFile(ctx, await connect(), path);
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (e instanceof SshError) throw e;
      if (code === 2) throw new SshError('exec', `${path} does not exist on ${ctx.label}.`);
      // 3 = permission denied; other failures: try sudo too.
      ctx.log(`ssh: sftp read of ${path} on ${ctx.label} failed (${(e as Error).message}); trying sudo cat`);
    }
  }
  const r = await runCommand(
    ctx,
    await connect(),
    `cat -- ${shellQuote(path)}`,
    { sudo: true, timeoutMs: 60_000 },
    true,
  );
  if (r.code !== 0) {
    throw new SshError(
      'exec',
      `Cannot read ${path} on ${ctx.label}: sudo cat exited ${r.code ?? r.signal}: ${r.stderr.trim()}. ` +
        `The SSH user needs passwordless sudo (Director-provisioned users have it).`,
    );
  }
  return r.stdoutBuf ?? Buffer.alloc(0);
}

/** Rejects with the SFTP status error (`code` 2 = no such file, 3 = permission denied) or SshError('dropped'). */
function sftpReadFile(ctx: ChannelContext, client: Client, path: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const op: PendingOp = { fail: (err) => reject(err) };
    ctx.pending.add(op);
    client.sftp((err, sftp) => {
      if (err) {
        ctx.pending.delete(op);
        return reject(err);
      }
      sftp.readFile(path, (e: Error | null | undefined, buf: Buffer) => {
        ctx.pending.delete(op);
        sftp.end();
        if (e) reject(e);
        else resolve(buf);
      });
    });
  });
}
