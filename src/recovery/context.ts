// The context one recovery run hands to its steps: SSH hosts, visible commands, read-only probes,
// polling with a deadline, the quorum check between steps and the member list from the majority.
// No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import type { EtcdCluster, EtcdMember } from '../etcd/types';
import * as cmd from './commands';
import { CancelledError } from '../util/cancel';
import type { Observation } from './observe';
import { quorumOf } from './membership';
import { ETCD_STDERR_LOG } from '../diagnosis/observe';
import { causeFromLog } from '../diagnosis/causes';
import type { Plan, PlannedCommand, RecoveryEvent, RecoveryOptions, RecoveryTimeouts, StepId } from './events';
import { RemoteRun, RESUME_ADVICE, StepError } from './remoteRun';

export { StepError, RESUME_ADVICE } from './remoteRun';

export class Run extends RemoteRun<StepId> {
  readonly stepsRun: StepId[] = [];
  snapshotLocal?: string;
  newMemberId?: string;
  readonly timeouts: Required<RecoveryTimeouts>;
  /** The run (and cluster lock) id the resume marker is bound to. */
  runId: string | null = null;
  /** Step 2's `snapshot status`, run in step 3 while etcd stops (verifySnapshot in steps/snapshot.ts). */
  snapshotToVerify?: PlannedCommand;
  private directorWatch?: Promise<InstanceInfo>;
  private runEnded = false;

  constructor(
    session: DeploymentSession,
    readonly obs: Observation,
    readonly plan: Plan,
    readonly cluster: EtcdCluster,
    readonly opts: RecoveryOptions,
    emit: (e: RecoveryEvent) => void,
  ) {
    const to = opts.timeouts ?? {};
    super(session, emit, {
      dryRun: opts.dryRun,
      signal: opts.signal,
      commandMs: to.commandMs ?? 120_000,
      firstStep: 'preflight',
    });
    this.timeouts = {
      stopMs: to.stopMs ?? 60_000,
      startMs: to.startMs ?? 180_000,
      promoteMs: to.promoteMs ?? 120_000,
      postcheckMs: to.postcheckMs ?? 120_000,
      commandMs: to.commandMs ?? 120_000,
    };
  }

  protected instance(label: string): InstanceInfo {
    const i = this.obs.instances.find((x) => `${x.group}/${x.id}` === label);
    if (!i) throw new StepError(`instance ${label} is not in the deployment any more`, RESUME_ADVICE);
    return i;
  }

  protected deploymentName(): string {
    return this.plan.deployment;
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

  targetUrl(): string {
    const v = this.obs.views.find((x) => x.instance.id === this.plan.targetId);
    return v?.endpointUrl ?? cmd.expectedClientUrl(this.plan.targetIndex ?? 0);
  }

  /** The other members' endpoints, the healthy ones first; one that split off into its own cluster is left out. */
  otherUrls(): string[] {
    const others = this.obs.views.filter((x) => x.instance.id !== this.plan.targetId && !x.splitClusterId);
    return [...others.filter((v) => v.healthy), ...others.filter((v) => !v.healthy)].map((v) => v.endpointUrl);
  }

  private pollDirector(): Promise<InstanceInfo> {
    return this.until(
      `the Director reports ${this.plan.target} running`,
      this.timeouts.postcheckMs,
      async () => {
        if (this.runEnded) throw new StepError('the run ended', RESUME_ADVICE);
        const i = (await this.session.instances()).find((x) => x.id === this.plan.targetId);
        return i && i.processState === 'running' ? i : undefined;
      },
      1000,
    );
  }

  /**
   * Starts asking the Director, every second, until it reports the target running. Step 7 calls it
   * once monit runs etcd, so the answer (the Director asks every agent: seconds on a real one) comes
   * while etcd catches up; step 8 takes it (directorRunning).
   */
  watchDirector(): void {
    if (this.directorWatch) return;
    this.directorWatch = this.pollDirector();
    this.directorWatch.catch(() => undefined); // awaited by step 8
  }

  /** The Director's instance once it reports the target running: the watch's answer, or asked from now on. */
  async directorRunning(): Promise<InstanceInfo> {
    const early = this.directorWatch;
    this.directorWatch = undefined;
    if (early)
      try {
        return await early;
      } catch (e) {
        if (e instanceof CancelledError) throw e;
        // not running within the watch's deadline: asked again, with step 8's own deadline
      }
    return this.pollDirector();
  }

  /** The run is over (done, failed or cancelled): what was started in the background stops. */
  end(): void {
    this.runEnded = true;
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
