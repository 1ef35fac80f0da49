// Step 5: an empty member/ directory owned by vcap, so the job's start script joins the existing
// cluster (without it, the bootstrap instance would start a new one-member cluster).
import * as cmd from '../commands';
import type { Run } from '../context';
import type { PlanStep } from '../events';
import { planned, type PlanFacts, type RecoveryStep } from './step';

export const id = 'mkdir';
export const title = 'Recreate the empty member/ directory';

export function commands(f: PlanFacts) {
  const vm = f.obs.targetVm;
  const done =
    f.etcdRunsForAdded ||
    (!!vm?.memberDir.exists &&
      (vm.memberDir.owner ?? '').startsWith('vcap:') &&
      vm.memberDir.entries.length === 0 &&
      f.dataDirEmpty);
  return [
    planned(
      f.label,
      cmd.recreateMemberDir(),
      done,
      f.etcdRunsForAdded ? 'etcd already runs for the re-added member' : 'an empty member/ owned by vcap exists',
    ),
  ];
}

export function checks(): string[] {
  return [`${cmd.MEMBER_DIR} exists, owned by vcap, empty`];
}

export async function run(r: Run, s: PlanStep): Promise<void> {
  await r.exec(s.commands[0]);
  const p = await r.probe(r.plan.target);
  const ok = p.memberDir.exists && (p.memberDir.owner ?? '').startsWith('vcap:') && p.memberDir.entries.length === 0;
  r.check(
    'empty member/ owned by vcap',
    ok,
    p.memberDir.exists
      ? `${cmd.MEMBER_DIR} ${p.memberDir.owner} [${p.memberDir.entries.join(', ')}]`
      : `${cmd.MEMBER_DIR} is missing`,
  );
}

export const step: RecoveryStep = {
  id,
  title,
  description:
    "An empty member/ owned by vcap makes the job's start script join the existing cluster instead of self-adding (or, on the bootstrap instance, creating a new one-member cluster).",
  commands,
  checks,
  run,
};
