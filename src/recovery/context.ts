// The context one recovery run hands to its steps: SSH hosts, visible commands, read-only probes,
// polling with a deadline, the quorum check between steps and the member list from the majority.
// No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import type { EtcdCluster, EtcdMember } from '../etcd/types';
import type { RemoteHost, ExecResult } from '../ssh/types';
import { CancelledError } from '../util/cancel';
import { pause } from '../util/async';
import * as cmd from './commands';
import type { Observation } from './observe';
import { parseProbe, type VmProbe } from './vmProbe';
import { quorumOf } from './membership';
import { ETCD_STDERR_LOG } from '../diagnosis/observe';
import { causeFromLog } from '../diagnosis/causes';
import type { Plan, PlannedCommand, RecoveryEvent, RecoveryOptions, RecoveryTimeouts, StepId } from './events';

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

export class Run {
  readonly stepsRun: StepId[] = [];
  private hosts = new Map<string, RemoteHost>();
  snapshotLocal?: string;
  newMemberId?: string;
  private step: StepId = 'preflight';
  readonly timeouts: Required<RecoveryTimeouts>;
  /** The run (and cluster lock) id the resume marker is bound to. */
  runId: string | null = null;

  constructor(
    readonly session: DeploymentSession,
    readonly obs: Observation,
    readonly plan: Plan,
    readonly cluster: EtcdCluster,
    readonly opts: RecoveryOptions,
    readonly emit: (e: RecoveryEvent) => void,
  ) {
    const to = opts.timeouts ?? {};
    this.timeouts = {
      stopMs: to.stopMs ?? 60_000,
      startMs: to.startMs ?? 180_000,
      promoteMs: to.promoteMs ?? 120_000,
      postcheckMs: to.postcheckMs ?? 120_000,
      commandMs: to.commandMs ?? 120_000,
    };
  }

  private time() {
    return new Date().toISOString();
  }

  setStep(s: StepId) {
    this.step = s;
  }

  checkAbort(): void {
    if (this.opts.signal?.aborted) throw new CancelledError();
  }

  /** Waits, ending early (without error) on cancel: the next checkAbort() stops the run. */
  pause(ms: number): Promise<void> {
    return pause(ms, this.opts.signal);
  }

  private instance(label: string): InstanceInfo {
    const i = this.obs.instances.find((x) => `${x.group}/${x.id}` === label);
    if (!i) throw new StepError(`instance ${label} is not in the deployment any more`, RESUME_ADVICE);
    return i;
  }

  async host(label: string): Promise<RemoteHost> {
    let h = this.hosts.get(label);
    if (!h) {
      try {
        h = await this.session.ssh(this.instance(label));
      } catch (e) {
        throw new StepError(
          `could not connect to ${label} over SSH: ${(e as Error).message}`,
          `Check SSH access to ${label} (bosh -d ${this.plan.deployment} ssh ${label}), then ${RESUME_ADVICE.toLowerCase()}`,
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
    if (this.opts.dryRun && pc.mutates) throw new Error(`BUG: dry-run tried to run a changing command: ${pc.command}`);
    const host = await this.host(pc.host);
    this.checkAbort();
    this.emit({
      type: 'command',
      time: this.time(),
      step: this.step,
      host: pc.host,
      command: pc.command,
      purpose: pc.purpose,
      mutates: pc.mutates,
    });
    let r: ExecResult;
    const started = Date.now();
    try {
      r = await host.exec(pc.command, {
        sudo: true,
        timeoutMs: o.timeoutMs ?? this.timeouts.commandMs,
        onStdout: (text) =>
          this.emit({ type: 'output', time: this.time(), step: this.step, host: pc.host, stream: 'stdout', text }),
        onStderr: (text) =>
          this.emit({ type: 'output', time: this.time(), step: this.step, host: pc.host, stream: 'stderr', text }),
      });
    } catch (e) {
      this.emit({
        type: 'command-done',
        time: this.time(),
        step: this.step,
        host: pc.host,
        command: pc.command,
        exitCode: null,
        signal: null,
        durationMs: Date.now() - started,
      });
      if (o.allowFail)
        return { code: null, signal: null, stdout: '', stderr: (e as Error).message, durationMs: Date.now() - started };
      throw new StepError(
        `\`${pc.command}\` on ${pc.host} failed: ${(e as Error).message}`,
        `Check the SSH connection to ${pc.host}; ${RESUME_ADVICE.toLowerCase()}`,
      );
    }
    this.emit({
      type: 'command-done',
      time: this.time(),
      step: this.step,
      host: pc.host,
      command: pc.command,
      exitCode: r.code,
      signal: r.signal,
      durationMs: r.durationMs,
    });
    if (r.code !== 0 && !o.allowFail) {
      throw new StepError(
        `\`${pc.command}\` on ${pc.host} exited with ${r.code ?? `signal ${r.signal}`}: ${r.stderr.trim() || r.stdout.trim() || '(no output)'}`,
        RESUME_ADVICE,
      );
    }
    return r;
  }

  /** Rewrites the resume marker with the member added back, so a later run knows that member as this run's. */
  async recordAdded(addedMemberId: string): Promise<void> {
    const p = this.plan;
    await this.exec({
      host: p.target,
      ...cmd.writeStateFile(p.ts, p.staleMemberId, p.snapshotHost, {
        runId: this.runId,
        instance: p.targetId,
        peerUrl: p.peerUrl || null,
        addedMemberId,
      }),
    });
  }

  /** etcd's own reason from the tail of its log on a VM, with the diagnosis's cause; '' when it says nothing. */
  async etcdReason(label: string): Promise<string> {
    try {
      const h = await this.host(label);
      const r = await h.exec(`tail -n 80 ${ETCD_STDERR_LOG} 2>/dev/null | cut -c1-600`, {
        sudo: true,
        timeoutMs: 20_000,
      });
      const found = causeFromLog(r.stdout.split('\n').filter((l) => l.length > 0));
      return found ? `etcd on ${label} says: "${found.line.slice(0, 400)}" (cause: ${found.cause})` : '';
    } catch {
      return '';
    }
  }

  /** Read-only probe of a VM (not shown as a command: it is a poll). */
  async probe(label: string): Promise<VmProbe> {
    this.checkAbort();
    const h = await this.host(label);
    const r = await h.exec(cmd.probeVm().command, { sudo: true, timeoutMs: 30_000 });
    if (r.code !== 0)
      throw new StepError(`inspecting ${label} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`, RESUME_ADVICE);
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
          RESUME_ADVICE,
        );
      await this.pause(interval);
    }
  }

  targetUrl(): string {
    const v = this.obs.views.find((x) => x.instance.id === this.plan.targetId);
    return v?.endpointUrl ?? cmd.expectedClientUrl(this.plan.targetIndex ?? 0);
  }

  /** The other members' endpoints, the healthy ones first; one that split off into its own cluster is left out. */
  otherUrls(): string[] {
    const others = this.obs.views.filter((x) => x.instance.id !== this.plan.targetId && !x.splitClusterId);
    return [...others.filter((v) => v.healthy), ...others.filter((v) => !v.healthy)].map((v) => v.endpointUrl);
  }

  /** After every changing step the other members must still have quorum, or nothing further is changed. */
  async assertQuorum(): Promise<void> {
    const others = new Set(this.otherUrls());
    const health = await this.cluster.health();
    const ok = health.filter((h) => others.has(h.endpoint) && h.ok && h.value.healthy).length;
    const need = quorumOf(this.plan.clusterSize);
    const detail = `${ok} of the other ${others.size} members healthy (quorum ${need})`;
    if (ok < need) {
      this.emit({
        type: 'check',
        time: this.time(),
        step: this.step,
        name: 'cluster still has quorum',
        ok: false,
        detail,
      });
      throw new StepError(
        `the cluster became unhealthy after this step: ${detail}; stopped, nothing further is changed`,
        'Bring the other members back first (etcdctl endpoint health --cluster), then run the recovery again to continue.',
      );
    }
  }

  /** Member list from one of the other (majority) members: never from the target, which may have split off. */
  async members(): Promise<EtcdMember[]> {
    let last: unknown;
    for (const url of this.otherUrls()) {
      try {
        return await this.cluster.memberList({ endpointUrl: url });
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error('no member answered the member list');
  }
}
