// Running a confirmed plan: the steps of every target in phase order, each a visible runbook command
// plus a structured check of its effect (src/recovery/steps); stops at the first failure, on cancel,
// on loss of quorum and on loss of the cluster lock. No `vscode` import here.
import type { DeploymentSession } from '../session/types';
import type { EtcdCluster } from '../etcd/types';
import { CancelledError } from '../util/cancel';
import type { Observation } from './observe';
import type { Transcript } from './transcript';
import { Run, StepError, RESUME_ADVICE } from './context';
import { stepOf } from './steps';
import type { Plan, PlanStep, RecoveryEvent, RecoveryOptions, RecoveryResult, StepId } from './events';

/** Phases: 1-4 for every target, then 5-7 one target at a time, then 8 for each. */
export async function execute(
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
  try {
    return await runAll(runs, plan, emit, finish, transcript, lockLost);
  } finally {
    for (const r of runs) r.end(); // what a step started in the background stops
  }
}

async function runAll(
  runs: Run[],
  plan: Plan,
  emit: (e: RecoveryEvent) => void,
  finish: (res: Omit<RecoveryResult, 'transcriptPath' | 'targets'>) => RecoveryResult,
  transcript: Transcript,
  lockLost: () => boolean,
): Promise<RecoveryResult> {
  const time = () => new Date().toISOString();
  const plans = runs.map((r) => r.plan);
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
