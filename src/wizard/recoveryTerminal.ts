// The Pseudoterminal a recovery or a maintenance run (defragmentation, NOSPACE) runs in: shows each
// command exactly as run and its output, as text rendered from the run's events (eventText.ts,
// maintenanceText.ts). Closing it aborts the run before the next command.
import * as vscode from 'vscode';
import type { RunSink } from './wizardTypes';

export class RecoveryTerminal implements vscode.Pseudoterminal, RunSink {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private opened = false;
  private buffer: string[] = [];
  private readonly closeCbs: (() => void)[] = [];
  /** Everything written (tests and e2e read it). */
  text = '';
  done?: string;

  write(text: string): void {
    this.text += text;
    if (this.opened) this.writeEmitter.fire(text);
    else this.buffer.push(text);
  }

  open(): void {
    this.opened = true;
    for (const t of this.buffer) this.writeEmitter.fire(t);
    this.buffer = [];
  }

  onClose(cb: () => void): void {
    this.closeCbs.push(cb);
  }

  finished(outcome: string): void {
    this.done = outcome;
    this.write('\r\n\x1b[2m(The run has ended. This terminal stays open for reading; close it when done.)\x1b[0m\r\n');
  }

  handleInput(): void {
    /* read-only */
  }

  close(): void {
    for (const cb of this.closeCbs) cb();
  }
}
