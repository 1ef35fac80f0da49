// Step 6: add the instance back as a new (unstarted) member, with the peer URL the job's utils.sh
// computes on the VM. Looked up again right before: the start script may have added it meanwhile.
import type { EtcdMember } from '../../etcd/types';
import { parseMemberAdd, type MemberAddResult } from '../../etcd/parsers';
import * as cmd from '../commands';
import type { Run } from '../context';
import type { Plan, PlanStep } from '../events';
import { changeMembership } from './membershipChange';
import { built, planned, type PlanFacts, type RecoveryStep } from './step';

export const id = 'add';
export const title = 'Add the member back';

export function commands(f: PlanFacts) {
  return [
    planned(
      f.label,
      built('member add', () => cmd.memberAdd(f.obs.target?.id ?? '', f.learner)),
      !!f.newId,
      `member ${f.newId} is already registered for ${f.label}`,
    ),
  ];
}

export function checks(f: PlanFacts): string[] {
  return [
    'member list has an unstarted member with the peer URL',
    f.learner ? 'the new member is a learner' : 'the new member is a voter',
  ];
}

/** The member registered for the target's peer URL other than the dead one. */
export function findAdded(members: EtcdMember[], plan: Plan): EtcdMember | undefined {
  return members.find((m) => m.peerURLs.includes(plan.peerUrl) && m.id !== plan.staleMemberId);
}

/** etcdctl's answer to `member add`, when it printed one. */
function answerOf(r: Run, stdout: string): MemberAddResult | undefined {
  if (!stdout.trim()) return undefined;
  try {
    const answer = parseMemberAdd(stdout);
    r.info(
      `etcd added member ${answer.memberId} to cluster ${answer.clusterId} (initial cluster state ${answer.initialClusterState || 'not printed'})`,
    );
    return answer;
  } catch (e) {
    r.info(`member add printed no answer the engine can read (${(e as Error).message}); the member list decides.`);
    return undefined;
  }
}

export async function run(r: Run, s: PlanStep): Promise<void> {
  const [add] = s.commands;
  const before = findAdded(await r.members(), r.plan);
  if (before) {
    r.skipped(add, `member ${before.id} is already registered with ${r.plan.peerUrl}`);
    r.newMemberId = before.id;
  } else {
    const { res, applied: m } = await changeMembership(r, add, (listed) => findAdded(listed, r.plan), {
      change: 'the member add',
      notApplied: 'no member was added',
    });
    const answer = answerOf(r, res.stdout);
    if (!m) {
      r.check(
        'member added',
        false,
        `no member with ${r.plan.peerUrl} after \`member add\` (exit ${res.code ?? 'none'}): ${res.stderr.trim() || res.stdout.trim()}`,
      );
      return;
    }
    if (res.code !== 0)
      r.info(
        `member add reported ${res.code === null ? 'a dropped connection or timeout' : `exit ${res.code}`} (${res.stderr.trim()}), but member ${m.id} is registered with ${r.plan.peerUrl}: recognised as done.`,
      );
    if (answer && answer.memberId !== m.id)
      r.info(`member add printed id ${answer.memberId}; the member list has ${m.id}.`);
    r.newMemberId = m.id;
  }
  await r.recordAdded(r.newMemberId);
  const members = await r.members();
  const m = members.find((x) => x.id === r.newMemberId)!;
  r.check(
    'member added',
    !!m,
    `member ${m?.id} ${m?.name || '(unstarted)'} ${m?.peerURLs.join(',')}${m?.isLearner ? ' learner' : ''}`,
  );
  if (r.plan.learner)
    r.check('added as a learner', m.isLearner || m.name !== '', m.isLearner ? 'learner' : 'already promoted');
}

export const step: RecoveryStep = {
  id,
  title,
  description:
    'source utils.sh and etcdctl member add <instance uuid> --peer-urls ${etcd_peer_address}: registers the new member as unstarted.',
  commands,
  checks,
  run,
};
