// Running one command on an open ssh2 connection: output collected (and streamed as it arrives),
// a timeout that kills the channel, and drop detection. A command whose connection went away fails
// with SshError('dropped') saying its outcome is unknown, so the caller checks the VM before retrying.
// Plain Node, no `vscode`.
import { Readable } from 'stream';
import { StringDecoder } from 'string_decoder';
import type { Client, ClientChannel } from 'ssh2';
import { ExecOptions, ExecResult, SshError } from './types';
import { buildRemoteCommand } from './keys';

export const DEFAULT_EXEC_TIMEOUT_MS = 120_000;

/** An operation in flight on a connection; failed when the connection drops. */
export interface PendingOp {
  fail(err: SshError): void;
}

/** What the operations on one connection share (VmConnection provides it). */
export interface ChannelContext {
  readonly label: string;
  readonly log: (line: string) => void;
  /** Operations to fail when the connection drops. */
  readonly pending: Set<PendingOp>;
  /** False once `client` is no longer the connection in use (it dropped). */
  isLive(client: Client): boolean;
}

/** ExecResult plus, for binary runs, stdout as bytes (then `stdout` is ''). */
export type RunResult = ExecResult & { stdoutBuf?: Buffer };

export function shorten(cmd: string): string {
  return cmd.length > 120 ? cmd.slice(0, 117) + '…' : cmd;
}

export async function runCommand(
  ctx: ChannelContext,
  client: Client,
  command: string,
  opts: ExecOptions,
  binary: boolean,
): Promise<RunResult> {
  const full = buildRemoteCommand(command, opts);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const started = Date.now();
  const droppedWhileRunning = () =>
    new SshError(
      'dropped',
      `The SSH connection to ${ctx.label} dropped while '${shorten(command)}' was running. Its outcome is unknown: check the VM's state before retrying.`,
    );
  return new Promise((resolve, reject) => {
    let settled = false;
    let channel: ClientChannel | undefined;
    let timer: NodeJS.Timeout | undefined;
    const op: PendingOp = { fail: () => finish(() => reject(droppedWhileRunning())) };
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      ctx.pending.delete(op);
      f();
    };
    ctx.pending.add(op);
    timer = setTimeout(() => {
      finish(() =>
        reject(
          new SshError(
            'timeout',
            `'${shorten(command)}' on ${ctx.label} did not finish within ${Math.round(timeoutMs / 1000)} s; the channel was closed. ` +
              `The command may still have had effects: check the VM before retrying.`,
          ),
        ),
      );
      try {
        channel?.signal('KILL');
      } catch {
        /* best effort */
      }
      try {
        channel?.close();
      } catch {
        /* best effort */
      }
    }, timeoutMs);
    client.exec(full, (err, ch) => {
      if (err) {
        if (!ctx.isLive(client)) {
          return finish(() =>
            reject(
              new SshError(
                'dropped',
                `The SSH connection to ${ctx.label} dropped before '${shorten(command)}' started; it did not run. Retry.`,
              ),
            ),
          );
        }
        return finish(() =>
          reject(new SshError('exec', `Cannot start '${shorten(command)}' on ${ctx.label}: ${err.message}.`)),
        );
      }
      channel = ch;
      if (settled) {
        ch.close();
        return;
      }
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      const outDec = new StringDecoder('utf8');
      const errDec = new StringDecoder('utf8');
      let code: number | null = null;
      let signal: string | null = null;
      let sawExit = false;
      if (opts.stdoutTo) ch.pipe(opts.stdoutTo);
      ch.on('data', (d: Buffer) => {
        if (!opts.stdoutTo) out.push(d);
        if (opts.onStdout) {
          const s = outDec.write(d);
          if (s) opts.onStdout(s);
        }
      });
      ch.stderr.on('data', (d: Buffer) => {
        errOut.push(d);
        if (opts.onStderr) {
          const s = errDec.write(d);
          if (s) opts.onStderr(s);
        }
      });
      ch.on('error', (e: Error) => ctx.log(`ssh: channel error on ${ctx.label}: ${e.message}`));
      ch.on('exit', (c: number | null, sig?: string) => {
        sawExit = true;
        code = typeof c === 'number' ? c : null;
        signal = sig ? String(sig) : null;
      });
      ch.on('close', () => {
        const result = (): RunResult => {
          const stdoutBuf = Buffer.concat(out);
          if (opts.onStdout) {
            const s = outDec.end();
            if (s) opts.onStdout(s);
          }
          if (opts.onStderr) {
            const s = errDec.end();
            if (s) opts.onStderr(s);
          }
          return {
            code,
            signal,
            stdout: binary ? '' : stdoutBuf.toString('utf8'),
            stderr: Buffer.concat(errOut).toString('utf8'),
            durationMs: Date.now() - started,
            stdoutBuf: binary ? stdoutBuf : undefined,
          };
        };
        if (sawExit) return finish(() => resolve(result()));
        // No exit status: either the connection went away (the 'close' of the connection follows
        // shortly) or the server closed the channel without one.
        setTimeout(() => {
          if (!ctx.isLive(client)) finish(() => reject(droppedWhileRunning()));
          else finish(() => resolve(result()));
        }, 50);
      });
      const input = opts.stdin;
      if (input instanceof Readable) {
        input.once('error', (e: Error) => {
          finish(() =>
            reject(
              new SshError('exec', `Reading the input of '${shorten(command)}' on ${ctx.label} failed: ${e.message}.`),
            ),
          );
          try {
            ch.close();
          } catch {
            /* best effort */
          }
        });
        input.pipe(ch);
      } else if (input !== undefined) ch.end(input);
      else ch.end();
    });
  });
}
