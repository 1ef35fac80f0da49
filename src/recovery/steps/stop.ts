// Step 3: record the recovery on the target, stop etcd under monit, and move the old data aside
// (kept in a timestamped backup, never deleted).
import * as cmd from '../commands';
import type { Run } from '../context';
import type { PlanStep } from '../events';
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
      cmd.monitStop(),
      stopDone,
      afterAdd ? 'the member was already re-added' : 'monit already reports etcd not monitored',
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
    `${cmd.DATA_DIR} holds nothing but an empty member/`,
  ];
}

export async function run(r: Run, s: PlanStep): Promise<void> {
  const [state, stop, move] = s.commands;
  if (!state.done) await r.exec(state);
  if (!stop.done) {
    await r.exec(stop);
    const stopped = await r.until(
      'monit reports etcd not monitored and the process is gone',
      r.timeouts.stopMs,
      async () => {
        const p = await r.probe(r.plan.target);
        return p.monitEtcd === 'not-monitored' && !p.etcdAlive ? p : undefined;
      },
      // a read-only probe over the open connection: polled as often as monit's own state changes matter
      200,
    );
    r.check('etcd stopped', true, `monit: etcd ${stopped.monitText}`);
  }
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
    'monit stop etcd, wait until not monitored, then move the old data directory contents to a timestamped backup (kept, not deleted).',
  commands,
  checks,
  run,
};
