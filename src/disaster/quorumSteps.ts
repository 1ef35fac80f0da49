// The steps of the quorum-loss flow, each idempotent (it looks before it changes, so running again
// after a kill finishes): the survivor forced into a new one-member cluster, started under monit,
// the others added back one at a time, the verification. The fleet steps are src/disaster/fleet.ts.
// No `vscode` import here.
import * as cmd from '../recovery/commands';
import { parseMemberListJson, type ListedMember } from '../etcd/memberParsers';
import { parseEndpointStatusJson } from '../etcd/statusParsers';
import { parseEtcdctlError } from '../etcd/parsers';
import { RESUME_ADVICE, StepError } from '../recovery/context';
import type { DisasterRun } from './context';
import { changeMembership } from '../recovery/steps/membershipChange';
import { dataDirEmpty, moveDataAside, stopEtcdEverywhere } from './fleet';
import type { QuorumPlan, Rejoin } from './quorumPlan';
import * as q from './quorumCommands';
import { assertSurvivorUp, watchingSurvivor } from './quorumReport';
import { compareMembersAt } from '../etcd/hashCompare';
import type { HashKV } from '../etcd/types';

export interface QuorumTimeouts {
  /** The survivor (forced, then under monit) healthy; a member back and caught up. */
  startMs: number;
  monitMs: number;
}

const idOf = (label: string) => label.split('/')[1];

/**
 * A read-only etcdctl call; a failure is a plain Error, which the polls retry: while a member that
 * was just added has not started, the cluster may have no quorum for a moment.
 */
async function read(r: DisasterRun, host: string, rc: cmd.RemoteCommand): Promise<string> {
  const res = await r.exec({ host, ...rc }, { allowFail: true });
  if (res.code !== 0)
    throw new Error(`${rc.purpose} on ${host}: ${(res.stderr.trim().split('\n').pop() ?? '') || `exit ${res.code}`}`);
  return res.stdout;
}

export async function localMembers(r: DisasterRun, host: string): Promise<ListedMember[]> {
  return parseMemberListJson(await read(r, host, q.localMemberList()));
}

async function healthy(r: DisasterRun, host: string): Promise<boolean> {
  const res = await r.exec({ host, ...q.localHealth() }, { allowFail: true });
  return res.code === 0 && /is healthy/.test(res.stdout + res.stderr);
}

/** How long after the forced start a missing process counts as not started yet rather than exited. */
const FORCED_START_GRACE_MS = 5000;

/** The survivor, once, as a new one-member cluster outside monit; skipped when the record says it was done. */
export async function forceNewCluster(r: DisasterRun, plan: QuorumPlan, forced: boolean, t: QuorumTimeouts) {
  const s = plan.survivor!;
  const [start, stop, mark] = plan.steps.find((x) => x.id === 'force-new-cluster')!.commands;
  if (forced) {
    for (const c of [start, stop, mark])
      r.skipped(c, 'the record on the survivor says it already ran as a new cluster');
    return;
  }
  // a run killed while the forced etcd ran: stop that one first
  await r.exec({ host: s, ...q.forceNewClusterStop(idOf(s)) });
  await r.exec(start);
  const startedAt = Date.now();
  try {
    const ms = await r.until(`the survivor ${s} answers as a one-member cluster`, t.startMs, async () => {
      if ((await r.exec({ host: s, ...q.forceNewClusterAlive(idOf(s)) }, { allowFail: true })).code !== 0) {
        // the tag is in the process's environment only once `env` has run: right after the start the
        // process may not carry it yet (seen in CI: the first look, 1 s after the start, found nothing)
        if (Date.now() - startedAt < FORCED_START_GRACE_MS) return undefined;
        throw new StepError(
          `etcd started with --force-new-cluster on ${s} exited; its log is ${q.FORCE_LOG} on the VM`,
          `Read ${q.FORCE_LOG} on ${s}; its data is unchanged apart from what etcd wrote, and a copy of its db is in ${q.survivorCopyPath(plan.ts)}. ${RESUME_ADVICE}`,
        );
      }
      if (!(await healthy(r, s))) return undefined;
      const list = await localMembers(r, s);
      return list.length === 1 ? list : undefined;
    });
    r.check(
      'one-member cluster',
      ms[0].name === idOf(s),
      `member ${ms[0].id} ${ms[0].name} ${ms[0].peerURLs.join(',')}`,
    );
  } finally {
    await r.exec(stop);
  }
  await r.exec(mark);
}

/**
 * Starts the survivor under monit and waits until it is healthy. `stuck`, asked while it runs but is
 * not healthy, may end the wait with a verdict (returned; the caller acts on it): see src/disaster/quorumResume.ts.
 */
export async function startSurvivor<T>(
  r: DisasterRun,
  plan: QuorumPlan,
  t: QuorumTimeouts,
  stuck?: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const s = plan.survivor!;
  // nothing of the run outside monit may hold the ports when monit starts etcd
  await r.exec({ host: s, ...q.forceNewClusterStop(idOf(s)) });
  const p = await r.probe(s);
  if (p.monitEtcd === 'running' && p.etcdAlive) r.skipped({ host: s, ...cmd.monitStart() }, 'monit already runs etcd');
  else await r.exec({ host: s, ...cmd.monitStart() });
  const got = await r.until(`etcd on ${s} is healthy under monit`, t.startMs, async () => {
    const x = await r.probe(s);
    if (!(x.monitEtcd === 'running' && x.etcdAlive)) return undefined;
    if (await healthy(r, s)) return { healthy: true as const };
    const verdict = await stuck?.();
    return verdict === undefined ? undefined : { healthy: false as const, verdict };
  });
  if (!got.healthy) return got.verdict;
  r.check('survivor healthy under monit', true, s);
  return undefined;
}

async function statusOf(r: DisasterRun, host: string) {
  return parseEndpointStatusJson(await read(r, host, q.localStatus()))[0];
}

/** A master's hashKV through its own etcdctl (`-w json`), at `rev` or, without it, at its current revision. */
async function hashKVOn(r: DisasterRun, host: string, rev?: string): Promise<HashKV> {
  const out = await read(r, host, q.localHashKV(BigInt(rev ?? '0')));
  const hash = /"hash":(\d+)/.exec(out)?.[1];
  if (!hash) throw new Error(`no hash in the hashkv output of ${host}`);
  return {
    memberId: '',
    revision: /"revision":(\d+)/.exec(out)?.[1] ?? '',
    compactRevision: /"compact_revision":(-?\d+)/.exec(out)?.[1] ?? '0',
    hash: Number(hash),
  };
}

/** `host` holds the survivor's keys at `rev` (see compareMembersAt: a compaction at that very revision is handled). */
async function sameAsSurvivor(r: DisasterRun, survivor: string, host: string, rev: bigint) {
  return compareMembersAt((h, rv) => hashKVOn(r, h, rv), survivor, host, rev.toString());
}

/** One master back: self-add (its start script adds it) or the runbook (mkdir member/, member add, start). */
async function rejoinOne(r: DisasterRun, plan: QuorumPlan, j: Rejoin, t: QuorumTimeouts) {
  const s = plan.survivor!;
  const id = idOf(j.label);
  let p = await r.probe(j.label);
  const peer = p.peerAddress;
  // every poll below stops the run at once when the survivor's etcd is gone (src/disaster/quorumReport.ts)
  const watch = <T>(f: () => Promise<T>) => watchingSurvivor(r, plan, f);
  const members = () => r.until(`the member list answers on ${s}`, t.startMs, () => watch(() => localMembers(r, s)));
  const list = await members();
  let mine = list.find((m) => m.name === id || (peer && m.peerURLs.includes(peer)));
  if (!mine && (p.etcdAlive || !dataDirEmpty(p))) {
    // etcd data of a member the survivor's cluster does not know: it half-joined during an interrupted
    // run and the survivor was forced again since (src/disaster/quorumResume.ts); its id cannot come back
    r.info(`${j.label} holds etcd data of a member the survivor's cluster does not know: it is moved aside (kept)`);
    await stopEtcdEverywhere(r, [j.label], { monitMs: t.monitMs });
    await moveDataAside(r, j.label, cmd.stampOf(new Date()));
    p = await r.probe(j.label);
  }
  if (mine && mine.name === id && p.etcdAlive) {
    r.info(`${j.label} is already a started member (${mine.id}): not added again`);
  } else {
    if (mine && !mine.name && !p.etcdAlive && dataDirEmpty(p) && !p.memberDir.exists) {
      // a registration left by a run killed before the member started: the start script would add it twice
      await r.exec({ host: s, ...cmd.memberRemove(mine.id) });
      mine = undefined;
    }
    if (j.path === 'runbook') {
      if (!p.memberDir.exists) await r.exec({ host: j.label, ...cmd.recreateMemberDir() });
      if (!mine) {
        // the member list decides; a change etcd rejected as unsafe for now is tried again (src/recovery/steps/membershipChange.ts)
        const add = { host: j.label, ...cmd.memberAdd(id, plan.learner), done: false };
        const via = {
          exec: r.exec.bind(r),
          until: r.until.bind(r),
          info: r.info.bind(r),
          pause: r.pause.bind(r),
          members: () => watch(() => localMembers(r, s)),
        };
        const { res, applied } = await changeMembership(
          via,
          add,
          (ms) => ms.find((m) => peer && m.peerURLs.includes(peer)),
          {
            change: 'the member add',
            notApplied: 'no member was added',
          },
        );
        mine = applied as ListedMember | undefined;
        r.check('member added', !!mine, mine ? `${mine.id}${mine.isLearner ? ' (learner)' : ''}` : res.stderr.trim());
      }
    }
    if (!(p.monitEtcd === 'running' && p.etcdAlive)) await r.exec({ host: j.label, ...cmd.monitStart() });
  }
  const started = await r.until(`${j.label} has started as a member`, t.startMs, async () => {
    const m = (await watch(() => localMembers(r, s))).find((x) => x.name === id);
    return m ?? undefined;
  });
  if (started.isLearner) {
    let lead: string | undefined;
    await r.until(
      `learner ${started.id} is promoted`,
      t.startMs,
      async () => {
        // to the leader's own endpoint only: the job wrapper's endpoint list names the learner too (a
        // request stuck on a member still starting waits out the whole command timeout), and with
        // authentication on a follower forwards the promotion to the leader without the caller's user,
        // where etcd refuses it (src/etcd/membershipChanges.ts): the client sees a timeout
        lead ??= await leaderHost(r, plan, watch);
        if (!lead) {
          r.info('no leader known yet: the promotion waits');
          return undefined;
        }
        const res = await r.exec(
          { host: lead, ...cmd.memberPromote(started.id, { local: true }) },
          { allowFail: true },
        );
        if (res.code === 0) return true;
        const failure = parseEtcdctlError(res.stderr);
        // the leader's explicit "not in sync yet" applied nothing; anything else (a timeout, a leader
        // changed) is judged by the member list, and the leader is looked up again
        if (failure.reason !== 'learner-not-in-sync') {
          lead = undefined;
          if (!(await watch(() => localMembers(r, s))).find((x) => x.id === started.id)?.isLearner) return true;
        }
        r.info(`promotion not accepted yet (${failure.message || `exit ${res.code}`}); retrying`);
        return undefined;
      },
      500,
    );
  }
  await r.until(`${j.label} is healthy`, t.startMs, async () => {
    if (await healthy(r, j.label)) return true;
    await assertSurvivorUp(r, plan);
    return undefined;
  });
  const eq = await r.until(`hashKV of ${j.label} equals the survivor's`, t.startMs, async () => {
    const rev = BigInt((await watch(() => statusOf(r, s))).revision ?? '0');
    const agree = await watch(() => sameAsSurvivor(r, s, j.label, rev));
    if (agree.equal) return { rev: agree.revision, a: agree.hash };
    // thrown, not returned: `until` keeps the last one and names it if the deadline passes
    throw new Error(agree.detail);
  });
  r.check(
    `${j.label} back and consistent`,
    true,
    `member ${started.id}; hashKV ${eq.a} at revision ${eq.rev} on it and on the survivor`,
  );
}

/**
 * The master whose etcd leads, from the survivor's status and member list (the leader is named by
 * its instance id, as the job names members); undefined while there is none, or it is not a master.
 */
async function leaderHost(
  r: DisasterRun,
  plan: QuorumPlan,
  watch: <T>(f: () => Promise<T>) => Promise<T>,
): Promise<string | undefined> {
  const s = plan.survivor!;
  const st = await watch(() => statusOf(r, s));
  if (!st.leader) return undefined;
  const lead = (await watch(() => localMembers(r, s))).find((m) => m.id === st.leader);
  return lead?.name ? plan.masters.find((m) => idOf(m) === lead.name) : undefined;
}

export async function rejoinAll(r: DisasterRun, plan: QuorumPlan, t: QuorumTimeouts) {
  for (const j of plan.rejoin) {
    await assertSurvivorUp(r, plan);
    await rejoinOne(r, plan, j, t);
  }
}

/**
 * One cluster id, every master a started voter, hashKV equal, revision not below the survivor's,
 * while `clientsRunning` (the wait for the etcd clients started just before) runs; then the Director's view.
 */
export async function verify(
  r: DisasterRun,
  plan: QuorumPlan,
  t: QuorumTimeouts,
  clientsRunning: () => Promise<void> = async () => undefined,
) {
  // both waited for before a failure is reported (nothing of the step still runs when the run stops)
  const settled = await Promise.allSettled([verifyCluster(r, plan, t), clientsRunning()]);
  const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
  const inst = await r.until(
    'the Director reports every master running',
    t.startMs,
    async () => {
      const all = await r.session.instances();
      const ms = all.filter((i) => plan.masters.includes(`${i.group}/${i.id}`));
      return ms.every((i) => i.processState === 'running') ? ms : undefined;
    },
    1000,
  );
  r.check('Director reports running', true, inst.map((i) => `${i.group}/${i.index}: ${i.processState}`).join(', '));
}

async function verifyCluster(r: DisasterRun, plan: QuorumPlan, t: QuorumTimeouts) {
  const s = plan.survivor!;
  const st = await r.until('every master answers its status', t.startMs, () =>
    watchingSurvivor(r, plan, () => Promise.all(plan.masters.map(async (m) => ({ m, st: await statusOf(r, m) })))),
  );
  const ids = new Set(st.map((x) => x.st.clusterId));
  r.check('one cluster id', ids.size === 1, `${[...ids].join(', ')} on ${plan.masters.length} masters`);
  const list = await r.until('the member list answers', t.startMs, () => localMembers(r, s));
  const names = new Set(list.filter((m) => m.name && !m.isLearner).map((m) => m.name));
  const missing = plan.masters.filter((m) => !names.has(idOf(m)));
  r.check(
    'every master a started voting member',
    missing.length === 0 && list.length === plan.masters.length,
    missing.length ? `missing: ${missing.join(', ')}` : `${list.length} members`,
  );
  const rev = BigInt(st.find((x) => x.m === s)!.st.revision ?? '0');
  const others = plan.masters.filter((m) => m !== s);
  const agree = await r.until('every master answers hashKV', t.startMs, () =>
    Promise.all(others.map((m) => sameAsSurvivor(r, s, m, rev))),
  );
  r.check(
    'hashKV equal',
    agree.every((x) => x.equal),
    agree
      .map(
        (x, i) =>
          `${others[i]}: ${x.equal ? `hash ${x.hash} at revision ${x.revision}, as on the survivor` : x.detail}`,
      )
      .join('; '),
  );
  const before = plan.evidence.find((e) => e.label === s)?.revision;
  if (before !== undefined)
    r.check('revision not lower than the survivor had', rev >= before, `now ${rev}, the survivor had ${before}`);
}
