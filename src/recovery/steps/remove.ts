// Step 4: remove the dead member from the cluster. Never sent twice blindly: the member list decides.
import * as cmd from '../commands';
import type { Run } from '../context';
import type { PlanStep } from '../events';
import { changeMembership } from './membershipChange';
import { planned, type PlanFacts, type RecoveryStep } from './step';

export const id = 'remove';
export const title = 'Remove the dead member';

export function commands(f: PlanFacts) {
  return [
    planned(
      f.label,
      f.staleId
        ? cmd.memberRemove(f.staleId)
        : {
            command: `${cmd.ETCDCTL} member remove <id of the dead member>`,
            mutates: true,
            purpose: 'remove the dead member from the cluster',
          },
      !f.staleId,
      'the dead member is no longer registered',
    ),
  ];
}

export function checks(): string[] {
  return ['member list no longer has the dead member'];
}

export async function run(r: Run, s: PlanStep): Promise<void> {
  const [remove] = s.commands;
  const id = r.plan.staleMemberId!;
  const { res, members, applied } = await changeMembership(
    r,
    remove,
    (listed) => (listed.some((m) => m.id === id) ? undefined : true),
    { change: 'the removal', notApplied: `member ${id} is still registered` },
  );
  const still = !applied;
  if (res.code !== 0 && !still)
    r.info(
      `member remove reported ${res.code === null ? 'a dropped connection or timeout' : `exit ${res.code}`}, but member ${id} is gone: the removal succeeded.`,
    );
  if (still && res.code !== 0) {
    r.check(
      'dead member removed',
      false,
      `member ${id} is still registered; \`${remove.command}\` failed with ${res.code ?? 'no exit code'}: ${res.stderr.trim()}`,
    );
  }
  r.check(
    'dead member removed',
    !still,
    still
      ? `member ${id} is still registered`
      : `member list: ${members.map((m) => `${m.id} ${m.name || '(unstarted)'}`).join(', ')}`,
  );
}

export const step: RecoveryStep = {
  id,
  title,
  description:
    'etcdctl member remove <hex id>: the cluster forgets the dead member (never retried blindly; a timeout is followed by a re-list).',
  commands,
  checks,
  run,
};
