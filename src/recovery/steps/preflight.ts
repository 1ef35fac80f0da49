// Step 1: the pre-flight checks, as decided from the observation (the plan refuses before this step
// runs when any of them fails); the two commands show the operator the state the checks rest on.
import * as cmd from '../commands';
import type { Run } from '../context';
import type { PlanStep } from '../events';
import { planned, type PlanFacts, type RecoveryStep } from './step';
import { SNAPSHOT_MARGIN_BYTES } from '../preflight';

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
  // Checked now, against the cluster as it is (not the plan's observation): each can fail. The reads
  // go out with the two commands shown to the operator.
  const reads = Promise.all([r.cluster.health(), r.cluster.status(), r.probe(r.plan.target), r.cluster.alarms()]);
  reads.catch(() => undefined); // awaited below, after the commands
  for (const c of s.commands) await r.exec(c, { allowFail: true, timeoutMs: 30_000 });
  const [health, status, vm, alarmList] = await reads;
  const others = new Set(r.otherUrls());
  // A member that split off (its own one-member cluster) answers healthy for another cluster id: not counted.
  const ids = status.flatMap((x) => (x.ok && others.has(x.endpoint) && x.value.clusterId ? [x.value.clusterId] : []));
  const majority = ids.sort((a, b) => ids.filter((y) => y === b).length - ids.filter((y) => y === a).length)[0];
  const inCluster = new Set(
    status.flatMap((x) => (x.ok && (!majority || x.value.clusterId === majority) ? [x.endpoint] : [])),
  );
  const healthyOthers = health
    .filter((h) => others.has(h.endpoint) && inCluster.has(h.endpoint) && h.ok && h.value.healthy)
    .map((h) => h.endpoint);
  r.check(
    'quorum without the target',
    healthyOthers.length >= r.plan.quorum,
    `${healthyOthers.length} of ${others.size} other members healthy (quorum ${r.plan.quorum} of ${r.plan.clusterSize})`,
  );
  const okStatus = status.flatMap((x) => (x.ok && healthyOthers.includes(x.endpoint) ? [x.value] : []));
  const leaders = new Set(okStatus.map((x) => x.leader).filter((l) => l && !/^0+$/.test(l)));
  r.check(
    'one leader among the healthy members',
    leaders.size === 1,
    leaders.size ? `leader ${[...leaders].join(', ')}` : 'no healthy member reports a leader',
  );
  const clusterId = okStatus[0]?.clusterId;
  const url = r.targetUrl();
  const th = health.find((h) => h.endpoint === url);
  const ts = status.find((x) => x.endpoint === url);
  const servesCluster = !!th?.ok && th.value.healthy && !!ts?.ok && ts.value.clusterId === clusterId;
  r.check(
    'target is broken (or this recovery is resumed)',
    r.plan.resumed || !servesCluster,
    r.plan.resumed
      ? `resuming the recovery of ${r.plan.ts}`
      : servesCluster
        ? `${url} answers and is healthy in the cluster now`
        : `${url}: ${th?.ok ? (th.value.healthy ? `answers for cluster ${ts?.ok ? ts.value.clusterId : '?'}` : (th.value.error ?? 'unhealthy')) : (th?.error ?? 'no answer')}; monit: etcd ${vm.monitText || vm.monitEtcd}`,
  );
  r.check(
    "identity: the peer URL utils.sh gives is the instance's",
    vm.peerAddress === r.plan.peerUrl,
    `utils.sh: ${vm.peerAddress ?? 'none'}, expected ${r.plan.peerUrl} (member name = ${r.plan.targetId})`,
  );
  const healthyIds = new Set(okStatus.map((x) => x.memberId));
  const alarms = alarmList.filter((a) => a.alarm !== 'NONE' && healthyIds.has(a.memberId));
  r.check(
    'no alarms on the healthy members',
    alarms.length === 0,
    alarms.length ? alarms.map((a) => `${a.alarm} on ${a.memberId}`).join(', ') : 'none',
  );
  const dbSize = Math.max(0, ...okStatus.map((x) => x.dbSize || 0));
  const need = dbSize + SNAPSHOT_MARGIN_BYTES;
  r.check(
    'disk space on the target',
    r.plan.resumed || vm.freeKb === null || vm.freeKb * 1024 >= need,
    `${vm.freeKb ?? '?'} KiB free on ${cmd.STORE_DIR}, about ${Math.ceil(need / 1024)} KiB needed`,
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
