// NOSPACE recovery, as etcd's maintenance guide describes it: compact to the current revision,
// defragment every member (rolling), disarm the alarm, then prove a write is accepted and compare
// the size in use with the quota. CORRUPT is never disarmed; a member down is replaced first; when
// the data itself needs (nearly) the whole quota it says so instead of looping. No `vscode` import.
import type { DeploymentSession } from '../session/types';
import type { EndpointStatus, EtcdCluster } from '../etcd/types';
import { CancelledError } from '../util/cancel';
import { etcdReadOf } from './observe';
import { formatBytes, formatNospacePlan, planNospace } from './plan';
import { observeUnderLock, rollingDefrag } from './defrag';
import { MaintenanceGuard, stopCause, underGuard } from './lock';
import { MaintenanceRun, MaintenanceStepError, RESUME_ADVICE } from './run';
import type { MaintenanceObservation, NospaceOptions, NospaceResult } from './types';

const COMPACTED_ALREADY = /required revision has been compacted/i;

function raiseQuotaAdvice(deployment: string, needBytes: number, quota: number): string {
  const suggestion = Math.max(quota * 2, Math.ceil((needBytes * 2) / (1024 * 1024 * 1024)) * 1024 * 1024 * 1024);
  return (
    `The data itself needs ${formatBytes(needBytes)} of the ${formatBytes(quota)} quota: defragmenting again would not help. ` +
    `Raise the quota: set the etcd job's quota-backend-bytes (the --quota-backend-bytes of its start) to e.g. ${suggestion} (${formatBytes(suggestion)}; etcd advises at most 8 GiB) ` +
    `in the deployment's manifest (instance_groups: master → jobs: etcd → properties) and run bosh -d ${deployment} deploy; ` +
    `then run bosh-etcd recover-nospace --deployment ${deployment} again to disarm. Also look for what writes so much (e.g. many Kubernetes events or secrets).`
  );
}

/**
 * The highest revision the members report (deletes are accepted under NOSPACE: it may move): from
 * the observation's status of every member when it is less than a second old, else read again.
 */
async function currentRevision(cluster: EtcdCluster, obs: MaintenanceObservation): Promise<string> {
  const seen = etcdReadOf(obs);
  const fresh = seen && Date.now() - seen.at < 1000 ? [...seen.live.values()].map((v) => v.status) : [];
  const st =
    fresh.length === cluster.endpoints.length && fresh.every((x) => x)
      ? fresh.map((value) => ({ ok: true as const, value: value! }))
      : await cluster.status();
  const revs = st.flatMap((s) =>
    s.ok && s.value.revision && /^\d+$/.test(s.value.revision) ? [BigInt(s.value.revision)] : [],
  );
  if (!revs.length)
    throw new MaintenanceStepError(
      `could not read the current revision: no member answered its status (${st.map((s) => (s.ok ? 'no revision' : s.error)).join('; ')})`,
      'Check the members (bosh-etcd status), then run again; nothing was changed.',
    );
  return String(revs.reduce((a, b) => (b > a ? b : a)));
}

/** Compact, rolling defragmentation, disarm, test write, size vs quota. Never throws for operational failures: see `outcome`. */
export function recoverNospace(session: DeploymentSession, opts: NospaceOptions = {}): Promise<NospaceResult> {
  return underGuard(opts.signal, (guard) => nospaceLocked(session, { ...opts, signal: guard.signal }, guard));
}

async function nospaceLocked(
  session: DeploymentSession,
  opts: NospaceOptions,
  guard: MaintenanceGuard,
): Promise<NospaceResult> {
  const run = new MaintenanceRun(session, { ...opts, flow: 'recover-nospace' });
  const base = { members: [], disarmed: false, writeTestOk: false };
  const done = (r: Omit<NospaceResult, 'transcriptPath'>): NospaceResult => ({
    ...r,
    transcriptPath: run.finish(r.outcome, r.message + (r.advice ? `\n\nWhat to do: ${r.advice}` : '')),
  });
  const started = await observeUnderLock(session, run, opts, guard);
  if ('stop' in started) return done({ ...base, ...started.stop });
  const { obs, cluster } = started;
  const stamp = new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-');
  let plan = planNospace(obs, { ...opts, stamp });
  if (plan.refusals.length) {
    run.emit({ type: 'plan', time: run.time(), lines: formatNospacePlan(plan) });
    run.emit({ type: 'refused', time: run.time(), refusals: plan.refusals });
    return done({
      ...base,
      outcome: 'refused',
      message: `Refused: ${plan.refusals.map((r) => r.message).join(' ')}`,
      advice: plan.refusals.map((r) => r.advice).join(' '),
      plan,
      refusals: plan.refusals,
    });
  }
  const warnPct = opts.warnQuotaPercent ?? 60;
  const refusePct = opts.refuseDisarmQuotaPercent ?? 80;
  try {
    // The current revision (etcd's endpoint status over the session's connection, as `etcdctl
    // endpoint status` shows it, at most a second old): the plan then shows the exact compaction.
    run.step = 'compact';
    const revision = await currentRevision(cluster, obs);
    run.info(`Current revision: ${revision} (etcd's endpoint status).`);
    plan = planNospace(obs, { ...opts, stamp, revision });
    run.emit({ type: 'plan', time: run.time(), lines: formatNospacePlan(plan) });
    if (opts.dryRun) {
      run.showOnly(plan.compact!, 'dry run');
      run.step = 'defrag';
      for (const m of plan.defrag.members) run.showOnly(m.command, 'dry run');
      run.step = 'disarm';
      run.showOnly(plan.disarm!, 'dry run');
      run.step = 'write-test';
      for (const c of plan.writeTest) run.showOnly(c, 'dry run');
      return done({
        ...base,
        outcome: 'dry-run',
        message: 'Dry run: the plan and its commands are above; nothing was changed.',
        plan,
      });
    }
    let go = false;
    try {
      go = opts.confirm ? await opts.confirm(plan) : opts.yes === true;
    } catch {
      go = false;
    }
    if (!go || opts.signal?.aborted) {
      const msg = opts.confirm
        ? 'Not confirmed: nothing was changed.'
        : 'Not confirmed (no --yes): nothing was changed.';
      run.emit({ type: 'cancelled', time: run.time(), message: msg });
      return done({ ...base, outcome: 'declined', message: msg, plan });
    }

    run.emit({ type: 'step-start', time: run.time(), step: 'compact', title: `Compact to revision ${revision}` });
    const c = await run.exec(plan.compact!, { allowFail: true, timeoutMs: 600_000 });
    if (c.code !== 0 && !COMPACTED_ALREADY.test(c.stderr + c.stdout))
      throw new MaintenanceStepError(
        `compaction failed (exit ${c.code ?? c.signal}): ${c.stderr.trim() || c.stdout.trim()}`,
        RESUME_ADVICE,
      );
    run.emit({
      type: 'step-done',
      time: run.time(),
      step: 'compact',
      detail: c.code === 0 ? `compacted to ${revision}` : `already compacted at or beyond ${revision}`,
    });

    // Every member, whatever its figures: under NOSPACE no write commits, so etcd's size in use does
    // not show yet what the compaction freed (a member already defragmented goes fast).
    const { results, failure, cancelled, last } = await rollingDefrag(run, cluster, plan.defrag, {
      ...opts,
      force: true,
      initial: etcdReadOf(obs),
    });
    const partial = { ...base, members: results, compactedTo: revision, plan };
    if (cancelled) {
      const msg = `${stopCause(guard)} during the rolling defragmentation; nothing further was changed. NOSPACE is still active: run again to continue.`;
      run.emit({ type: 'cancelled', time: run.time(), message: msg });
      return done({ ...partial, outcome: 'cancelled', message: msg });
    }
    if (failure)
      return done({
        ...partial,
        outcome: 'failed',
        message: `Stopped during the rolling defragmentation: ${failure.error}. NOSPACE is still active.`,
        advice: failure.advice,
      });

    // Size in use vs the quota, from every member after the defragmentation.
    run.step = 'quota';
    run.emit({ type: 'step-start', time: run.time(), step: 'quota', title: 'Size in use against the quota' });
    // the alarms are read for the disarm meanwhile
    const alarmsRead = cluster.alarms();
    alarmsRead.catch(() => undefined); // awaited below
    // the check after the last member read every member's status a moment ago (no pause since)
    const fresh = last && Date.now() - last.at < 1000 ? [...last.live.values()].map((v) => v.status) : [];
    const statuses =
      fresh.length === cluster.endpoints.length && fresh.every((x) => x)
        ? (fresh as EndpointStatus[])
        : (await cluster.status()).flatMap((s) => (s.ok ? [s.value] : []));
    const inUse = Math.max(0, ...statuses.map((s) => s.dbSizeInUse ?? s.dbSize));
    const quota = plan.quotaBackendBytes;
    const pct = Math.round((inUse / quota) * 1000) / 10;
    const sizes = { sizeInUse: inUse, quotaBackendBytes: quota, quotaPercent: pct };
    const fits = pct <= refusePct;
    run.check(
      'data fits the quota',
      fits,
      `${formatBytes(inUse)} in use of ${formatBytes(quota)} (${pct} %; ${plan.quotaSource})`,
    );
    if (!fits) {
      const advice = raiseQuotaAdvice(obs.deployment, inUse, quota);
      run.emit({
        type: 'step-failed',
        time: run.time(),
        step: 'quota',
        error: `${pct} % of the quota in use after defragmentation`,
        advice,
      });
      return done({
        ...partial,
        ...sizes,
        outcome: 'quota-too-small',
        message: `Compacted and defragmented, but the data still needs ${pct} % of the quota: NOSPACE is NOT disarmed (the next writes would raise it again).`,
        advice,
      });
    }

    // Never disarm CORRUPT: the alarms are read again right before.
    run.step = 'disarm';
    run.emit({ type: 'step-start', time: run.time(), step: 'disarm', title: 'Disarm NOSPACE, then a test write' });
    const alarms = await alarmsRead;
    const corrupt = alarms.filter((a) => /CORRUPT/i.test(a.alarm));
    if (corrupt.length) {
      const advice = `Replace the corrupted member (bosh-etcd recover --deployment ${obs.deployment} --instance <its group/uuid>); this tool never disarms CORRUPT.`;
      run.check('no CORRUPT alarm', false, corrupt.map((a) => `CORRUPT on ${a.memberId}`).join(', '));
      return done({
        ...partial,
        ...sizes,
        outcome: 'refused',
        message: 'A CORRUPT alarm appeared: not disarming.',
        advice,
      });
    }
    // The disarm and the test write (put, then delete the key) on the same VM: one shell, each only
    // after the one before succeeded; the alarms are read again after it.
    const [put, del] = plan.writeTest;
    if (alarms.length === 0) run.info('No alarm is active any more: nothing to disarm.');
    const batch = [...(alarms.length ? [plan.disarm!] : []), put, del];
    const w = await run.exec(
      {
        host: put.host,
        command: batch.map((c) => c.command).join(' && '),
        purpose: batch.map((c) => c.purpose).join('; then '),
        mutates: true,
      },
      { allowFail: true, timeoutMs: 60_000 },
    );
    const left = await cluster.alarms();
    run.check(
      'no alarm left',
      left.length === 0,
      left.length ? left.map((a) => `${a.alarm} on ${a.memberId}`).join(', ') : 'none',
    );
    if (left.length)
      throw new MaintenanceStepError(
        `alarms still active after the disarm: ${left.map((a) => a.alarm).join(', ')}${w.code !== 0 ? ` (${w.stderr.trim() || w.stdout.trim()})` : ''}`,
        RESUME_ADVICE,
      );

    run.step = 'write-test';
    run.emit({ type: 'step-start', time: run.time(), step: 'write-test', title: 'Test write' });
    // etcdctl put prints OK; alarm disarm prints the alarms it cleared (memberID:… alarm:NOSPACE), del the count
    const writeOk = /^OK\s*$/m.test(w.stdout);
    run.check(
      'a write is accepted',
      writeOk,
      writeOk
        ? w.code === 0
          ? 'put and delete succeeded'
          : `put succeeded; the test key was not deleted: ${w.stderr.trim()}`
        : w.stderr.trim() || w.stdout.trim(),
    );
    if (!writeOk)
      return done({
        ...partial,
        ...sizes,
        disarmed: true,
        outcome: 'failed',
        message: `The alarm is disarmed but the test write failed: ${w.stderr.trim() || w.stdout.trim()}`,
        advice:
          "Look at the members' logs (/var/vcap/sys/log/etcd); if NOSPACE came back, the quota is too small for the data. Run again to retry.",
      });
    const warn = pct >= warnPct;
    return done({
      ...partial,
      ...sizes,
      disarmed: alarms.length > 0,
      writeTestOk: true,
      outcome: 'done',
      message: `NOSPACE cleared: compacted to ${revision}, ${results.filter((r) => r.outcome === 'defragmented').length} members defragmented, alarm disarmed, a write accepted; ${formatBytes(inUse)} in use of ${formatBytes(quota)} (${pct} %).${warn ? ` That is above ${warnPct} % of the quota: it will fill again soon.` : ''}`,
      advice: warn ? raiseQuotaAdvice(obs.deployment, inUse, quota) : undefined,
    });
  } catch (e) {
    if (e instanceof CancelledError) {
      const msg = `${stopCause(guard)}; nothing further was changed. Run again to continue (compaction and members already defragmented are recognised).`;
      run.emit({ type: 'cancelled', time: run.time(), message: msg });
      return done({ ...base, outcome: 'cancelled', message: msg, plan });
    }
    const advice = e instanceof MaintenanceStepError ? e.advice : RESUME_ADVICE;
    run.emit({ type: 'step-failed', time: run.time(), step: run.step, error: (e as Error).message, advice });
    return done({ ...base, outcome: 'failed', message: `Stopped: ${(e as Error).message}`, advice, plan });
  }
}
