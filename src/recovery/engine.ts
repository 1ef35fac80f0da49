// The recovery engine: observe → plan → confirm → run the steps (src/recovery/steps), each a visible
// runbook command on a VM plus a structured check of its effect. Stops at the first failure, on
// cancel, and on loss of quorum; a later run resumes from the observed state. Every event goes to
// the caller and to the transcript. No `vscode` import here.
import type { DeploymentSession } from '../session/types';
import type { EtcdCluster } from '../etcd/types';
import { CancelledError } from '../util/cancel';
import * as cmd from './commands';
import { observeCluster, type Observation } from './observe';
import { planRecovery, formatPlan } from './plan';
import { Transcript } from './transcript';
import { Run, StepError, RESUME_ADVICE } from './context';
import { stepOf } from './steps';
import { STEP_ORDER, type RecoveryEvent, type RecoveryOptions, type RecoveryResult } from './events';

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

/** Observe, plan, confirm and run the recovery of one instance's etcd member. Never throws for operational failures: see `outcome`. */
export async function runRecovery(
  session: DeploymentSession,
  target: string,
  opts: RecoveryOptions,
): Promise<RecoveryResult> {
  const started = opts.now ? opts.now() : new Date();
  const transcript = new Transcript(opts.transcriptDir, {
    deployment: session.deployment,
    target,
    dryRun: !!opts.dryRun,
    started,
  });
  const time = () => new Date().toISOString();
  const emit = (e: RecoveryEvent) => {
    transcript.record(e);
    try {
      opts.onEvent?.(e);
    } catch {
      /* a UI callback must not break the run */
    }
  };
  const finish = (res: Omit<RecoveryResult, 'transcriptPath'>): RecoveryResult => {
    const tp = transcript.path;
    emit({ type: 'done', time: time(), outcome: res.outcome, message: res.message, transcriptPath: tp });
    transcript.write();
    return { ...res, transcriptPath: tp };
  };

  try {
    cmd.validateInstanceLabel(target);
  } catch (e) {
    const refusals = [
      {
        code: 'invalid-input' as const,
        message: (e as Error).message,
        advice: 'Give the instance as group/uuid, e.g. master/8d1f…; nothing was sent to the VMs.',
      },
    ];
    emit({ type: 'refused', time: time(), refusals });
    return finish({
      outcome: 'refused',
      message: `Refused: ${(e as Error).message}`,
      refusals,
      advice: refusals[0].advice,
      stepsRun: [],
    });
  }

  let obs: Observation;
  let cluster: EtcdCluster;
  try {
    if (opts.signal?.aborted) throw new CancelledError();
    obs = await observeCluster(session, target);
    cluster = await session.etcd();
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
  emit({ type: 'observed', time: time(), summary: summarize(obs) });
  const plan = planRecovery(obs, { learner: opts.learner, now: started });
  emit({ type: 'plan', time: time(), plan });

  if (plan.refusals.length > 0) {
    emit({ type: 'refused', time: time(), refusals: plan.refusals });
    return finish({
      outcome: 'refused',
      message: `Refused: ${plan.refusals.map((r) => r.message).join(' ')}`,
      refusals: plan.refusals,
      advice: plan.refusals.map((r) => r.advice).join(' '),
      plan,
      stepsRun: [],
    });
  }
  if (opts.dryRun) {
    return finish({
      outcome: 'dry-run',
      message: `Dry-run: ${plan.steps.filter((s) => !s.done).length} of ${plan.steps.length} steps would run; nothing was changed.\n${formatPlan(plan)}`,
      plan,
      stepsRun: [],
    });
  }
  if (opts.signal?.aborted) {
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
  if (!go || opts.signal?.aborted) {
    const msg = opts.confirm
      ? 'Not confirmed: nothing was changed.'
      : 'Not confirmed (non-interactive run without --yes): nothing was changed.';
    emit({ type: 'cancelled', time: time(), message: msg });
    return finish({ outcome: 'declined', message: msg, plan, stepsRun: [] });
  }

  const run = new Run(session, obs, plan, cluster, opts, emit);
  for (const s of plan.steps) {
    run.setStep(s.id);
    const total = plan.steps.length;
    try {
      run.checkAbort();
      emit({
        type: 'step-start',
        time: time(),
        step: s.id,
        number: s.number,
        total,
        title: s.title,
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
          number: s.number,
          skipped: true,
          detail: s.commands
            .map((c) => c.doneReason)
            .filter(Boolean)
            .join('; '),
        });
        continue;
      }
      await stepOf(s.id).run(run, s);
      run.stepsRun.push(s.id);
      if (s.id !== 'preflight' && s.id !== 'postcheck') await run.assertQuorum();
      emit({ type: 'step-done', time: time(), step: s.id, number: s.number, skipped: false });
    } catch (e) {
      if (e instanceof CancelledError) {
        const msg = `Cancelled during step ${s.number} (${s.title}); nothing further was changed. Run the recovery again to continue from here.`;
        emit({ type: 'cancelled', time: time(), step: s.id, message: msg });
        return finish({
          outcome: 'cancelled',
          message: msg,
          plan,
          failedStep: s.id,
          stepsRun: run.stepsRun,
          backupDir: plan.backupDir,
          newMemberId: run.newMemberId,
        });
      }
      const err = e as Error;
      const advice = e instanceof StepError ? e.advice : RESUME_ADVICE;
      emit({ type: 'step-failed', time: time(), step: s.id, number: s.number, error: err.message, advice });
      return finish({
        outcome: 'failed',
        message: `Step ${s.number} (${s.title}) failed: ${err.message}`,
        error: err.message,
        advice,
        plan,
        failedStep: s.id,
        stepsRun: run.stepsRun,
        backupDir: plan.backupDir,
        newMemberId: run.newMemberId,
      });
    }
  }
  const snap = plan.snapshotHost
    ? { host: plan.snapshotHost, path: plan.snapshotPath, localPath: run.snapshotLocal }
    : undefined;
  return finish({
    outcome: 'recovered',
    message: `Recovered ${plan.target}: member ${run.newMemberId} is started, healthy, a voter, caught up and consistent (hashKV); old data kept in ${plan.backupDir}; snapshot ${plan.snapshotPath} on ${plan.snapshotHost}.`,
    plan,
    stepsRun: run.stepsRun,
    snapshot: snap,
    backupDir: plan.backupDir,
    newMemberId: run.newMemberId,
  });
}

export { STEP_ORDER };
