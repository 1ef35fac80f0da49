// The recovery engine: observe → plan → confirm → run the steps (src/recovery/steps), each a visible
// runbook command on a VM plus a structured check of its effect. Stops at the first failure, on
// cancel, and on loss of quorum; a later run resumes from the observed state. Every event goes to
// the caller and to the transcript. No `vscode` import here.
import type { DeploymentSession } from '../session/types';
import type { EtcdCluster } from '../etcd/types';
import { CancelledError } from '../util/cancel';
import * as cmd from './commands';
import { observeCluster, observeShared, type Observation } from './observe';
import { formatPlan } from './plan';
import { planAll, brokenTargets } from './order';
import { ValidationError } from './commands';
import { acquireClusterLock, ClusterLockError, type ClusterLock } from '../session/clusterLock';
import { describeLock } from '../session/lockReport';
import { markerMatches } from '../session/resumeMarker';
import { Transcript } from './transcript';
import { Run, StepError, RESUME_ADVICE } from './context';
import { stepOf } from './steps';
import {
  STEP_ORDER,
  type Plan,
  type PlanStep,
  type Refusal,
  type RecoveryEvent,
  type RecoveryOptions,
  type RecoveryResult,
  type StepId,
} from './events';

export { StepError };

/** Summary lines of an observation (transcript and `observed` event). */
export function summarize(obs: Observation): string[] {
  const out: string[] = [];
  out.push(
    `Director: ${obs.instances.map((i) => `${i.group}/${i.id} (index ${i.index}${i.bootstrap ? ', bootstrap' : ''}) ${i.processState ?? 'no VM'}`).join('; ')}`,
  );
  if (obs.members)
    out.push(
      `Members: ${obs.members.map((m) => `${m.id} ${m.name || '(unstarted)'}${m.isLearner ? ' learner' : ''} ${m.peerURLs.join(',')}`).join('; ')}`,
    );
  for (const v of obs.views) {
    const st = v.status?.ok
      ? `leader ${v.status.value.leader}, term ${v.status.value.raftTerm}, index ${v.status.value.raftIndex}, db ${v.status.value.dbSize} B`
      : (v.status?.error ?? 'no status');
    out.push(`${v.label} ${v.endpointUrl}: ${v.healthy ? 'healthy' : 'UNHEALTHY'} (${st})`);
  }
  if (obs.alarms)
    out.push(`Alarms: ${obs.alarms.length ? obs.alarms.map((a) => `${a.alarm}@${a.memberId}`).join(', ') : 'none'}`);
  const vm = obs.targetVm;
  if (vm) {
    out.push(
      vm.reachable
        ? `Target VM: monit etcd '${vm.monitText}', data dir ${vm.dataEntries === null ? 'missing' : `[${vm.dataEntries.join(', ')}]`}, member/ ${vm.memberDir.exists ? `${vm.memberDir.owner} [${vm.memberDir.entries.join(', ')}]` : 'missing'}, ${vm.freeKb ?? '?'} KiB free, peer address ${vm.peerAddress ?? '?'}${vm.state ? `, recovery in progress since ${vm.state.ts}` : ''}`
        : `Target VM: ${vm.error}`,
    );
  }
  if (obs.helper) out.push(`Snapshot member ${obs.helper.label}: ${obs.helper.vm.freeKb ?? '?'} KiB free`);
  for (const e of obs.errors) out.push(`Problem: ${e}`);
  return out;
}

/** Run-wide facts a later observation must still show for the plan to hold (compared after confirmation). */
export function planFingerprint(plan: Plan, obs: Observation[]): string[] {
  const out: string[] = [];
  const first = obs[0];
  if (first) {
    out.push(
      `member ids: ${(first.members ?? [])
        .map((m) => `${m.id}${m.name ? '' : ' (unstarted)'}`)
        .sort()
        .join(', ')}`,
    );
    const leaders = new Set(
      first.views.flatMap((v) => (v.healthy && v.status?.ok && v.status.value.leader ? [v.status.value.leader] : [])),
    );
    out.push(`leader: ${[...leaders].sort().join(', ') || 'none'}`);
    const targets = new Set(obs.map((o) => o.target?.id));
    for (const v of first.views)
      if (!targets.has(v.instance.id))
        out.push(
          `${v.label}: ${v.healthy ? 'healthy' : 'not healthy'}, Director ${v.instance.processState ?? 'unknown'}`,
        );
  }
  for (const p of plan.memberPlans ?? [plan]) {
    const o = obs.find((x) => x.targetLabel === p.target);
    const tv = o?.views.find((v) => v.instance.id === p.targetId);
    out.push(
      `${p.target}: ${tv?.healthy ? 'healthy' : 'broken'}, dead member ${p.staleMemberId ?? 'none'}, re-added ${p.newMemberId ?? 'none'}, marker ${o?.marker ? `${o.marker.ts} run ${o.marker.runId ?? 'none'}` : 'none'}`,
    );
  }
  return out;
}

/** What changed between two fingerprints, in words. */
function fingerprintDiff(before: string[], after: string[]): string[] {
  const key = (l: string) => l.slice(0, l.indexOf(':'));
  const b = new Map(before.map((l) => [key(l), l]));
  const a = new Map(after.map((l) => [key(l), l]));
  const out: string[] = [];
  for (const [k, l] of b) if (a.get(k) !== l) out.push(`was "${l}", now "${a.get(k) ?? `${k}: gone`}"`);
  for (const [k, l] of a) if (!b.has(k)) out.push(`new: "${l}"`);
  return out;
}

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

  // The cluster lock, for the whole run (a dry-run changes nothing and takes none).
  let lock: ClusterLock | null = null;
  if (!opts.dryRun) {
    try {
      lock = await acquireClusterLock(session, {
        flow: 'member-recovery',
        breakLock: opts.breakLock,
        signal: opts.signal,
      });
    } catch (e) {
      if (e instanceof ClusterLockError && (e.kind === 'held' || e.kind === 'stale')) {
        const holder = e.reports.map(describeLock).join('; ');
        return refuse(
          [
            {
              code: 'lock-held',
              message: e.message,
              advice:
                e.kind === 'stale'
                  ? 'If that run is really gone, run again with --break-lock.'
                  : 'Wait until the other run finishes; nothing was changed.',
            },
          ],
          undefined,
          { lockHolder: holder },
        );
      }
      const msg = `Could not take the cluster lock: ${(e as Error).message}`;
      return finish({
        outcome: 'failed',
        message: msg,
        error: msg,
        advice: 'Check SSH access to the masters, then run again; nothing was changed.',
        stepsRun: [],
      });
    }
    for (const b of lock.broken)
      emit({ type: 'info', time: time(), message: `broke a stale cluster lock: ${describeLock(b)}` });
  }
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  opts.signal?.addEventListener('abort', onAbort);
  lock?.signal.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) abort.abort();
  const runOpts: RecoveryOptions = { ...opts, signal: abort.signal };
  const lockLost = () => !!lock?.signal.aborted;
  const staleRunIds = lock ? lock.broken.flatMap((b) => (b.holder ? [b.holder.runId] : [])) : [];

  try {
    const observeAndPlan = async (): Promise<{ obs: Observation[]; plan: Plan }> => {
      const shared = await observeShared(session);
      let labels = asked;
      if (allBroken) {
        // every master is looked at: broken ones, and ones whose (trusted) marker says a run is unfinished
        const masters = shared.cluster.masters.filter(
          (m) => m.group === (shared.cluster.masters[0]?.group ?? 'master'),
        );
        const all = await Promise.all(masters.map((m) => observeCluster(session, `${m.group}/${m.id}`, shared)));
        for (const o of all) bindMarker(o, lock?.runId ?? null, staleRunIds);
        const broken = new Set(brokenTargets(shared.findings, masters));
        const chosen = all.filter((o) => broken.has(o.targetLabel) || !!o.targetVm?.state);
        labels = chosen.map((o) => o.targetLabel);
        if (!chosen.length) return { obs: all.slice(0, 1), plan: noneBroken(all[0]) };
        return { obs: chosen, plan: planAll({ observations: chosen, allBroken }, planOpts) };
      }
      const obs = await Promise.all(labels.map((l) => observeCluster(session, l, shared)));
      for (const o of obs) bindMarker(o, lock?.runId ?? null, staleRunIds);
      return { obs, plan: planAll({ observations: obs, allBroken }, planOpts) };
    };
    const planOpts = { learner: opts.learner, now: started, runId: lock?.runId };

    let obs: Observation[];
    let plan: Plan;
    try {
      if (abort.signal.aborted) throw new CancelledError();
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
    if (abort.signal.aborted) {
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
    if (!go || abort.signal.aborted) {
      const msg = lockLost()
        ? 'The cluster lock was lost while waiting for the confirmation: nothing was changed.'
        : opts.confirm
          ? 'Not confirmed: nothing was changed.'
          : 'Not confirmed (non-interactive run without --yes): nothing was changed.';
      emit({ type: 'cancelled', time: time(), message: msg });
      return finish({ outcome: 'declined', message: msg, plan, stepsRun: [] });
    }

    // The confirmation may have taken long: observe again; any change the plan depends on stops the run.
    const before = planFingerprint(plan, obs);
    let again: { obs: Observation[]; plan: Plan };
    try {
      again = await observeAndPlan();
    } catch (e) {
      const msg = `Could not observe the cluster again after the confirmation: ${(e as Error).message}`;
      return finish({
        outcome: 'failed',
        message: msg,
        error: msg,
        advice: 'Run again; nothing was changed.',
        plan,
        stepsRun: [],
      });
    }
    const diff = fingerprintDiff(before, planFingerprint(again.plan, again.obs));
    const sameTargets = (again.plan.targets ?? []).join(' ') === (plan.targets ?? []).join(' ');
    if (diff.length || !sameTargets || again.plan.refusals.length) {
      emit({ type: 'observed', time: time(), summary: again.obs.flatMap(summarize) });
      return refuse(
        [
          {
            code: 'plan-changed',
            message: `The cluster changed between the plan and the confirmation: ${[
              ...diff,
              ...(sameTargets
                ? []
                : [`targets were ${plan.targets?.join(', ')}, now ${again.plan.targets?.join(', ')}`]),
              ...again.plan.refusals.map((r) => `now refused: ${r.message}`),
            ].join('; ')}.`,
            advice:
              'Nothing was changed. Look at the cluster again (bosh-etcd status) and run the recovery again if it is still needed.',
          },
        ],
        again.plan,
      );
    }
    obs = again.obs;
    plan = again.plan;
    const cluster = await session.etcd();
    return await execute(session, obs, plan, cluster, runOpts, emit, finish, transcript, lock?.runId ?? null, lockLost);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (lock) await lock.release().catch(() => undefined);
    transcript.flush();
  }
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

/** Keeps the target's resume marker only when markerMatches trusts it for this run; reports it otherwise. */
function bindMarker(o: Observation, runId: string | null, staleRunIds: string[]): void {
  const state = o.targetVm?.state;
  if (!state?.marker) return;
  o.marker = state.marker;
  // A marker of a run that ended (cancelled, failed, killed) while no lock is held by anyone else: we
  // hold the cluster lock now, so that run is not running; its marker is trusted while the member list matches.
  const ended = state.marker.runId && state.marker.runId !== runId ? [state.marker.runId] : [];
  const v = runId
    ? markerMatches(state.marker, o.members ?? [], runId, { staleRunIds: [...staleRunIds, ...ended] })
    : markerMatches(state.marker, o.members ?? [], '', { staleRunIds: state.marker.runId ? [state.marker.runId] : [] });
  o.markerReason = v.reason;
  if (!v.trusted && o.targetVm) o.targetVm.state = null;
}

/** Phases: 1-4 for every target, then 5-7 one target at a time, then 8 for each. */
async function execute(
  session: DeploymentSession,
  obs: Observation[],
  plan: Plan,
  cluster: EtcdCluster,
  opts: RecoveryOptions,
  emit: (e: RecoveryEvent) => void,
  finish: (res: Omit<RecoveryResult, 'transcriptPath' | 'targets'>) => RecoveryResult,
  transcript: Transcript,
  runId: string | null,
  lockLost: () => boolean,
): Promise<RecoveryResult> {
  const time = () => new Date().toISOString();
  const plans = plan.memberPlans ?? [plan];
  const runs = plans.map((p) => {
    const r = new Run(
      session,
      obs.find((o) => o.targetLabel === p.target)!,
      p,
      cluster,
      opts,
      emit,
    );
    r.runId = runId;
    return r;
  });
  const stepsRun: StepId[] = [];
  const phase = (ids: StepId[]) => ids;
  const schedule: { run: Run; step: PlanStep }[] = [];
  for (const ids of [phase(['preflight', 'snapshot', 'stop']), phase(['remove'])])
    for (const r of runs) for (const s of r.plan.steps) if (ids.includes(s.id)) schedule.push({ run: r, step: s });
  for (const r of runs)
    for (const s of r.plan.steps) if (['mkdir', 'add', 'start'].includes(s.id)) schedule.push({ run: r, step: s });
  for (const r of runs) for (const s of r.plan.steps) if (s.id === 'postcheck') schedule.push({ run: r, step: s });
  const multi = plans.length > 1;
  const total = schedule.length;
  for (const [i, { run, step: s }] of schedule.entries()) {
    run.setStep(s.id);
    const p = run.plan;
    try {
      run.checkAbort();
      emit({
        type: 'step-start',
        time: time(),
        target: p.target,
        step: s.id,
        number: multi ? i + 1 : s.number,
        total: multi ? total : p.steps.length,
        title: multi ? `${s.title} (${p.target})` : s.title,
        alreadyDone: s.done,
      });
      for (const c of s.commands)
        if (c.done)
          emit({
            type: 'command',
            time: time(),
            step: s.id,
            host: c.host,
            command: c.command,
            purpose: c.purpose,
            mutates: c.mutates,
            skipped: c.doneReason ?? 'already done',
          });
      if (s.done && s.id !== 'start') {
        emit({
          type: 'step-done',
          time: time(),
          step: s.id,
          number: multi ? i + 1 : s.number,
          skipped: true,
          detail: s.commands
            .map((c) => c.doneReason)
            .filter(Boolean)
            .join('; '),
        });
        transcript.flush();
        continue;
      }
      await stepOf(s.id).run(run, s);
      run.stepsRun.push(s.id);
      stepsRun.push(s.id);
      if (s.id !== 'preflight' && s.id !== 'postcheck') await run.assertQuorum();
      emit({ type: 'step-done', time: time(), step: s.id, number: multi ? i + 1 : s.number, skipped: false });
      transcript.flush();
    } catch (e) {
      const common = {
        plan,
        failedStep: s.id,
        stepsRun,
        backupDir: p.backupDir,
        newMemberId: runs.length === 1 ? run.newMemberId : undefined,
      };
      if (lockLost()) {
        const msg = `The cluster lock was lost during step ${s.number} (${s.title}) of ${p.target} (another run broke it); stopped, nothing further was changed.`;
        emit({ type: 'step-failed', time: time(), step: s.id, number: s.number, error: msg, advice: RESUME_ADVICE });
        return finish({ outcome: 'failed', message: msg, error: msg, advice: RESUME_ADVICE, ...common });
      }
      if (e instanceof CancelledError) {
        const msg = `Cancelled during step ${s.number} (${s.title}) of ${p.target}; nothing further was changed. Run the recovery again to continue from here.`;
        emit({ type: 'cancelled', time: time(), step: s.id, message: msg });
        return finish({ outcome: 'cancelled', message: msg, ...common });
      }
      const err = e as Error;
      const advice = e instanceof StepError ? e.advice : RESUME_ADVICE;
      // etcd's own reason, from its log on the VM the step worked on
      const reason = s.id === 'snapshot' ? '' : await run.etcdReason(p.target);
      const error = reason ? `${err.message}; ${reason}` : err.message;
      emit({ type: 'step-failed', time: time(), step: s.id, number: s.number, error, advice });
      return finish({
        outcome: 'failed',
        message: `Step ${s.number} (${s.title}) of ${p.target} failed: ${error}`,
        error,
        advice,
        ...common,
      });
    }
  }
  const first = runs[0];
  const snap = first.plan.snapshotHost
    ? { host: first.plan.snapshotHost, path: first.plan.snapshotPath, localPath: first.snapshotLocal }
    : undefined;
  const done = runs.map((r) => `${r.plan.target} (member ${r.newMemberId})`).join(', ');
  return finish({
    outcome: 'recovered',
    message: `Recovered ${done}: started, healthy, voters, caught up and consistent (hashKV); old data kept in ${first.plan.backupDir}; snapshot ${first.plan.snapshotPath} on ${first.plan.snapshotHost}.`,
    plan,
    stepsRun,
    snapshot: snap,
    backupDir: first.plan.backupDir,
    newMemberId: runs.length === 1 ? first.newMemberId : runs.map((r) => r.newMemberId).join(','),
  });
}

export { STEP_ORDER };
