// The machinery both maintenance flows share: events (to the caller and the transcript), visible
// remote commands (sudo, output streamed: the recovery's RemoteRun, src/recovery/remoteRun.ts),
// polling with a deadline, cancellation. No `vscode` import here.
import type { DeploymentSession } from '../session/types';
import type { ExecResult } from '../ssh/types';
import { CancelledError } from '../util/cancel';
import { pause } from '../util/async';
import { RemoteRun, StepError } from '../recovery/remoteRun';
import { MaintenanceTranscript } from './transcript';
import type { MaintenanceCommand, MaintenanceEvent, MaintenanceOutcome, MaintenanceStep } from './types';

export const RESUME_ADVICE =
  'Fix the cause, then run it again: it reads the sizes again and skips the members already defragmented.';

/** A step failed: what failed, and what the operator should do (the recovery's StepError). */
export const MaintenanceStepError = StepError;
export type MaintenanceStepError = StepError;

/** The remote commands of a maintenance run: hosts by 'group/uuid' label, resolved by the session. */
class MaintenanceRemote extends RemoteRun<MaintenanceStep> {
  protected instance(label: string): string {
    return label;
  }
  protected deploymentName(): string {
    return this.session.deployment;
  }
}

export class MaintenanceRun {
  step: MaintenanceStep = 'precheck';
  readonly transcript: MaintenanceTranscript | null;
  private readonly remote: MaintenanceRemote;

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
    // its events (command, output, command-done) have the shapes of MaintenanceEvent's
    this.remote = new MaintenanceRemote(session, (e) => this.emit(e as MaintenanceEvent), {
      dryRun: opts.dryRun,
      signal: opts.signal,
      commandMs: 120_000,
      firstStep: 'precheck',
      resumeAdvice: RESUME_ADVICE,
    });
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

  /** Shows a command that is not run (dry run). */
  showOnly(c: MaintenanceCommand, why: string): void {
    this.emit({ type: 'command', time: this.time(), step: this.step, ...c, skipped: why });
  }

  /**
   * Runs one visible command (sudo) on a VM, streaming its output. A non-zero exit throws unless
   * allowFail. A changing command in a dry run is a bug and throws before anything is sent.
   */
  exec(c: MaintenanceCommand, o: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<ExecResult> {
    this.remote.setStep(this.step);
    return this.remote.exec(c, o);
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
      const host = await this.remote.host(c.host);
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

  /**
   * Polls `f` until it returns a value (not undefined) or the deadline passes; returns undefined then.
   * The first polls come quickly (50 ms, doubling up to intervalMs): a member is usually back at once.
   */
  async until<T>(
    ms: number,
    intervalMs: number,
    f: () => Promise<T | undefined>,
  ): Promise<{ value: T } | { value: undefined; last: string }> {
    const deadline = Date.now() + ms;
    let last = '';
    let wait = Math.min(50, intervalMs);
    for (;;) {
      this.checkAbort();
      try {
        const v = await f();
        if (v !== undefined) return { value: v };
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > deadline) return { value: undefined, last };
      await pause(wait, this.opts.signal);
      wait = Math.min(intervalMs, wait * 2);
    }
  }

  async pause(ms: number): Promise<void> {
    await pause(ms, this.opts.signal);
    this.checkAbort();
  }
}
