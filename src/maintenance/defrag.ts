// Rolling defragmentation: every member healthy first, followers one at a time, the leader last;
// after each member its health and raft index (caught up with the leader) are checked before the
// next, with a pause between members. Stops at the first member that does not come back healthy
// and leaves the others as they are. Resumable: the sizes are read again before each member and
// a member below the thresholds (already defragmented) is skipped. No `vscode` import here.
import type { DeploymentSession } from '../session/types';
import type { EndpointStatus, EtcdCluster } from '../etcd/types';
import { CancelledError } from '../util/cancel';
import {
  etcdReadOf,
  observeMaintenance,
  onlyNospace,
  otherErrors,
  type LiveMember,
  type ReadOnlyExec,
} from './observe';
import {
  defragConsequences,
  formatBytes,
  formatDefragPlan,
  fragmentationOf,
  planDefrag,
  worthDefragmenting,
} from './plan';
import { MaintenanceRun, MaintenanceStepError, RESUME_ADVICE } from './run';
import { lockResult, MaintenanceGuard, stopCause, underGuard, type MaintenanceLockOutcome } from './lock';
import type {
  DefragMemberResult,
  DefragOptions,
  DefragPlan,
  DefragResult,
  DefragThresholds,
  MaintenanceObservation,
  MaintenanceRefusal,
} from './types';

export const DEFAULT_SETTLE_MS = 60_000;
/** How old the last read of every member's health may be to stand for the check before the next member. */
const FRESH_MS = 1000;

/** Observation lines for the terminal and the transcript. */
export function summarizeObservation(obs: MaintenanceObservation): string[] {
  const out = obs.members.map((m) => {
    const f = fragmentationOf(m);
    return `${m.label} ${m.endpointUrl}: ${m.healthy ? 'healthy' : `UNHEALTHY (${m.problem})`}${m.isLeader ? ', leader' : ''}${m.isLearner ? ', learner' : ''}, db ${formatBytes(m.dbSize)}, in use ${formatBytes(m.dbSizeInUse)}${f ? `, ${f.percent} % fragmented` : ''}, raft index ${m.raftIndex ?? '?'}${m.vm?.quotaBackendBytes ? `, quota ${formatBytes(m.vm.quotaBackendBytes)}` : ''}${m.vm?.recoveryInProgress ? ', RECOVERY IN PROGRESS' : ''}`;
  });
  out.push(
    `Alarms: ${obs.alarmsError ? `could not be read (${obs.alarmsError})` : obs.alarms.length ? obs.alarms.map((a) => `${a.alarm} on ${a.label ?? a.memberId}`).join(', ') : 'none'}`,
  );
  for (const e of obs.errors) out.push(`Problem: ${e}`);
  return out;
}

/** A read-only command shown as an event (observation probes). */
export function visibleReadOnly(run: MaintenanceRun): ReadOnlyExec {
  return (label, command, purpose) => run.execReadOnlyBlock({ host: label, command, purpose, mutates: false });
}

/** Health (a linearizable read; an active NOSPACE alarm is not held against it) and status of every endpoint. */
async function liveState(cluster: EtcdCluster): Promise<Map<string, LiveMember>> {
  const [st, he] = await Promise.all([cluster.status(), cluster.health()]);
  const out = new Map<string, LiveMember>();
  for (const ep of cluster.endpoints) {
    const s = st.find((x) => x.endpoint === ep.url);
    const h = he.find((x) => x.endpoint === ep.url);
    let problem: string | undefined;
    if (!s || !s.ok) problem = s ? s.error : 'no status';
    else if (!h || !h.ok) problem = h ? h.error : 'no health';
    else if (!h.value.healthy && !onlyNospace(h.value.error)) problem = h.value.error ?? 'unhealthy';
    else if (otherErrors(s.value.errors).length) problem = `etcd reports: ${otherErrors(s.value.errors).join('; ')}`;
    out.set(ep.url, { healthy: !problem, problem, status: s && s.ok ? s.value : undefined });
  }
  return out;
}

const applied = (s: EndpointStatus) => BigInt(s.raftAppliedIndex ?? s.raftIndex);

/** A round of status and health of every member, and when it was read. */
export interface LiveRead {
  at: number;
  live: Map<string, LiveMember>;
}

type RollingOptions = DefragThresholds & {
  force?: boolean;
  settleMs?: number;
  pollMs?: number;
  /** The observation's read of etcd: stands for the check before the first member while fresh. */
  initial?: LiveRead;
};

interface RollingOutcome {
  results: DefragMemberResult[];
  failure?: { error: string; advice: string };
  cancelled?: boolean;
  /** The last read of every member (after the last member's check). */
  last?: LiveRead;
}

/**
 * The rolling part, shared by defragCluster and recoverNospace. Returns one result per planned
 * member; `failure` is set when it stopped (the members after it are 'not-reached').
 */
export async function rollingDefrag(
  run: MaintenanceRun,
  cluster: EtcdCluster,
  plan: DefragPlan,
  opts: RollingOptions,
): Promise<RollingOutcome> {
  const results: DefragMemberResult[] = plan.members.map((m) => ({
    label: m.label,
    endpointUrl: m.endpointUrl,
    wasLeader: m.isLeader,
    outcome: 'not-reached',
    before: null,
    after: null,
    durationMs: null,
  }));
  try {
    return await rollingDefragSteps(run, cluster, plan, opts, results);
  } catch (e) {
    // what was done so far is reported; the member being defragmented (if any) finishes on its own
    if (e instanceof CancelledError) return { results, cancelled: true };
    throw e;
  }
}

async function rollingDefragSteps(
  run: MaintenanceRun,
  cluster: EtcdCluster,
  plan: DefragPlan,
  opts: RollingOptions,
  results: DefragMemberResult[],
): Promise<RollingOutcome> {
  const settleMs = opts.settleMs ?? DEFAULT_SETTLE_MS;
  const pollMs = opts.pollMs ?? 300;
  let defragmentedOne = false;
  // The state the previous member's check read last: with no pause since, it is the state "right
  // before" the next member too (read again after a pause, or when it is older than a second).
  let lastRead: LiveRead | undefined = opts.initial;
  for (let k = 0; k < plan.members.length; k++) {
    const m = plan.members[k];
    const res = results[k];
    run.step = 'defrag';
    run.emit({
      type: 'step-start',
      time: run.time(),
      step: 'defrag',
      title: `Member ${k + 1}/${plan.members.length}: ${m.label}${m.isLeader ? ' (leader)' : ''}`,
      member: m.label,
    });
    if (defragmentedOne && k > 0 && plan.pauseMs > 0) {
      run.emit({ type: 'pause', time: run.time(), ms: plan.pauseMs, next: m.label });
      await run.pause(plan.pauseMs);
      lastRead = undefined;
    }
    // Every member healthy right before this one stops answering (another may have gone down meanwhile).
    const live =
      lastRead && Date.now() - lastRead.at < FRESH_MS && [...lastRead.live.values()].every((v) => v.healthy)
        ? lastRead.live
        : await liveState(cluster);
    lastRead = undefined;
    const unhealthy = [...live.entries()].filter(([, v]) => !v.healthy);
    const detail = unhealthy.length
      ? unhealthy
          .map(([url, v]) => `${plan.members.find((x) => x.endpointUrl === url)?.label ?? url}: ${v.problem}`)
          .join('; ')
      : `${live.size} of ${live.size} healthy`;
    if (!run.check('every member healthy', unhealthy.length === 0, detail)) {
      res.reason = `not started: ${detail}`;
      const error = `stopped before ${m.label}: ${detail}`;
      const advice = `Bring the member back first (monit summary on its VM; bosh-etcd recover --deployment ${plan.deployment} --instance <it> if its data is gone), then run again: members already defragmented are skipped.`;
      run.emit({ type: 'step-failed', time: run.time(), step: 'defrag', error, advice });
      return { results, failure: { error, advice } };
    }
    const before = live.get(m.endpointUrl)?.status;
    res.before = before ? { dbSize: before.dbSize, dbSizeInUse: before.dbSizeInUse ?? before.dbSize } : null;
    const frag = before ? fragmentationOf({ dbSize: before.dbSize, dbSizeInUse: before.dbSizeInUse ?? null }) : null;
    if (!opts.force && !worthDefragmenting(frag, opts)) {
      res.outcome = 'skipped';
      res.reason = `${frag!.percent} % fragmented, ${formatBytes(frag!.reclaimableBytes)} reclaimable: below the thresholds (already defragmented?)`;
      run.emit({ type: 'member-done', time: run.time(), result: res, healthyAfter: true });
      continue;
    }
    const t0 = Date.now();
    const command = { ...m.command, command: m.command.command };
    try {
      await run.exec(command, {
        timeoutMs: (Number(/--command-timeout=(\d+)s/.exec(command.command)?.[1]) || 60) * 1000 + 30_000,
      });
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      res.outcome = 'failed';
      res.durationMs = Date.now() - t0;
      res.reason = (e as Error).message;
      run.emit({ type: 'member-done', time: run.time(), result: res, healthyAfter: false });
      const advice = e instanceof MaintenanceStepError ? e.advice : RESUME_ADVICE;
      run.emit({ type: 'step-failed', time: run.time(), step: 'defrag', error: res.reason, advice });
      return { results, failure: { error: `${m.label}: ${res.reason}`, advice } };
    }
    res.durationMs = Date.now() - t0;
    defragmentedOne = true;
    // Back: answers a linearizable read, and has applied what the leader had committed when it came back.
    let target: bigint | null = null;
    const back = await run.until(settleMs, pollMs, async () => {
      const now = await liveState(cluster);
      lastRead = { at: Date.now(), live: now };
      const me = now.get(m.endpointUrl);
      if (!me?.healthy || !me.status) throw new Error(me?.problem ?? 'no answer');
      const leader = [...now.values()].find((v) => v.status && v.status.leader === v.status.memberId)?.status;
      if (!leader) throw new Error('no leader answers');
      if (target === null) target = BigInt(leader.raftIndex);
      return applied(me.status) >= target ? { me: me.status, leader } : undefined;
    });
    if (back.value === undefined) {
      res.outcome = 'failed';
      res.reason = `did not come back healthy and caught up within ${Math.round(settleMs / 1000)} s${back.last ? ` (${back.last})` : ''}`;
      run.check(`${m.label} healthy and caught up`, false, res.reason);
      run.emit({ type: 'member-done', time: run.time(), result: res, healthyAfter: false });
      const error = `${m.label} ${res.reason}; the members after it were left as they are`;
      const advice = `Look at ${m.label} (monit summary; /var/vcap/sys/log/etcd/etcd.stderr.log). Once it is healthy, run again: members already defragmented are skipped.`;
      run.emit({ type: 'step-failed', time: run.time(), step: 'defrag', error, advice });
      return { results, failure: { error, advice } };
    }
    const after = back.value.me;
    res.after = { dbSize: after.dbSize, dbSizeInUse: after.dbSizeInUse ?? after.dbSize };
    run.check(
      `${m.label} healthy and caught up`,
      true,
      `applied index ${applied(after)} ≥ leader's ${target}; ${formatBytes(res.before?.dbSize)} → ${formatBytes(after.dbSize)}`,
    );
    res.outcome = 'defragmented';
    run.emit({ type: 'member-done', time: run.time(), result: res, healthyAfter: true });
  }
  return { results, last: lastRead };
}

function reclaimedLine(results: DefragMemberResult[]): string {
  return results
    .map(
      (r) =>
        `${r.label}${r.wasLeader ? ' (leader)' : ''}: ${r.outcome}${r.before && r.after ? ` ${formatBytes(r.before.dbSize)} → ${formatBytes(r.after.dbSize)}` : ''}`,
    )
    .join('; ');
}

/** How a maintenance run ended before its plan: cancelled, not observed, or the lock refused or not taken. */
export interface StartStop {
  outcome: 'cancelled' | 'failed' | 'refused';
  message: string;
  advice?: string;
  refusals?: MaintenanceRefusal[];
}

/**
 * The start of every maintenance run: the cluster lock is taken while the cluster is observed (its
 * VM probes open the SSH connections while the etcd connection opens), then the observation is
 * emitted and the lock's answer checked. `stop` says why the run ends here.
 */
export async function observeUnderLock(
  session: DeploymentSession,
  run: MaintenanceRun,
  opts: { dryRun?: boolean; breakLock?: boolean },
  guard: MaintenanceGuard,
): Promise<{ obs: MaintenanceObservation; cluster: EtcdCluster } | { stop: StartStop }> {
  let obs: MaintenanceObservation;
  let cluster: EtcdCluster;
  let lock: MaintenanceLockOutcome;
  try {
    run.checkAbort();
    const locking = guard.take(session, opts);
    obs = await observeMaintenance(session, { exec: visibleReadOnly(run) });
    cluster = await session.etcd();
    lock = await locking;
  } catch (e) {
    if (e instanceof CancelledError)
      return { stop: { outcome: 'cancelled', message: `${stopCause(guard)}; nothing was changed.` } };
    return {
      stop: {
        outcome: 'failed',
        message: `Could not observe the cluster: ${(e as Error).message}`,
        advice: 'Check the Director and SSH/etcd access (bosh-etcd status), then run again; nothing was changed.',
      },
    };
  }
  run.emit({ type: 'observed', time: run.time(), summary: summarizeObservation(obs) });
  const locked = lockResult(run, lock);
  return locked ? { stop: locked } : { obs, cluster };
}

/** Rolling defragmentation of a deployment's etcd. Never throws for operational failures: see `outcome`. */
export function defragCluster(session: DeploymentSession, opts: DefragOptions = {}): Promise<DefragResult> {
  return underGuard(opts.signal, (guard) => defragLocked(session, { ...opts, signal: guard.signal }, guard));
}

async function defragLocked(
  session: DeploymentSession,
  opts: DefragOptions,
  guard: MaintenanceGuard,
): Promise<DefragResult> {
  const run = new MaintenanceRun(session, { ...opts, flow: 'defrag' });
  const done = (r: Omit<DefragResult, 'transcriptPath'>): DefragResult => ({
    ...r,
    transcriptPath: run.finish(r.outcome, r.message + (r.advice ? `\n\nWhat to do: ${r.advice}` : '')),
  });
  const started = await observeUnderLock(session, run, opts, guard);
  if ('stop' in started) return done({ ...started.stop, members: [] });
  const { obs, cluster } = started;
  const plan = planDefrag(obs, opts);
  run.emit({ type: 'plan', time: run.time(), lines: formatDefragPlan(plan) });
  if (plan.refusals.length) {
    run.emit({ type: 'refused', time: run.time(), refusals: plan.refusals });
    return done({
      outcome: 'refused',
      message: `Refused: ${plan.refusals.map((r) => r.message).join(' ')}`,
      advice: plan.refusals.map((r) => r.advice).join(' '),
      plan,
      refusals: plan.refusals,
      members: [],
    });
  }
  const toRun = plan.members.filter((m) => !m.skip);
  if (!toRun.length) {
    return done({
      outcome: 'nothing-to-do',
      message: `No member needs defragmenting: ${plan.members.map((m) => `${m.label} ${m.skipReason}`).join('; ')}.`,
      plan,
      members: plan.members.map((m) => ({
        label: m.label,
        endpointUrl: m.endpointUrl,
        wasLeader: m.isLeader,
        outcome: 'skipped',
        reason: m.skipReason,
        before: m.fragmentation ? { dbSize: m.fragmentation.dbSize, dbSizeInUse: m.fragmentation.dbSizeInUse } : null,
        after: null,
        durationMs: null,
      })),
    });
  }
  if (opts.dryRun) {
    run.step = 'defrag';
    for (const m of toRun) run.showOnly(m.command, 'dry run');
    return done({
      outcome: 'dry-run',
      message: `Dry run: ${toRun.length} of ${plan.members.length} members would be defragmented (${toRun.map((m) => m.label).join(', ')}); nothing was changed.`,
      plan,
      members: [],
    });
  }
  let go = false;
  try {
    go = opts.confirm ? await opts.confirm(plan) : opts.yes === true;
  } catch {
    go = false;
  }
  if (!go || opts.signal?.aborted) {
    const msg = opts.confirm ? 'Not confirmed: nothing was changed.' : 'Not confirmed (no --yes): nothing was changed.';
    run.emit({ type: 'cancelled', time: run.time(), message: msg });
    return done({ outcome: 'declined', message: msg, plan, members: [] });
  }
  run.info(`Confirmed: ${defragConsequences(plan).join('; ')}.`);
  try {
    const { results, failure, cancelled } = await rollingDefrag(run, cluster, plan, {
      ...opts,
      initial: etcdReadOf(obs),
    });
    if (cancelled) {
      const msg = `${stopCause(guard)}; nothing further was changed. Done so far: ${reclaimedLine(results)}. Run again to continue.`;
      run.emit({ type: 'cancelled', time: run.time(), message: msg });
      return done({ outcome: 'cancelled', message: msg, plan, members: results });
    }
    if (failure)
      return done({
        outcome: 'failed',
        message: `Stopped: ${failure.error}. Done so far: ${reclaimedLine(results)}.`,
        advice: failure.advice,
        plan,
        members: results,
      });
    const reclaimed = results.reduce((s, r) => s + (r.before && r.after ? r.before.dbSize - r.after.dbSize : 0), 0);
    return done({
      outcome: 'done',
      message: `Defragmented ${results.filter((r) => r.outcome === 'defragmented').length} of ${results.length} members, ${formatBytes(Math.max(0, reclaimed))} reclaimed: ${reclaimedLine(results)}.`,
      plan,
      members: results,
    });
  } catch (e) {
    if (e instanceof CancelledError) {
      const msg = `${stopCause(guard)}; the member being defragmented (if any) finishes on its own; nothing further was changed. Run again to continue.`;
      run.emit({ type: 'cancelled', time: run.time(), message: msg });
      return done({ outcome: 'cancelled', message: msg, plan, members: [] });
    }
    return done({
      outcome: 'failed',
      message: `Stopped: ${(e as Error).message}`,
      advice: e instanceof MaintenanceStepError ? e.advice : RESUME_ADVICE,
      plan,
      members: [],
    });
  }
}
