// The machinery both maintenance flows share: events (to the caller and the transcript), visible
// remote commands (sudo, output streamed), polling with a deadline, cancellation. Modelled on the
// recovery engine's run (src/recovery/engine.ts). No `vscode` import here.
import type { DeploymentSession } from '../session/types';
import type { ExecResult, RemoteHost } from '../ssh/types';
import { CancelledError } from '../util/cancel';
import { pause } from '../util/async';
import { MaintenanceTranscript } from './transcript';
import type { MaintenanceCommand, MaintenanceEvent, MaintenanceOutcome, MaintenanceStep } from './types';

export const RESUME_ADVICE =
  'Fix the cause, then run it again: it reads the sizes again and skips the members already defragmented.';

/** A step failed: what failed, and what the operator should do. */
export class MaintenanceStepError extends Error {
  constructor(
    message: string,
    readonly advice: string,
  ) {
    super(message);
    this.name = 'MaintenanceStepError';
  }
}

export class MaintenanceRun {
  step: MaintenanceStep = 'precheck';
  readonly transcript: MaintenanceTranscript | null;
  private readonly hosts = new Map<string, RemoteHost>();

  constructor(
    readonly session: DeploymentSession,
    readonly opts: {
      flow: 'defrag' | 'recover-nospace';
      dryRun?: boolean;
      signal?: AbortSignal;
      transcriptDir?: string;
      onEvent?: (e: MaintenanceEvent) => void;
    },
  ) {
    this.transcript = opts.transcriptDir
      ? new MaintenanceTranscript(opts.transcriptDir, {
          flow: opts.flow,
          deployment: session.deployment,
          dryRun: !!opts.dryRun,
          started: new Date(),
        })
      : null;
  }

  time(): string {
    return new Date().toISOString();
  }

  emit(e: MaintenanceEvent): void {
    this.transcript?.record(e);
    try {
      this.opts.onEvent?.(e);
    } catch {
      /* a UI callback must not break the run */
    }
  }

  info(message: string): void {
    this.emit({ type: 'info', time: this.time(), step: this.step, message });
  }

  check(name: string, ok: boolean, detail: string): boolean {
    this.emit({ type: 'check', time: this.time(), step: this.step, name, ok, detail });
    return ok;
  }

  checkAbort(): void {
    if (this.opts.signal?.aborted) throw new CancelledError();
  }

  /** Emits the 'done' event, writes the transcript and returns its path. */
  finish(outcome: MaintenanceOutcome, message: string): string | null {
    const transcriptPath = this.transcript?.path ?? null;
    this.emit({ type: 'done', time: this.time(), outcome, message, transcriptPath: transcriptPath ?? '' });
    this.transcript?.write();
    return transcriptPath;
  }

  private async host(label: string): Promise<RemoteHost> {
    let h = this.hosts.get(label);
    if (!h) {
      try {
        h = await this.session.ssh(label);
      } catch (e) {
        throw new MaintenanceStepError(
          `could not connect to ${label} over SSH: ${(e as Error).message}`,
          `Check SSH access to ${label} (bosh -d ${this.session.deployment} ssh ${label}). ${RESUME_ADVICE}`,
        );
      }
      this.hosts.set(label, h);
    }
    return h;
  }

  /** Shows a command that is not run (dry run). */
  showOnly(c: MaintenanceCommand, why: string): void {
    this.emit({ type: 'command', time: this.time(), step: this.step, ...c, skipped: why });
  }

  /**
   * Runs one visible command (sudo) on a VM, streaming its output. A non-zero exit throws unless
   * allowFail. A changing command in a dry run is a bug and throws before anything is sent.
   */
  async exec(c: MaintenanceCommand, o: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<ExecResult> {
    this.checkAbort();
    if (this.opts.dryRun && c.mutates) throw new Error(`BUG: dry run tried to run a changing command: ${c.command}`);
    const host = await this.host(c.host);
    this.checkAbort();
    const step = this.step;
    this.emit({ type: 'command', time: this.time(), step, ...c });
    const started = Date.now();
    let r: ExecResult;
    try {
      r = await host.exec(c.command, {
        sudo: true,
        timeoutMs: o.timeoutMs ?? 120_000,
        onStdout: (text) =>
          this.emit({ type: 'output', time: this.time(), step, host: c.host, stream: 'stdout', text }),
        onStderr: (text) =>
          this.emit({ type: 'output', time: this.time(), step, host: c.host, stream: 'stderr', text }),
      });
    } catch (e) {
      this.emit({
        type: 'command-done',
        time: this.time(),
        step,
        host: c.host,
        command: c.command,
        exitCode: null,
        signal: null,
        durationMs: Date.now() - started,
      });
      if (o.allowFail)
        return { code: null, signal: null, stdout: '', stderr: (e as Error).message, durationMs: Date.now() - started };
      throw new MaintenanceStepError(
        `\`${c.command}\` on ${c.host} failed: ${(e as Error).message}`,
        `Check the SSH connection to ${c.host}. ${RESUME_ADVICE}`,
      );
    }
    this.emit({
      type: 'command-done',
      time: this.time(),
      step,
      host: c.host,
      command: c.command,
      exitCode: r.code,
      signal: r.signal,
      durationMs: r.durationMs,
    });
    if (r.code !== 0 && !o.allowFail)
      throw new MaintenanceStepError(
        `\`${c.command}\` on ${c.host} exited with ${r.code ?? `signal ${r.signal}`}: ${r.stderr.trim() || r.stdout.trim() || '(no output)'}`,
        RESUME_ADVICE,
      );
    return r;
  }

  /**
   * Runs a read-only command without streaming, then emits it with its output as one block (so that
   * several can run in parallel and still read in order in the terminal).
   */
  async execReadOnlyBlock(c: MaintenanceCommand, timeoutMs = 30_000): Promise<() => ExecResult> {
    if (c.mutates) throw new Error(`BUG: not a read-only command: ${c.command}`);
    this.checkAbort();
    const step = this.step;
    let r: ExecResult;
    try {
      const host = await this.host(c.host);
      r = await host.exec(c.command, { sudo: true, timeoutMs });
    } catch (e) {
      r = { code: null, signal: null, stdout: '', stderr: (e as Error).message, durationMs: 0 };
    }
    return () => {
      this.emit({ type: 'command', time: this.time(), step, ...c });
      if (r.stdout)
        this.emit({ type: 'output', time: this.time(), step, host: c.host, stream: 'stdout', text: r.stdout });
      if (r.stderr)
        this.emit({ type: 'output', time: this.time(), step, host: c.host, stream: 'stderr', text: r.stderr });
      this.emit({
        type: 'command-done',
        time: this.time(),
        step,
        host: c.host,
        command: c.command,
        exitCode: r.code,
        signal: r.signal,
        durationMs: r.durationMs,
      });
      return r;
    };
  }

  /** Polls `f` until it returns a value (not undefined) or the deadline passes; returns undefined then. */
  async until<T>(
    ms: number,
    intervalMs: number,
    f: () => Promise<T | undefined>,
  ): Promise<{ value: T } | { value: undefined; last: string }> {
    const deadline = Date.now() + ms;
    let last = '';
    for (;;) {
      this.checkAbort();
      try {
        const v = await f();
        if (v !== undefined) return { value: v };
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > deadline) return { value: undefined, last };
      await pause(intervalMs, this.opts.signal);
    }
  }

  async pause(ms: number): Promise<void> {
    await pause(ms, this.opts.signal);
    this.checkAbort();
  }
}
