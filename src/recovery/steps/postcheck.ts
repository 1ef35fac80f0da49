// Step 8: the whole cluster is healthy, member names are the instance UUIDs, the Director reports
// the instance running, no alarms are left; then the recovery record is cleared.
import * as cmd from '../commands';
import type { Run } from '../context';
import type { PlanStep } from '../events';
import { planned, type PlanFacts, type RecoveryStep } from './step';

export const id = 'postcheck';
export const title = 'Post-checks';

export function commands(f: PlanFacts) {
  return [planned(f.label, cmd.removeStateFile(), false)];
}

export function checks(): string[] {
  return ['all members healthy', 'member names = instance UUIDs', 'Director reports the instance running', 'no alarms'];
}

export async function run(r: Run, s: PlanStep): Promise<void> {
  const ms = r.timeouts.postcheckMs;
  const ids = new Set(r.obs.instances.map((i) => i.id));
  // The Director's answer (it asks every agent), asked since step 7 saw monit run etcd (or from now
  // on), is awaited after etcd's health: neither changes anything.
  const directorP = r.directorRunning();
  directorP.catch(() => undefined); // not awaited when the health wait fails: the run's end stops it
  const health = await r.until('every member is healthy', ms, async () => {
    const h = await r.cluster.health();
    return h.length > 0 && h.every((e) => e.ok && e.value.healthy) ? h : undefined;
  });
  r.check('all members healthy', true, health.map((h) => h.endpoint).join(', '));
  const members = await r.members();
  const names = members.map((m) => m.name);
  const ok =
    members.length === ids.size &&
    names.every((n) => ids.has(n)) &&
    new Set(names).size === names.length &&
    members.every((m) => !m.isLearner);
  r.check(
    'member names = instance UUIDs',
    ok,
    members.map((m) => `${m.id} ${m.name || '(unstarted)'}${m.isLearner ? ' learner' : ''}`).join(', '),
  );
  const inst = await directorP;
  r.check('Director reports the instance running', true, `${r.plan.target}: ${inst.processState}`);
  let alarms = await r.cluster.alarms();
  const live = new Set(members.map((m) => m.id));
  if (alarms.length > 0 && alarms.every((a) => !live.has(a.memberId))) {
    r.info(
      `alarms left from the removed member: ${alarms.map((a) => `${a.alarm}@${a.memberId}`).join(', ')}; disarming`,
    );
    await r.exec({ host: r.plan.target, ...cmd.alarmDisarm() });
    alarms = await r.cluster.alarms();
  }
  r.check(
    'no alarms',
    alarms.length === 0,
    alarms.length ? alarms.map((a) => `${a.alarm} on ${a.memberId}`).join(', ') : 'none',
  );
  await r.exec(s.commands[0]);
}

export const step: RecoveryStep = {
  id,
  title,
  description: 'All members healthy, the Director reports the instance running, no alarms; clear the recovery record.',
  commands,
  checks,
  run,
};
