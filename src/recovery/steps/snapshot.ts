// Step 2: a snapshot of the keyspace on a healthy member before any membership change; the run
// stops here (nothing changed yet) if it cannot be saved and read back.
import * as fs from 'fs';
import * as path from 'path';
import { parseSnapshotStatus, type SnapshotStatus } from '../../etcd/parsers';
import { snapshotStatusTool } from '../../etcd/version';
import * as cmd from '../commands';
import type { Run } from '../context';
import type { PlanStep } from '../events';
import { built, planned, type PlanFacts, type RecoveryStep } from './step';

export const id = 'snapshot';
export const title = 'Snapshot a healthy member';

export function commands(f: PlanFacts) {
  const done = 'a snapshot was taken when this recovery started';
  // the snapshot member's server version and whether its VM has etcdutl decide the status command
  const helperStatus = f.obs.views.find((v) => v.label === f.obs.helper?.label)?.status;
  const tool = snapshotStatusTool(
    helperStatus?.ok ? helperStatus.value.version : undefined,
    f.obs.helper?.vm.etcdutl ?? false,
  );
  return [
    planned(
      f.helper,
      built('snapshot', () => cmd.snapshotSave(f.ts)),
      f.resumed,
      done,
    ),
    planned(
      f.helper,
      built('snapshot status', () => cmd.snapshotStatus(f.ts, tool)),
      f.resumed,
      done,
    ),
  ];
}

export function checks(): string[] {
  return [
    'snapshot saved; `snapshot status` reads it back (in step 3, while etcd stops there: before the recovery record is written and anything is moved)',
  ];
}

/**
 * Reads the snapshot back with `snapshot status` (step 2's second command) and checks the answer.
 * Step 3 runs it while etcd stops on the target: the recovery record (which makes a later run skip
 * the snapshot) and the data move wait for it. Nothing to do when this run took no snapshot.
 */
export async function verifySnapshot(r: Run): Promise<void> {
  const status = r.snapshotToVerify;
  if (!status) return;
  const st = await r.exec(status, { timeoutMs: 120_000 });
  let read: SnapshotStatus | undefined;
  let problem = '';
  try {
    read = parseSnapshotStatus(st.stdout);
  } catch (e) {
    problem = (e as Error).message;
  }
  r.check(
    'snapshot readable',
    !!read,
    read
      ? `${r.plan.snapshotPath} on ${r.plan.snapshotHost}: hash ${read.hash}, revision ${read.revision}, ${read.totalKeys} keys, ${read.totalSize} bytes`
      : `snapshot status printed no hash/revision row (${problem}): ${st.stdout.trim()}`,
  );
  r.snapshotToVerify = undefined;
}

export async function run(r: Run, s: PlanStep): Promise<void> {
  const [save, status] = s.commands;
  await r.exec(save, { timeoutMs: 600_000 });
  r.snapshotToVerify = status;
  if (r.opts.downloadSnapshotTo) {
    await verifySnapshot(r); // a copy the operator keeps is read back before it is downloaded
    const h = await r.host(save.host);
    const buf = await h.readFile(r.plan.snapshotPath, { sudo: true });
    fs.mkdirSync(r.opts.downloadSnapshotTo, { recursive: true, mode: 0o700 });
    const local = path.join(
      r.opts.downloadSnapshotTo,
      `${r.plan.deployment.replace(/[^A-Za-z0-9_.-]/g, '_')}-${r.plan.targetId}-${r.plan.ts}.db`,
    );
    fs.writeFileSync(local, buf, { mode: 0o600 });
    r.snapshotLocal = local;
    r.check('snapshot downloaded', buf.length > 0, `${buf.length} bytes to ${local}`);
  }
}

export const step: RecoveryStep = {
  id,
  title,
  description: 'Save the keyspace on a healthy member before any membership change; abort if it fails.',
  commands,
  checks,
  run,
};
