// The recovery engine: observe → plan → confirm → observe again → run the steps (src/recovery/execute.ts).
// Stops at the first failure, on cancel, and on loss of quorum; a later run resumes from the observed
// state. Every event goes to the caller and to the transcript. No `vscode` import here.
import type { DeploymentSession } from '../session/types';
import { CancelledError } from '../util/cancel';
import * as cmd from './commands';
import { observeCluster, observeShared, probeMasters, type Observation } from './observe';
import type { InstanceInfo } from '../bosh/types';
import { etcdMasters } from '../diagnosis/observationTypes';
import { formatPlan } from './plan';
import { planAll, brokenTargets } from './order';
import { ValidationError } from './commands';
import { describeLock } from '../session/lockReport';
import { Transcript } from './transcript';
import { StepError } from './context';
import { summarize } from './summary';
import { bindMarker, guardRun, takeRunLock } from './runLock';
import { observeAgainAndCompare, planFingerprint, type Planned } from './replan';
import { execute } from './execute';
import {
  STEP_ORDER,
  type Plan,
  type Refusal,
  type RecoveryOptions,
  type RecoveryResult,
  type RecoveryEvent,
} from './events';

export { StepError, summarize, planFingerprint };

type Targets = string | string[] | 'all-broken';

/**
 * Observe the whole cluster, plan, confirm, observe again, and run the recovery of one or several
 * instances' etcd members (see src/recovery/order.ts for the order). Never throws for operational
 * failures: see `outcome`.
 */
export async function runRecovery(
  session: DeploymentSession,
  targets: Targets,
  opts: RecoveryOptions,
): Promise<RecoveryResult> {
  const allBroken = targets === 'all-broken';
  const asked = allBroken ? [] : [...new Set(typeof targets === 'string' ? [targets] : targets)];
  const started = opts.now ? opts.now() : new Date();
  const transcript = new Transcript(opts.transcriptDir, {
    deployment: session.deployment,
    target: allBroken ? 'every broken member' : asked.join(' '),
    dryRun: !!opts.dryRun,
    started,
  });
  const time = () => new Date().toISOString();
  let targetList: string[] = asked;
  const emit = (e: RecoveryEvent) => {
    transcript.record(e);
    try {
      opts.onEvent?.(e);
    } catch {
      /* a UI callback must not break the run */
    }
  };
  const finish = (res: Omit<RecoveryResult, 'transcriptPath' | 'targets'>): RecoveryResult => {
    const tp = transcript.path;
    emit({ type: 'done', time: time(), outcome: res.outcome, message: res.message, transcriptPath: tp });
    transcript.flush();
    return { ...res, targets: targetList, transcriptPath: tp };
  };
  const refuse = (refusals: Refusal[], plan?: Plan, extra: Partial<RecoveryResult> = {}) => {
    emit({ type: 'refused', time: time(), refusals });
    return finish({
      outcome: 'refused',
      message: `Refused: ${refusals.map((r) => r.message).join(' ')}`,
      refusals,
      advice: refusals.map((r) => r.advice).join(' '),
      plan,
      stepsRun: [],
      ...extra,
    });
  };

  try {
    if (!allBroken && asked.length === 0) throw new ValidationError('no instance given');
    for (const t of asked) cmd.validateInstanceLabel(t);
  } catch (e) {
    return refuse([
      {
        code: 'invalid-input',
        message: (e as Error).message,
        advice: 'Give the instance as group/uuid, e.g. master/8d1f…; nothing was sent to the VMs.',
      },
    ]);
  }

  // While the lock is taken: the Director's full instance list (the lock reaches the masters from it,
  // and it is the slowest read of an observation: it asks every agent) is asked once for both, and
  // the etcd connection is opened. Nothing is read from etcd or the VMs before the lock is held.
  const early = opts.dryRun ? undefined : startEarly(session);
  // The cluster lock, for the whole run (a dry-run changes nothing and takes none).
  const taken = await takeRunLock(session, opts);
  if (taken.kind === 'held') return refuse([taken.refusal], undefined, { lockHolder: taken.holder });
  if (taken.kind === 'failed')
    return finish({
      outcome: 'failed',
      message: taken.message,
      error: taken.message,
      advice: taken.advice,
      stepsRun: [],
    });
  const lock = taken.lock;
  if (lock)
    for (const b of lock.broken)
      emit({ type: 'info', time: time(), message: `broke a stale cluster lock: ${describeLock(b)}` });
  const guard = guardRun(lock, opts.signal);
  const runOpts: RecoveryOptions = { ...opts, signal: guard.signal };
  const { lockLost, staleRunIds } = guard;

  try {
    // the list asked while the lock was taken serves the first observation only
    let instances = early && (await early.instances);
    const observeAndPlan = async (): Promise<Planned> => {
      const probes = probeMasters(session, instances);
      const shared = await observeShared(session, { instances, probes });
      instances = undefined;
      let labels = asked;
      if (allBroken) {
        // every master is looked at: broken ones, and ones whose (trusted) marker says a run is unfinished
        const masters = shared.cluster.masters.filter(
          (m) => m.group === (shared.cluster.masters[0]?.group ?? 'master'),
        );
        const all = await Promise.all(masters.map((m) => observeCluster(session, `${m.group}/${m.id}`, shared)));
        for (const o of all) bindMarker(o, guard.runId, staleRunIds);
        const broken = new Set(brokenTargets(shared.findings, masters));
        const chosen = all.filter((o) => broken.has(o.targetLabel) || !!o.targetVm?.state);
        labels = chosen.map((o) => o.targetLabel);
        if (!chosen.length) return { obs: all.slice(0, 1), plan: noneBroken(all[0]) };
        return { obs: chosen, plan: planAll({ observations: chosen, allBroken }, planOpts) };
      }
      const obs = await Promise.all(labels.map((l) => observeCluster(session, l, shared)));
      for (const o of obs) bindMarker(o, guard.runId, staleRunIds);
      return { obs, plan: planAll({ observations: obs, allBroken }, planOpts) };
    };
    const planOpts = { learner: opts.learner, now: started, runId: lock?.runId };

    let obs: Observation[];
    let plan: Plan;
    try {
      if (guard.signal.aborted) throw new CancelledError();
      ({ obs, plan } = await observeAndPlan());
    } catch (e) {
      if (e instanceof CancelledError) {
        emit({ type: 'cancelled', time: time(), message: 'cancelled before anything was changed' });
        return finish({ outcome: 'cancelled', message: 'Cancelled before anything was changed.', stepsRun: [] });
      }
      const msg = `Could not observe the cluster: ${(e as Error).message}`;
      return finish({
        outcome: 'failed',
        message: msg,
        error: msg,
        advice: 'Check the Director and SSH/etcd access, then run again; nothing was changed.',
        stepsRun: [],
      });
    }
    targetList = plan.targets ?? [plan.target];
    for (const o of obs) emit({ type: 'observed', time: time(), summary: summarize(o) });
    emit({ type: 'plan', time: time(), plan });
    transcript.flush();
    if (plan.refusals.length > 0) return refuse(plan.refusals, plan);
    if (opts.dryRun) {
      const steps = (plan.memberPlans ?? [plan]).flatMap((p) => p.steps);
      return finish({
        outcome: 'dry-run',
        message: `Dry-run: ${steps.filter((s) => !s.done).length} of ${steps.length} steps would run; nothing was changed.\n${formatPlan(plan)}`,
        plan,
        stepsRun: [],
      });
    }
    if (guard.signal.aborted) {
      emit({ type: 'cancelled', time: time(), message: 'cancelled before anything was changed' });
      return finish({ outcome: 'cancelled', message: 'Cancelled before anything was changed.', plan, stepsRun: [] });
    }
    let go = false;
    if (opts.confirm) {
      try {
        go = await opts.confirm(plan);
      } catch {
        go = false;
      }
    } else go = opts.yes === true;
    if (!go || guard.signal.aborted) {
      const msg = lockLost()
        ? 'The cluster lock was lost while waiting for the confirmation: nothing was changed.'
        : opts.confirm
          ? 'Not confirmed: nothing was changed.'
          : 'Not confirmed (non-interactive run without --yes): nothing was changed.';
      emit({ type: 'cancelled', time: time(), message: msg });
      return finish({ outcome: 'declined', message: msg, plan, stepsRun: [] });
    }

    // Observing again covers the time the confirmation took (the operator may read for minutes).
    // Without one (--yes) the plan was made moments ago, under this run's lock: a second observation
    // would see the same instant, and the pre-flight step checks the target and quorum again anyway.
    const replanned = opts.confirm
      ? await observeAgainAndCompare({ obs, plan }, observeAndPlan)
      : ({ kind: 'same', again: { obs, plan } } as const);
    if (replanned.kind === 'failed')
      return finish({
        outcome: 'failed',
        message: replanned.message,
        error: replanned.message,
        advice: replanned.advice,
        plan,
        stepsRun: [],
      });
    if (replanned.kind === 'changed') {
      emit({ type: 'observed', time: time(), summary: replanned.again.obs.flatMap(summarize) });
      return refuse([replanned.refusal], replanned.again.plan);
    }
    obs = replanned.again.obs;
    plan = replanned.again.plan;
    const cluster = await session.etcd();
    return await execute(session, obs, plan, cluster, runOpts, emit, finish, transcript, guard.runId, lockLost);
  } finally {
    await guard.release();
    transcript.flush();
  }
}

/**
 * Starts what the lock and the first observation need, none of it a read of the cluster's state: the
 * Director's full list (the lock reaches the masters from it; it asks every agent, the slowest
 * answer), and from the Director's quick list (no agent calls) the SSH connections to the masters
 * (a bosh-ssh setup each) and the etcd connection, so they are not held up by the full list.
 */
function startEarly(session: DeploymentSession): { instances: Promise<InstanceInfo[] | undefined> } {
  const quick = session.instancesQuick?.();
  // undefined when it failed: the observation then asks the Director itself (with its fallback)
  const instances = session.instances().then(
    (l) => l,
    () => undefined,
  );
  quick?.then(
    (list) => {
      for (const m of etcdMasters(list)) session.ssh(m).catch(() => undefined); // the lock reports a failure
    },
    () => undefined,
  );
  session.etcd().catch(() => undefined); // opened again by the observation if this failed
  return { instances };
}

/** A plan that refuses because no member is broken ('all-broken' on a healthy cluster). */
function noneBroken(o: Observation | undefined): Plan {
  const p = o ? planAll({ observations: [o], allBroken: true }) : planAll({ observations: [], allBroken: true });
  p.refusals = [
    {
      code: 'target-healthy',
      message: 'No member is broken: the diagnosis has no positive evidence of a broken member.',
      advice: 'Nothing to recover (bosh-etcd status shows the findings).',
    },
  ];
  p.targets = [];
  return p;
}

export { STEP_ORDER };
