// The context of one disaster-recovery run (quorum loss, restore from a snapshot): SSH hosts of the
// masters, visible commands and checks recorded as the recovery engine's events (so the same
// transcript, src/recovery/transcript.ts, records them), read-only probes, polling with a deadline.
// Implements src/disaster/fleet.ts's FleetRun. No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import type { RemoteHost, ExecResult } from '../ssh/types';
import { CancelledError } from '../util/cancel';
import { pause } from '../util/async';
import { probeVm } from '../recovery/commands';
import { parseProbe, type VmProbe } from '../recovery/vmProbe';
import { RESUME_ADVICE, StepError } from '../recovery/context';
import type { PlannedCommand, RecoveryEvent } from '../recovery/events';
import type { FleetRun } from './fleet';

export type DisasterEvent = RecoveryEvent<string>;

export class DisasterRun implements FleetRun {
  private hosts = new Map<string, RemoteHost>();
  private step = 'preflight';

  constructor(
    readonly session: DeploymentSession,
    readonly instances: InstanceInfo[],
    readonly emit: (e: DisasterEvent) => void,
    readonly opts: { dryRun?: boolean; signal?: AbortSignal; commandMs?: number } = {},
  ) {}

  private time() {
    return new Date().toISOString();
  }

  setStep(s: string) {
    this.step = s;
  }

  checkAbort(): void {
    if (this.opts.signal?.aborted) throw new CancelledError();
  }

  pause(ms: number): Promise<void> {
    return pause(ms, this.opts.signal);
  }

  async host(label: string): Promise<RemoteHost> {
    let h = this.hosts.get(label);
    if (!h) {
      const i = this.instances.find((x) => `${x.group}/${x.id}` === label);
      if (!i) throw new StepError(`instance ${label} is not in the deployment`, RESUME_ADVICE);
      try {
        h = await this.session.ssh(i);
      } catch (e) {
        throw new StepError(
          `could not connect to ${label} over SSH: ${(e as Error).message}`,
          `Check SSH access to ${label}, then ${RESUME_ADVICE.toLowerCase()}`,
        );
      }
      this.hosts.set(label, h);
    }
    return h;
  }

  check(name: string, ok: boolean, detail: string): void {
    this.emit({ type: 'check', time: this.time(), step: this.step, name, ok, detail });
    if (!ok) throw new StepError(`check failed: ${name}: ${detail}`, RESUME_ADVICE);
  }

  info(message: string): void {
    this.emit({ type: 'info', time: this.time(), step: this.step, message });
  }

  skipped(pc: Pick<PlannedCommand, 'host' | 'command' | 'purpose' | 'mutates'>, reason: string): void {
    this.emit({ type: 'command', time: this.time(), step: this.step, ...pc, skipped: reason });
  }

  /** Runs one visible command (sudo) on a VM, streaming its output. Non-zero exit throws unless allowFail. */
  async exec(
    pc: Pick<PlannedCommand, 'host' | 'command' | 'purpose' | 'mutates'>,
    o: { allowFail?: boolean; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    this.checkAbort();
    if (this.opts.dryRun && pc.mutates) throw new Error(`BUG: dry-run tried to run a changing command: ${pc.command}`);
    const host = await this.host(pc.host);
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
    const started = Date.now();
    const done = (exitCode: number | null, signal: string | null) =>
      this.emit({
        type: 'command-done',
        time: this.time(),
        step,
        host: pc.host,
        command: pc.command,
        exitCode,
        signal,
        durationMs: Date.now() - started,
      });
    let r: ExecResult;
    try {
      r = await host.exec(pc.command, {
        sudo: true,
        timeoutMs: o.timeoutMs ?? this.opts.commandMs ?? 120_000,
        onStdout: (text) =>
          this.emit({ type: 'output', time: this.time(), step, host: pc.host, stream: 'stdout', text }),
        onStderr: (text) =>
          this.emit({ type: 'output', time: this.time(), step, host: pc.host, stream: 'stderr', text }),
      });
    } catch (e) {
      done(null, null);
      if (o.allowFail)
        return { code: null, signal: null, stdout: '', stderr: (e as Error).message, durationMs: Date.now() - started };
      throw new StepError(
        `\`${pc.command}\` on ${pc.host} failed: ${(e as Error).message}`,
        `Check the SSH connection to ${pc.host}; ${RESUME_ADVICE.toLowerCase()}`,
      );
    }
    done(r.code, r.signal);
    if (r.code !== 0 && !o.allowFail)
      throw new StepError(
        `\`${pc.command}\` on ${pc.host} exited with ${r.code ?? `signal ${r.signal}`}: ${r.stderr.trim() || r.stdout.trim() || '(no output)'}`,
        RESUME_ADVICE,
      );
    return r;
  }

  /** Read-only probe of a VM (not shown as a command: it is a poll). */
  async probe(label: string): Promise<VmProbe> {
    this.checkAbort();
    const h = await this.host(label);
    const r = await h.exec(probeVm().command, { sudo: true, timeoutMs: 30_000 });
    if (r.code !== 0)
      throw new StepError(`inspecting ${label} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`, RESUME_ADVICE);
    return parseProbe(label, r.stdout);
  }

  /** Polls `f` until it returns a value (not undefined) or the deadline passes. */
  async until<T>(what: string, ms: number, f: () => Promise<T | undefined>, interval = 500): Promise<T> {
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
          RESUME_ADVICE,
        );
      await this.pause(interval);
    }
  }
}
