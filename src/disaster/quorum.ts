// The quorum-loss engine: observe every master (evidence), plan (refusals, survivor, order), confirm,
// take the cluster lock, then stop the etcd clients and etcd everywhere, keep a copy of the
// survivor's db, move the others' data aside, force the survivor into a new one-member cluster, start
// it under monit, add the others back one at a time, start the clients, verify. Stops at the first
// failure; running again resumes (the record on the survivor, src/disaster/quorumCommands.ts). A survivor
// whose etcd dies after it was forced stops the run with the state of each master (src/disaster/quorumReport.ts).
// Every event goes to the caller and to the transcript (src/recovery/transcript.ts). No `vscode` import here.
import type { DeploymentSession } from '../session/types';
import { CancelledError } from '../util/cancel';
import { StepError, RESUME_ADVICE } from '../recovery/context';
import { guardRun, takeRunLock } from '../recovery/runLock';
import { describeLock } from '../session/lockReport';
import { etcdFeatures } from '../etcd/version';
import type { RecoveryOutcome, Refusal } from '../recovery/events';
import { DisasterRun, openRunRecord, type DisasterEvent } from './context';
import { beginEtcdClientsStart, moveDataAside, stopEtcdClients, stopEtcdEverywhere } from './fleet';
import { describeEvidence, type MasterEvidence } from './evidence';
import { formatQuorumPlan, planQuorumRestore, type QuorumPlan } from './quorumPlan';
import { labelOf, mastersOf, observeQuorum } from './quorumObserve';
import { parseRecord, readRecord, survivorCopyPath } from './quorumCommands';
import { memberStates, SurvivorDownError } from './quorumReport';
import { forceNewCluster, rejoinAll, verify, type QuorumTimeouts } from './quorumSteps';
import { startSurvivorResuming } from './quorumResume';

export interface QuorumOptions {
  survivor?: string;
  dryRun?: boolean;
  yes?: boolean;
  /** Asked once with the plan before the first change; resolve false to stop. */
  confirm?: (plan: QuorumPlan) => Promise<boolean>;
  /** Without `survivor`: asked with the evidence and ranking (a preselection only when unambiguous). */
  chooseSurvivor?: (plan: QuorumPlan) => Promise<string | undefined>;
  breakLock?: boolean;
  /** The member that comes back by the runbook is added as a learner first (default: where etcd allows). */
  learner?: boolean;
  transcriptDir: string;
  onEvent?: (e: DisasterEvent) => void;
  signal?: AbortSignal;
  timeouts?: Partial<QuorumTimeouts>;
  now?: () => Date;
}

export interface QuorumResult {
  outcome: RecoveryOutcome;
  message: string;
  advice?: string;
  plan?: QuorumPlan;
  refusals?: Refusal[];
  evidence?: MasterEvidence[];
  transcriptPath: string;
  failedStep?: string;
  stepsRun: string[];
  /** When the survivor died during the run: one line per master (etcd, data, moved aside, cluster id). */
  memberStates?: string[];
}

export async function restoreQuorum(session: DeploymentSession, opts: QuorumOptions): Promise<QuorumResult> {
  const started = opts.now ? opts.now() : new Date();
  const { transcript, emit, time, done } = openRunRecord(session, {
    ...opts,
    target: `survivor ${opts.survivor ?? '(to choose)'}`,
    started,
    heading: 'etcd quorum restore',
    prefix: 'quorum-restore',
  });
  const stepsRun: string[] = [];
  const finish = (res: Omit<QuorumResult, 'transcriptPath' | 'stepsRun'>): QuorumResult => ({
    ...res,
    stepsRun,
    transcriptPath: done(res.outcome, res.message),
  });
  const t: QuorumTimeouts = { startMs: 180_000, monitMs: 90_000, ...opts.timeouts };

  // the Director's instance list is asked for while the lock is taken (the lock asks for it too: one request)
  const listed = session.instances();
  listed.catch(() => undefined);
  const taken = await takeRunLock(session, opts, 'quorum-restore');
  if (taken.kind === 'held') {
    emit({ type: 'refused', time: time(), refusals: [taken.refusal] });
    return finish({
      outcome: 'refused',
      message: `Refused: ${taken.refusal.message}`,
      refusals: [taken.refusal],
      advice: taken.refusal.advice,
    });
  }
  if (taken.kind === 'failed') return finish({ outcome: 'failed', message: taken.message, advice: taken.advice });
  for (const b of taken.lock?.broken ?? [])
    emit({ type: 'info', time: time(), message: `broke a stale cluster lock: ${describeLock(b)}` });
  const guard = guardRun(taken.lock, opts.signal);
  try {
    const instances = await listed;
    const masters = mastersOf(instances);
    const r = new DisasterRun(session, instances, emit, { dryRun: opts.dryRun, signal: guard.signal });
    r.setStep('evidence');
    let plan: QuorumPlan;
    try {
      const obs = await observeQuorum(r, masters);
      emit({ type: 'observed', time: time(), summary: obs.evidence.map((e) => describeEvidence(e)) });
      const learners = opts.learner ?? etcdFeatures(obs.version).learners;
      const planFor = (survivor: string | undefined) =>
        planQuorumRestore({
          deployment: session.deployment,
          evidence: obs.evidence,
          survivor,
          record: obs.record,
          now: started,
          learners,
        });
      plan = planFor(opts.survivor);
      // a dry-run without a choice shows the plan for the preselected survivor (when there is one)
      if (!plan.survivor && opts.dryRun && plan.ranking.preselected) plan = planFor(plan.ranking.preselected.label);
      if (!plan.survivor && opts.chooseSurvivor && plan.refusals.every((x) => x.code === 'invalid-input')) {
        const chosen = await opts.chooseSurvivor(plan);
        if (chosen) plan = planFor(chosen);
      }
    } catch (e) {
      if (e instanceof CancelledError)
        return finish({ outcome: 'cancelled', message: 'Cancelled before anything was changed.' });
      return finish({
        outcome: 'failed',
        message: `Could not observe the masters: ${(e as Error).message}`,
        advice: 'Check the Director and SSH access, then run again; nothing was changed.',
      });
    }
    emit({ type: 'info', time: time(), message: `Plan:\n${formatQuorumPlan(plan)}` });
    transcript.flush();
    const base = { plan, evidence: plan.evidence };
    if (plan.refusals.length) {
      emit({ type: 'refused', time: time(), refusals: plan.refusals });
      return finish({
        ...base,
        outcome: 'refused',
        message: `Refused: ${plan.refusals.map((x) => x.message).join(' ')}`,
        refusals: plan.refusals,
        advice: plan.refusals.map((x) => x.advice).join(' '),
      });
    }
    if (opts.dryRun)
      return finish({
        ...base,
        outcome: 'dry-run',
        message: `Dry-run: nothing was changed.\n${formatQuorumPlan(plan)}`,
      });
    let go = false;
    try {
      go = opts.confirm ? await opts.confirm(plan) : opts.yes === true;
    } catch {
      go = false;
    }
    if (!go || guard.signal.aborted)
      return finish({ ...base, outcome: 'declined', message: 'Not confirmed: nothing was changed.' });

    const record = await observeRecord(r, plan);
    let clientsRunning: (() => Promise<void>) | undefined;
    const steps: [string, () => unknown][] = [
      ['stop-clients', () => stopEtcdClients(r, plan.masters, { monitMs: t.monitMs })],
      [
        'stop-etcd',
        () =>
          record?.forced ? skipStep(r, 'stop-etcd', plan) : stopEtcdEverywhere(r, plan.masters, { monitMs: t.monitMs }),
      ],
      ['copy-db', () => (record?.forced ? skipStep(r, 'copy-db', plan) : copyDb(r, plan, !!record))],
      ['move-aside', () => (record?.forced ? skipStep(r, 'move-aside', plan) : moveOthers(r, plan))],
      ['force-new-cluster', () => forceNewCluster(r, plan, !!record?.forced, t)],
      ['start-survivor', () => startSurvivorResuming(r, plan, t, !!record?.forced)],
      ['rejoin', () => rejoinAll(r, plan, t)],
      // the clients are started here and waited for during the verification (nothing is replaced any more)
      [
        'start-clients',
        async () => (clientsRunning = await beginEtcdClientsStart(r, plan.masters, { monitMs: t.monitMs })),
      ],
      [
        'verify',
        async () => {
          await verify(r, plan, t, clientsRunning);
          await r.exec(plan.steps.find((s) => s.id === 'verify')!.commands[0]);
        },
      ],
    ];
    for (const [id, run] of steps) {
      const s = plan.steps.find((x) => x.id === id)!;
      r.setStep(id);
      emit({
        type: 'step-start',
        time: time(),
        step: id,
        number: s.number,
        total: plan.steps.length,
        title: s.title,
        alreadyDone: false,
      });
      try {
        await run();
      } catch (e) {
        if (guard.lockLost() || e instanceof CancelledError) {
          const msg = `${guard.lockLost() ? 'The cluster lock was lost' : 'Cancelled'} during step ${s.number} (${s.title}); nothing further was changed. Run again to continue.`;
          emit({ type: 'cancelled', time: time(), step: id, message: msg });
          return finish({
            ...base,
            outcome: guard.lockLost() ? 'failed' : 'cancelled',
            message: msg,
            failedStep: id,
            advice: RESUME_ADVICE,
          });
        }
        const advice = e instanceof StepError ? e.advice : RESUME_ADVICE;
        let error = (e as Error).message;
        let states: string[] | undefined;
        if (e instanceof SurvivorDownError) {
          states = await memberStates(r, plan);
          error += `. State of each master:\n${states.map((x) => `  ${x}`).join('\n')}`;
        }
        emit({ type: 'step-failed', time: time(), step: id, number: s.number, error, advice });
        return finish({
          ...base,
          outcome: 'failed',
          message: `Step ${s.number} (${s.title}) failed: ${error}`,
          advice,
          failedStep: id,
          memberStates: states,
        });
      }
      stepsRun.push(id);
      emit({ type: 'step-done', time: time(), step: id, number: s.number, skipped: false });
      transcript.flush();
    }
    return finish({
      ...base,
      outcome: 'recovered',
      message: `Quorum restored from ${plan.survivor}: ${plan.masters.length} members, one cluster, hashKV equal; the survivor's db copy is ${survivorCopyPath(plan.ts)} on ${plan.survivor}; the others' old data in /var/vcap/store/etcd.bak-${plan.ts}.`,
    });
  } finally {
    await guard.release();
    transcript.flush();
  }
}

/** The record as it is right before the first change (a run may have been killed since the plan). */
async function observeRecord(r: DisasterRun, plan: QuorumPlan) {
  const res = await r.exec({ host: plan.survivor!, ...readRecord() });
  const rec = parseRecord(res.stdout);
  return rec && !rec.finished && rec.ts === plan.ts ? rec : null;
}

function skipStep(r: DisasterRun, id: string, plan: QuorumPlan): void {
  for (const c of plan.steps.find((s) => s.id === id)!.commands)
    r.skipped(c, 'the survivor already runs as the new cluster (the record says so): not repeated');
}

async function copyDb(r: DisasterRun, plan: QuorumPlan, recorded: boolean) {
  const [rec, copy] = plan.steps.find((s) => s.id === 'copy-db')!.commands;
  if (recorded) r.skipped(rec, 'the run is recorded on the survivor');
  else await r.exec(rec);
  await r.exec(copy);
}

async function moveOthers(r: DisasterRun, plan: QuorumPlan) {
  for (const m of plan.masters.filter((x) => x !== plan.survivor)) await moveDataAside(r, m, plan.ts);
}

export { labelOf };
