// Restore every master from one snapshot (BBR style): pre-checks before anything is stopped, the
// snapshot put on every master and checked there while kube-apiserver stops on every master (both
// finished before etcd is stopped), etcd stopped everywhere (the leader last), every
// member restored from that same file with its own name and peer URL, the old data moved aside
// (timestamped, kept), all started together, verified, kube-apiserver started again. Holds the
// cluster lock; every command is an event and lands in the transcript; a killed run resumes from
// the record each master keeps (src/disaster/restoreCommands.ts). No `vscode` import here.
import * as fs from 'fs';
import type { DeploymentSession } from '../session/types';
import { CancelledError } from '../util/cancel';
import { sameMemberId } from '../etcd/ids';
import { StepError } from '../recovery/context';
import { guardRun, takeRunLock } from '../recovery/runLock';
import * as cmd from '../recovery/commands';
import type { Refusal, RecoveryOutcome } from '../recovery/events';
import { openRunRecord, type DisasterEvent } from './context';
import { moveDataAside, onEveryMaster, startEtcdClients, stopEtcdClients, stopEtcdEverywhere } from './fleet';
import { installRestored, removeRestoreState, restoreMember, type Bump } from './restoreCommands';
import { confirmationText, type SnapshotFacts } from './restoreChecks';
import { formatRestorePlan, RESTORE_STEPS, restorePlan, snapshotPathOnVms, type RestoreStepId } from './restorePlan';
import { placeSnapshot, RestoreRun } from './restoreTransfer';
import { precheckRestore } from './restorePrecheck';
import { verifyRestoredCluster, waitDirectorRunning } from './restoreVerify';

export interface RestoreOptions {
  /** A snapshot file on the workstation; or a path on the VMs: already on every master (snapshotOnVms), or on one (snapshotVm). */
  snapshot: string;
  snapshotOnVms?: boolean;
  /** 'group/uuid' of the master holding `snapshot`: copied to the workstation, verified, then put on every master. */
  snapshotVm?: string;
  /** The deployment name as the operator typed it: must equal the deployment (not needed for a dry run). */
  confirmDeployment?: string;
  dryRun?: boolean;
  /** Without `confirm`, a real run proceeds only with yes. */
  yes?: boolean;
  /** Asked with the confirmation's lines and the plan; resolve false to stop (nothing changed). */
  confirm?: (lines: string[]) => Promise<boolean>;
  bump?: Bump;
  breakLock?: boolean;
  signal?: AbortSignal;
  transcriptDir: string;
  onEvent?: (e: DisasterEvent) => void;
  timeouts?: { uploadMs?: number; monitMs?: number; startMs?: number; directorMs?: number };
}

export interface RestoreResult {
  outcome: RecoveryOutcome;
  message: string;
  advice?: string;
  transcriptPath: string;
  refusals?: Refusal[];
  lockHolder?: string;
  snapshot?: SnapshotFacts;
  /** The plan's lines (the dry run's output). */
  plan?: string[];
  failedStep?: string;
  clusterId?: string;
  /** Where each master's old data went. */
  backupDirs?: string[];
}

/** The master whose member leads (from the members' own status); undefined when none answers as leader. */
async function leaderOf(session: DeploymentSession, labels: string[]): Promise<string | undefined> {
  try {
    const cluster = await session.etcd();
    const lead = (await cluster.status()).find((x) => x.ok && x.value.leader === x.value.memberId);
    if (!lead?.ok) return undefined;
    const member = (await cluster.memberList()).find((m) => sameMemberId(m.id, lead.value.memberId));
    return labels.find((l) => member?.name && l.endsWith(`/${member.name}`));
  } catch {
    return undefined; // etcd already down somewhere (a resumed run): every master is stopped at once
  }
}

/** Never throws for operational failures: see `outcome`. */
export async function runRestore(session: DeploymentSession, opts: RestoreOptions): Promise<RestoreResult> {
  const started = new Date();
  const { transcript, emit, time, done } = openRunRecord(session, {
    ...opts,
    target: 'every master',
    started,
    heading: 'etcd restore from a snapshot',
    prefix: 'restore',
  });
  const finish = (res: Omit<RestoreResult, 'transcriptPath'>): RestoreResult => ({
    ...res,
    transcriptPath: done(res.outcome, res.message),
  });
  const refuse = (refusals: Refusal[], extra: Partial<RestoreResult> = {}) => {
    emit({ type: 'refused', time: time(), refusals });
    return finish({
      outcome: 'refused',
      message: `Refused: ${refusals.map((r) => r.message).join(' ')}`,
      advice: refusals.map((r) => r.advice).join(' '),
      refusals,
      ...extra,
    });
  };
  const t = {
    uploadMs: opts.timeouts?.uploadMs ?? 1_800_000,
    monitMs: opts.timeouts?.monitMs ?? 90_000,
    startMs: opts.timeouts?.startMs ?? 180_000,
    directorMs: opts.timeouts?.directorMs ?? 180_000,
  };
  let step: RestoreStepId = 'precheck';
  let run: RestoreRun | undefined;
  let snap: SnapshotFacts | undefined;
  const stepStart = (id: RestoreStepId) => {
    step = id;
    run?.setStep(id);
    emitStepStart(id);
  };
  const emitStepStart = (id: RestoreStepId) => {
    const n = RESTORE_STEPS.findIndex((s) => s.id === id);
    emit({
      type: 'step-start',
      time: time(),
      step: id,
      number: n + 1,
      total: RESTORE_STEPS.length,
      title: RESTORE_STEPS[n].title,
      alreadyDone: false,
    });
    transcript.flush();
  };
  const stepDone = (id: RestoreStepId, detail?: string) =>
    emit({
      type: 'step-done',
      time: time(),
      step: id,
      number: RESTORE_STEPS.findIndex((s) => s.id === id) + 1,
      skipped: false,
      detail,
    });

  let guard: ReturnType<typeof guardRun> | undefined;
  /** Copies of a snapshot taken from a VM (removed at the end: the original stays on the VM). */
  const tempDirs: string[] = [];
  try {
    // ---- pre-checks: nothing is stopped or changed before they pass
    stepStart('precheck');
    const instances = await session.instances();
    run = new RestoreRun(session, instances, emit, { dryRun: opts.dryRun, signal: opts.signal });
    run.setStep('precheck');
    const pre = await precheckRestore(session, run, emit, opts, (d) => tempDirs.push(d));
    if ('refusals' in pre) return refuse(pre.refusals, { snapshot: pre.snap });
    const { labels, check } = pre;
    snap = pre.snap;
    const ts = check.resumeTs ?? cmd.stampOf(started);
    const byLabel = new Map(pre.facts.map((f) => [f.label, check.members.find((m) => m.id === f.id)!]));
    const planned = restorePlan({
      masters: labels.map((l) => ({ label: l, member: byLabel.get(l)! })),
      sha256: snap!.sha256,
      pathOnVms: opts.snapshotOnVms ? opts.snapshot : undefined,
      ts,
      tool: check.tool,
      bump: opts.bump,
    });
    const lines = [
      ...confirmationText(session.deployment, snap!, labels, opts.bump),
      '',
      ...formatRestorePlan(planned),
    ];
    stepDone('precheck', `${labels.length} masters, etcd ${check.version?.text}, ${check.tool}`);
    if (opts.dryRun) {
      for (const s of planned) {
        stepStart(s.id);
        for (const c of s.commands) if (c.mutates) run.skipped(c, 'dry-run');
      }
      return finish({
        outcome: 'dry-run',
        message: 'Dry run: nothing was stopped or changed.',
        plan: lines,
        snapshot: snap,
      });
    }
    const ok = opts.confirm ? await opts.confirm(lines) : !!opts.yes;
    if (!ok)
      return finish({
        outcome: 'declined',
        message: 'Not confirmed: nothing was stopped or changed.',
        plan: lines,
        snapshot: snap,
      });

    const lock = await takeRunLock(session, opts, 'snapshot-restore');
    if (lock.kind === 'held') return refuse([lock.refusal], { lockHolder: lock.holder, snapshot: snap });
    if (lock.kind === 'failed') return refuse([{ code: 'lock-held', message: lock.message, advice: lock.advice }]);
    guard = guardRun(lock.lock, opts.signal);
    run = new RestoreRun(session, instances, emit, { signal: guard.signal });
    const remote = snapshotPathOnVms({
      sha256: snap!.sha256,
      pathOnVms: opts.snapshotOnVms ? opts.snapshot : undefined,
    });

    stepStart('upload');
    // kube-apiserver stops meanwhile (monit takes seconds): its own run object, so its commands are
    // recorded under its own step; both finish (or fail) before etcd is stopped
    const clientsRun = new RestoreRun(session, instances, emit, { signal: guard.signal });
    const stopping = (async () => {
      clientsRun.setStep('stop-clients');
      emitStepStart('stop-clients');
      await stopEtcdClients(clientsRun, labels, { monitMs: t.monitMs });
      stepDone('stop-clients');
    })();
    // every master at once: each upload is its own SSH channel reading the file from the start
    // (all settle before a failure is reported, so nothing still runs when the run ends)
    const placed = await Promise.allSettled(
      labels.map((h) =>
        placeSnapshot(run!, h, snap!, remote, check.tool, { localFile: pre.localFile, uploadMs: t.uploadMs }),
      ),
    );
    const clients = await Promise.allSettled([stopping]);
    const failed = placed.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    if (failed) throw failed.reason;
    stepDone('upload');
    if (clients[0].status === 'rejected') {
      step = 'stop-clients';
      throw clients[0].reason;
    }

    const todo = labels.filter((l) => !check.alreadyRestored.includes(l));
    stepStart('stop-etcd');
    if (todo.length) {
      // followers first, then the leader: a leader stopped together with its followers waits for a
      // leadership transfer that cannot finish (etcd's request timeout, seconds); stopped last, it
      // has no follower to hand over to and exits at once. Each group is verified down.
      const leader = await leaderOf(session, labels);
      if (leader) {
        run.info(`${leader} leads: the other masters are stopped first`);
        await stopEtcdEverywhere(
          run,
          labels.filter((l) => l !== leader),
          { monitMs: t.monitMs },
        );
      }
      await stopEtcdEverywhere(run, leader ? [leader] : labels, { monitMs: t.monitMs });
    } else run.info('every master is already restored from this snapshot: etcd is not stopped again');
    stepDone('stop-etcd');

    stepStart('restore');
    const backupDirs: string[] = [];
    // every master at once (each its own file and directories), as BBR runs its restore scripts
    await onEveryMaster(labels, async (h) => {
      if (!todo.includes(h)) {
        run!.info(`${h}: already restored from this snapshot (${ts})`);
        return;
      }
      await run!.exec(
        { host: h, ...restoreMember(remote, byLabel.get(h)!, check.members, ts, check.tool, opts.bump) },
        { timeoutMs: t.uploadMs },
      );
      const b = await moveDataAside(run!, h, ts);
      if (b) backupDirs.push(`${h}:${b}`);
      await run!.exec({ host: h, ...installRestored(ts, snap!.sha256) });
    });
    backupDirs.sort((a, b) => labels.indexOf(a.split(':')[0]) - labels.indexOf(b.split(':')[0]));
    stepDone('restore', backupDirs.length ? `old data kept in ${backupDirs.join(', ')}` : undefined);

    stepStart('start-etcd');
    for (const h of labels) await run.exec({ host: h, ...cmd.monitStart() });
    stepDone('start-etcd');

    stepStart('verify');
    const minRevision = BigInt(snap!.revision) + BigInt(opts.bump?.revision ?? 0);
    const v = await verifyRestoredCluster(run, session, { members: check.members, minRevision }, t.startMs);
    stepDone('verify', `cluster ${v.clusterId}, revision ${v.revision}`);

    stepStart('start-clients');
    await startEtcdClients(run, labels, { monitMs: t.monitMs });
    await waitDirectorRunning(run, session, t.directorMs);
    stepDone('start-clients');

    stepStart('finish');
    for (const h of labels) await run.exec({ host: h, ...removeRestoreState() });
    stepDone('finish');
    return finish({
      outcome: 'recovered',
      message: `Every master (${labels.length}) restored from ${snap!.file} (revision ${snap!.revision}): cluster ${v.clusterId}, every member healthy, hashKV equal.`,
      snapshot: snap,
      clusterId: v.clusterId,
      backupDirs,
    });
  } catch (e) {
    if (e instanceof CancelledError || opts.signal?.aborted) {
      emit({
        type: 'cancelled',
        time: time(),
        step,
        message: 'Stopped before the next command. Run the restore again to finish it.',
      });
      return finish({
        outcome: 'cancelled',
        message: 'Cancelled: run the same restore again to finish it.',
        snapshot: snap,
        failedStep: step,
      });
    }
    const advice =
      e instanceof StepError
        ? e.advice
        : 'Fix the cause, then run the same restore again: it continues where this run stopped.';
    const message = guard?.lockLost()
      ? `the cluster lock was lost (another run broke it): ${(e as Error).message}`
      : (e as Error).message;
    emit({
      type: 'step-failed',
      time: time(),
      step,
      number: RESTORE_STEPS.findIndex((s) => s.id === step) + 1,
      error: message,
      advice,
    });
    return finish({
      outcome: 'failed',
      message: `Step ${step} failed: ${message}`,
      advice,
      snapshot: snap,
      failedStep: step,
    });
  } finally {
    await guard?.release();
    for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  }
}
