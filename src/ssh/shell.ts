// An interactive PTY shell on an SSH connection, as the ShellChannel the terminals use.
// Plain Node, no `vscode`.
import { StringDecoder } from 'string_decoder';
import type { Client } from 'ssh2';
import { ShellChannel, ShellOptions, SshError } from './types';
import type { ChannelContext } from './exec';

export function openShell(ctx: ChannelContext, client: Client, opts: ShellOptions): Promise<ShellChannel> {
  return new Promise<ShellChannel>((resolve, reject) => {
    client.shell(
      { cols: opts.cols, rows: opts.rows, term: opts.term ?? 'xterm-256color', height: 0, width: 0 },
      (err, ch) => {
        if (err) return reject(new SshError('exec', `Cannot open a shell on ${ctx.label}: ${err.message}.`));
        let exitCode: number | null = null;
        const dataCbs: ((d: string) => void)[] = [];
        const closeCbs: ((c: number | null) => void)[] = [];
        const dec = new StringDecoder('utf8');
        const edec = new StringDecoder('utf8');
        ch.on('data', (d: Buffer) => {
          const s = dec.write(d);
          if (s) dataCbs.forEach((cb) => cb(s));
        });
        ch.stderr.on('data', (d: Buffer) => {
          const s = edec.write(d);
          if (s) dataCbs.forEach((cb) => cb(s));
        });
        ch.on('exit', (c: number | null) => {
          exitCode = typeof c === 'number' ? c : null;
        });
        ch.on('error', (e: Error) => ctx.log(`ssh: shell on ${ctx.label}: ${e.message}`));
        ch.on('close', () => closeCbs.forEach((cb) => cb(exitCode)));
        resolve({
          write: (data) => {
            ch.write(data);
          },
          resize: (cols, rows) => {
            ch.setWindow(rows, cols, 0, 0);
          },
          onData: (cb) => {
            dataCbs.push(cb);
          },
          onClose: (cb) => {
            closeCbs.push(cb);
          },
          close: () => {
            ch.close();
          },
        });
      },
    );
  });
}
