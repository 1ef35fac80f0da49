// The SSH layer's contract. No `vscode` import here.
import type { Duplex, Readable, Writable } from 'stream';

export interface ExecOptions {
  /** Run under `sudo -n` (as root). */
  sudo?: boolean;
  /** Kill the channel and fail after this many ms (default 120 000). */
  timeoutMs?: number;
  /** Streaming output, as it arrives (the terminal shows it). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /**
   * Written to the command's stdin, then EOF. A stream is piped with backpressure (never read whole
   * into memory); an error reading it fails the command.
   */
  stdin?: string | Buffer | Readable;
  /**
   * stdout is piped into this stream (with backpressure; ended with the output) instead of being
   * collected: ExecResult.stdout is then ''. For large binary output (a file read with sudo cat).
   */
  stdoutTo?: Writable;
  /** Environment variables exported for the command (added as `export K=V;` in front, quoted). */
  env?: Record<string, string>;
}

export interface ExecResult {
  /** Exit code; null when the command ended by a signal or the channel dropped. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface ShellOptions {
  cols: number;
  rows: number;
  term?: string;
}

/** An interactive PTY shell channel (for Pseudoterminals). */
export interface ShellChannel {
  write(data: string): void;
  resize(cols: number, rows: number): void;
  onData(cb: (data: string) => void): void;
  onClose(cb: (code: number | null) => void): void;
  close(): void;
}

export interface PortForward {
  /** 127.0.0.1:<localPort> on the workstation reaches remoteHost:remotePort as seen from the SSH server. */
  readonly localPort: number;
  close(): Promise<void>;
}

/** One connected VM (one ssh2 connection, reused). */
export interface RemoteHost {
  /** e.g. 'master/8d1f…' — used in terminal prompts and transcripts. */
  readonly label: string;
  /** Address we connected to. */
  readonly address: string;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  readFile(path: string, opts?: { sudo?: boolean }): Promise<Buffer>;
  forward(remoteHost: string, remotePort: number): Promise<PortForward>;
  /** A raw duplex stream to remoteHost:remotePort through this connection (for chaining connections). */
  openStream(remoteHost: string, remotePort: number): Promise<Duplex>;
  shell(opts: ShellOptions): Promise<ShellChannel>;
  dispose(): Promise<void>;
}

/** Failure of the SSH layer. `kind` says what the operator should check. */
export class SshError extends Error {
  constructor(
    public readonly kind:
      | 'connect'
      | 'auth'
      | 'hostkey-changed'
      | 'hostkey-unknown'
      | 'timeout'
      | 'dropped'
      | 'exec'
      | 'forward'
      | 'config',
    message: string,
  ) {
    super(message);
    this.name = 'SshError';
  }
}
