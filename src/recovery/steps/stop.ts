// Step 3: stop etcd under monit (while step 2's snapshot is read back), record the recovery on the
// target, and move the old data aside (kept in a timestamped backup, never deleted).
import * as cmd from '../commands';
import type { Run } from '../context';
import type { PlanStep } from '../events';
import { verifySnapshot } from './snapshot';
import { built, planned, type PlanFacts, type RecoveryStep } from './step';

export const id = 'stop';
export const title = 'Stop etcd on the target and move its data aside';

export function commands(f: PlanFacts) {
  const afterAdd = !!f.newId;
  const stopDone = afterAdd || (f.monit === 'not-monitored' && !f.etcdAlive);
  const moveDone = f.etcdRunsForAdded || f.dataDirEmpty;
  return [
    planned(
      f.label,
      cmd.monitStop(),
      stopDone,
      afterAdd ? 'the member was already re-added' : 'monit already reports etcd not monitored',
    ),
    planned(
      f.label,
      built('state file', () =>
        cmd.writeStateFile(f.ts, f.staleId, f.snapshotHost, {
          runId: f.runId,
          instance: f.obs.target?.id ?? null,
          peerUrl: f.peerUrl || null,
        }),
      ),
      f.resumed,
      'the recovery record exists',
    ),
    planned(
      f.label,
      built('move', () => cmd.moveDataAside(f.ts)),
      moveDone,
      f.etcdRunsForAdded ? 'etcd already runs for the re-added member' : 'the data directory holds nothing to move',
    ),
  ];
}

export function checks(): string[] {
  return [
    'monit reports etcd not monitored and the process is gone',
    "step 2's snapshot reads back (`snapshot status`), before the recovery record is written",
    `${cmd.DATA_DIR} holds nothing but an empty member/`,
  ];
}

/** How often the stop is looked at: a read-only probe over the open connection. */
const POLL_MS = 100;

async function waitStopped(r: Run): Promise<void> {
  const stopped = await r.until(
    'monit reports etcd not monitored and the process is gone',
    r.timeouts.stopMs,
    async () => {
      const p = await r.probe(r.plan.target);
      return p.monitEtcd === 'not-monitored' && !p.etcdAlive ? p : undefined;
    },
    POLL_MS,
  );
  r.check('etcd stopped', true, `monit: etcd ${stopped.monitText}`);
}

export async function run(r: Run, s: PlanStep): Promise<void> {
  const [stop, state, move] = s.commands;
  if (!stop.done) await r.exec(stop);
  // The snapshot is read back while monit stops etcd (the target is broken: stopping it changes no
  // data and no membership). The recovery record comes after both: a later run that finds it skips
  // the snapshot, so it must never exist for a snapshot that did not read back.
  const [stopped, verified] = await Promise.allSettled([
    stop.done ? Promise.resolve() : waitStopped(r),
    verifySnapshot(r),
  ]);
  if (verified.status === 'rejected') throw verified.reason;
  if (stopped.status === 'rejected') throw stopped.reason;
  if (!state.done) await r.exec(state);
  if (!move.done) await r.exec(move);
  const p = await r.probe(r.plan.target);
  const empty =
    p.dataEntries === null ||
    p.dataEntries.length === 0 ||
    (p.dataEntries.length === 1 && p.dataEntries[0] === 'member' && p.memberDir.entries.length === 0);
  r.check(
    'data moved aside',
    empty,
    empty
      ? `${cmd.DATA_DIR} is empty; old data in ${r.plan.backupDir}`
      : `${cmd.DATA_DIR} still holds: ${p.dataEntries!.join(', ')}`,
  );
}

export const step: RecoveryStep = {
  id,
  title,
  description:
    "monit stop etcd and wait until not monitored (step 2's snapshot is read back meanwhile), write the recovery record, then move the old data directory contents to a timestamped backup (kept, not deleted).",
  commands,
  checks,
  run,
};
