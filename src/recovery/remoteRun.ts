// What every run that changes VMs shares (the member recovery's Run in src/recovery/context.ts, the
// disaster flows' DisasterRun in src/disaster/context.ts): SSH hosts by instance, visible commands
// streamed as events, checks, read-only probes, polling with a deadline, cancel.
// No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import type { RemoteHost, ExecResult } from '../ssh/types';
import { CancelledError } from '../util/cancel';
import { pause } from '../util/async';
import * as cmd from './commands';
import { parseProbe, type VmProbe } from './vmProbe';
import type { PlannedCommand, RecoveryEvent } from './events';

/** A step failed: what failed, and what the operator should do. */
export class StepError extends Error {
  constructor(
    message: string,
    public readonly advice: string,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

export const RESUME_ADVICE =
  'Fix the cause, then run the recovery again: it re-reads the state and continues where this run stopped (steps already done are skipped).';

export abstract class RemoteRun<S extends string> {
  private hosts = new Map<string, RemoteHost>();
  protected step: S;

  constructor(
    readonly session: DeploymentSession,
    readonly emit: (e: RecoveryEvent<S>) => void,
    private readonly base: {
      dryRun?: boolean;
      signal?: AbortSignal;
      commandMs: number;
      firstStep: S;
      /** What the operator is told to do after a failed step (default: run the recovery again). */
      resumeAdvice?: string;
    },
  ) {
    this.step = base.firstStep;
  }

  /**
   * The instance behind 'group/uuid' (throws StepError when it is not in the deployment), or the
   * label itself for the session to resolve.
   */
  protected abstract instance(label: string): InstanceInfo | string;
  /** The deployment, for the operator's advice. */
  protected abstract deploymentName(): string;

  private get resumeAdvice(): string {
    return this.base.resumeAdvice ?? RESUME_ADVICE;
  }

  protected time() {
    return new Date().toISOString();
  }

  setStep(s: S) {
    this.step = s;
  }

  checkAbort(): void {
    if (this.base.signal?.aborted) throw new CancelledError();
  }

  /** Waits, ending early (without error) on cancel: the next checkAbort() stops the run. */
  pause(ms: number): Promise<void> {
    return pause(ms, this.base.signal);
  }

  async host(label: string): Promise<RemoteHost> {
    let h = this.hosts.get(label);
    if (!h) {
      try {
        h = await this.session.ssh(this.instance(label));
      } catch (e) {
        if (e instanceof StepError) throw e;
        throw new StepError(
          `could not connect to ${label} over SSH: ${(e as Error).message}`,
          `Check SSH access to ${label} (bosh -d ${this.deploymentName()} ssh ${label}), then ${this.resumeAdvice.toLowerCase()}`,
        );
      }
      this.hosts.set(label, h);
    }
    return h;
  }

  check(name: string, ok: boolean, detail: string): void {
    this.emit({ type: 'check', time: this.time(), step: this.step, name, ok, detail });
    if (!ok) throw new StepError(`check failed: ${name}: ${detail}`, this.resumeAdvice);
  }

  info(message: string): void {
    this.emit({ type: 'info', time: this.time(), step: this.step, message });
  }

  /** Shows a command of the current step as skipped, with the reason. */
  skipped(pc: Pick<PlannedCommand, 'host' | 'command' | 'purpose' | 'mutates'>, reason: string): void {
    this.emit({
      type: 'command',
      time: this.time(),
      step: this.step,
      host: pc.host,
      command: pc.command,
      purpose: pc.purpose,
      mutates: pc.mutates,
      skipped: reason,
    });
  }

  /** Runs one visible command (sudo) on a VM, streaming its output. Non-zero exit throws unless allowFail. */
  async exec(
    pc: Pick<PlannedCommand, 'host' | 'command' | 'purpose' | 'mutates'>,
    o: { allowFail?: boolean; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    this.checkAbort();
    if (this.base.dryRun && pc.mutates) throw new Error(`BUG: dry-run tried to run a changing command: ${pc.command}`);
    const host = await this.host(pc.host);
    this.checkAbort();
    const step = this.step;
    this.emit({
      type: 'command',
      time: this.time(),
      step,
      host: pc.host,
      command: pc.command,
      purpose: pc.purpose,
      mutates: pc.mutates,
    });
    let r: ExecResult;
    const started = Date.now();
    const done = (exitCode: number | null, signal: string | null, durationMs: number) =>
      this.emit({
        type: 'command-done',
        time: this.time(),
        step,
        host: pc.host,
        command: pc.command,
        exitCode,
        signal,
        durationMs,
      });
    try {
      r = await host.exec(pc.command, {
        sudo: true,
        timeoutMs: o.timeoutMs ?? this.base.commandMs,
        onStdout: (text) =>
          this.emit({ type: 'output', time: this.time(), step, host: pc.host, stream: 'stdout', text }),
        onStderr: (text) =>
          this.emit({ type: 'output', time: this.time(), step, host: pc.host, stream: 'stderr', text }),
      });
    } catch (e) {
      done(null, null, Date.now() - started);
      if (o.allowFail)
        return { code: null, signal: null, stdout: '', stderr: (e as Error).message, durationMs: Date.now() - started };
      throw new StepError(
        `\`${pc.command}\` on ${pc.host} failed: ${(e as Error).message}`,
        `Check the SSH connection to ${pc.host}; ${this.resumeAdvice.toLowerCase()}`,
      );
    }
    done(r.code, r.signal, r.durationMs);
    if (r.code !== 0 && !o.allowFail) {
      throw new StepError(
        `\`${pc.command}\` on ${pc.host} exited with ${r.code ?? `signal ${r.signal}`}: ${r.stderr.trim() || r.stdout.trim() || '(no output)'}`,
        this.resumeAdvice,
      );
    }
    return r;
  }

  /** Read-only probe of a VM (not shown as a command: it is a poll). */
  async probe(label: string): Promise<VmProbe> {
    this.checkAbort();
    const h = await this.host(label);
    const r = await h.exec(cmd.probeVm().command, { sudo: true, timeoutMs: 30_000 });
    if (r.code !== 0)
      throw new StepError(
        `inspecting ${label} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`,
        this.resumeAdvice,
      );
    return parseProbe(label, r.stdout);
  }

  /** Polls `f` until it returns a value (not undefined) or the deadline passes. */
  async until<T>(what: string, ms: number, f: () => Promise<T | undefined>, interval = 400): Promise<T> {
    const deadline = Date.now() + ms;
    let last = '';
    for (;;) {
      this.checkAbort();
      try {
        const v = await f();
        if (v !== undefined) return v;
      } catch (e) {
        if (e instanceof CancelledError || e instanceof StepError) throw e;
        last = (e as Error).message;
      }
      if (Date.now() > deadline)
        throw new StepError(
          `timed out after ${Math.round(ms / 1000)} s waiting until ${what}${last ? ` (last error: ${last})` : ''}`,
          this.resumeAdvice,
        );
      await this.pause(interval);
    }
  }
}
