// An interactive shell on a VM (like `bosh ssh`) in a VS Code terminal: a Pseudoterminal over
// RemoteHost.shell (a PTY channel of the session's ssh2 connection). setDimensions resizes the
// remote PTY; closing the terminal ends the channel.
import * as vscode from 'vscode';
import type { RemoteHost, ShellChannel } from '../ssh/types';
import { explainError, explainForOperator } from '../util/errors';

export class SshPseudoterminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  channel?: ShellChannel;
  private closed = false;
  private failed = false;
  /** Resolves when the shell is open (or failed). */
  readonly ready: Promise<boolean>;
  private resolveReady!: (ok: boolean) => void;

  constructor(
    private readonly label: string,
    private readonly connect: () => Promise<RemoteHost>,
  ) {
    this.ready = new Promise((r) => (this.resolveReady = r));
  }

  open(dims: vscode.TerminalDimensions | undefined): void {
    this.writeEmitter.fire(`\x1b[2mConnecting to ${this.label}…\x1b[0m\r\n`);
    void this.start(dims?.columns ?? 120, dims?.rows ?? 30);
  }

  private async start(cols: number, rows: number): Promise<void> {
    try {
      const host = await this.connect();
      const ch = await host.shell({ cols, rows, term: 'xterm-256color' });
      if (this.closed) {
        ch.close();
        this.resolveReady(false);
        return;
      }
      this.channel = ch;
      ch.onData((d) => this.writeEmitter.fire(d));
      ch.onClose((code) => {
        if (this.closed) return;
        this.closed = true;
        this.writeEmitter.fire(
          `\r\n\x1b[2m[shell on ${this.label} ended${code !== null ? ` with exit code ${code}` : ''}]\x1b[0m\r\n`,
        );
        this.closeEmitter.fire(code ?? undefined);
      });
      this.resolveReady(true);
    } catch (e) {
      const x = explainError(e, `opening a shell on ${this.label}`);
      this.failed = true;
      this.writeEmitter.fire(
        `\x1b[31m${explainForOperator(e, `opening a shell on ${this.label}`)}\x1b[0m\r\n\x1b[2m${x.detail.replace(/\n/g, '\r\n')}\x1b[0m\r\nPress any key to close this terminal.\r\n`,
      );
      this.resolveReady(false);
    }
  }

  handleInput(data: string): void {
    if (this.failed) {
      this.close();
      this.closeEmitter.fire(1);
      return;
    }
    this.channel?.write(data);
  }

  setDimensions(d: vscode.TerminalDimensions): void {
    this.channel?.resize(d.columns, d.rows);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel?.close();
  }
}
