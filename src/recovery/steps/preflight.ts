// Step 1: the pre-flight checks, as decided from the observation (the plan refuses before this step
// runs when any of them fails); the two commands show the operator the state the checks rest on.
import * as cmd from '../commands';
import type { Run } from '../context';
import type { PlanStep } from '../events';
import { planned, type PlanFacts, type RecoveryStep } from './step';

export const id = 'preflight';
export const title = 'Pre-flight checks';

export function commands(f: PlanFacts) {
  return [planned(f.label, cmd.monitSummary(), false), planned(f.helper, cmd.memberList(), false)];
}

export function checks(): string[] {
  return [
    'quorum and leader without the target',
    'target is broken',
    'member name = instance UUID, peer URL matches',
    'no alarms on healthy members',
    'disk space on target and snapshot member',
  ];
}

export async function run(r: Run, s: PlanStep): Promise<void> {
  for (const c of s.commands) await r.exec(c, { allowFail: true, timeoutMs: 30_000 });
  const o = r.obs;
  const others = o.views.filter((v) => v.instance.id !== r.plan.targetId);
  const healthy = others.filter((v) => v.healthy);
  const leader = healthy.map((v) => (v.status?.ok ? v.status.value.leader : '')).find((x) => x);
  r.check(
    'quorum and leader without the target',
    true,
    `${healthy.length} of ${others.length} other members healthy (quorum ${r.plan.quorum}), leader ${leader}`,
  );
  r.check('target is the broken member', true, r.plan.evidence.join('; ') || 'resuming');
  r.check(
    'identity',
    true,
    `member name = ${r.plan.targetId}, peer URL ${r.plan.peerUrl}${r.plan.targetBootstrap ? ' (bootstrap instance: member/ is recreated before start)' : ''}`,
  );
  r.check(
    'alarms',
    true,
    (o.alarms ?? []).length ? `only on the dead member: ${(o.alarms ?? []).map((a) => a.alarm).join(', ')}` : 'none',
  );
  r.check(
    'disk space',
    true,
    `target ${o.targetVm?.freeKb ?? '?'} KiB free, snapshot member ${o.helper?.vm.freeKb ?? '?'} KiB free`,
  );
}

export const step: RecoveryStep = {
  id,
  title,
  description:
    'Quorum and a leader without the target, the target really is the broken member, its identity (name = instance UUID, peer URL), alarms and disk space.',
  commands,
  checks,
  run,
};
