// Step 7: start etcd under monit and wait until the new member has started with its name, is
// healthy, a voter (a learner is promoted once in sync), caught up, and consistent with the leader.
import type { EndpointStatus, HashKV } from '../../etcd/types';
import { compareHashKV, compareMembersAt, describeHashKV } from '../../etcd/hashCompare';
import { parseEtcdctlError } from '../../etcd/parsers';
import * as cmd from '../commands';
import { RESUME_ADVICE, StepError, type Run } from '../context';
import type { PlanStep } from '../events';
import { findAdded } from './add';
import { planned, type PlanFacts, type RecoveryStep } from './step';

export const id = 'start';

/**
 * How often the waits of this step look again: each look is one read (a probe over the open SSH
 * connection, or one etcd call per member), and the operator waits on the moment etcd is ready.
 */
const POLL_MS = 100;
export const title = 'Start etcd and wait until it has caught up';

export function commands(f: PlanFacts) {
  const afterAdd = !!f.newId;
  const added = f.membership.added;
  const startDone = f.monit === 'running' && f.etcdAlive && afterAdd;
  const out = [planned(f.label, cmd.monitStart(), startDone, 'monit already runs etcd')];
  if (f.learner || added?.isLearner) {
    out.push(
      planned(
        f.label,
        f.newId
          ? cmd.memberPromote(f.newId)
          : {
              command: `${cmd.ETCDCTL} member promote <id of the new member>`,
              mutates: true,
              purpose: 'promote the learner to a voting member',
            },
        !!added && !added.isLearner && f.membership.addedStarted,
        'the member is already a voter',
      ),
    );
  }
  return out;
}

export function checks(): string[] {
  return [
    'monit reports etcd running',
    'member started with its name',
    'endpoint healthy',
    'not a learner',
    'raft index caught up with the leader',
    "hashKV equal to the leader's at the same revision",
  ];
}

function cmpBig(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

async function statusOf(r: Run, url: string): Promise<EndpointStatus | undefined> {
  const st = await r.cluster.status();
  const x = st.find((e) => e.endpoint === url);
  return x && x.ok ? x.value : undefined;
}

async function leaderUrl(r: Run): Promise<{ url: string; status: EndpointStatus; label: string }> {
  const st = await r.cluster.status();
  const members = await r.members();
  for (const e of st) {
    if (!e.ok) continue;
    const leaderId = e.value.leader;
    const lm = members.find((m) => m.id === leaderId);
    const v = r.obs.views.find((x) => lm && x.instance.id === lm.name);
    if (v) {
      const ls = st.find((y) => y.endpoint === v.endpointUrl);
      if (ls && ls.ok) return { url: v.endpointUrl, status: ls.value, label: `${v.instance.group}/${v.instance.id}` };
    }
  }
  throw new Error('no leader found');
}

/** The leader's hashKV at its current revision (from its status header). */
async function hashOfLeader(r: Run): Promise<{ url: string; hash: HashKV }> {
  const { url, status } = await leaderUrl(r);
  const rev = status.revision ?? (await r.cluster.hashKV(url)).revision;
  return { url, hash: await r.cluster.hashKV(url, rev) };
}

/**
 * The new member's hashKV at the revision of the leader's early one, when the two are equal; undefined
 * otherwise (not read, another compaction range, a compaction since, or different: the step then
 * compares them at the leader's current revision until they agree, as it always did).
 */
async function agreeWithEarly(
  r: Run,
  url: string,
  early: Promise<{ url: string; hash: HashKV }>,
): Promise<{ rev: string; hash: number; lu: string } | undefined> {
  try {
    const lead = await early;
    const mine = await r.cluster.hashKV(url, lead.hash.revision);
    if (compareHashKV(lead.hash, mine) === 'equal') return { rev: lead.hash.revision, hash: mine.hash, lu: lead.url };
    r.info(
      `hashKV at revision ${lead.hash.revision}: ${describeHashKV(`the leader ${lead.url}`, lead.hash)}, ${describeHashKV(url, mine)}: compared again at the leader's current revision`,
    );
  } catch {
    /* compared the usual way */
  }
  return undefined;
}

export async function run(r: Run, s: PlanStep): Promise<void> {
  const [start, promote] = s.commands;
  const startMs = r.timeouts.startMs;
  if (!start.done) await r.exec(start);
  // The leader's hashKV (it hashes the whole keyspace) is read while etcd starts and catches up: once
  // caught up, only the new member's is read, at the same revision (agreeWithEarly).
  const leaderHash = hashOfLeader(r);
  leaderHash.catch(() => undefined); // undefined below: compared the usual way
  const p = await r.until(
    'monit reports etcd running',
    startMs,
    async () => {
      const x = await r.probe(r.plan.target);
      return x.monitEtcd === 'running' && x.etcdAlive ? x : undefined;
    },
    POLL_MS,
  );
  r.check('monit reports etcd running', true, `monit: etcd ${p.monitText}`);
  r.watchDirector(); // for step 8, while etcd catches up
  const url = r.targetUrl();
  // On the self-add path the job's start script registers the member: it appears once etcd starts.
  const known = r.newMemberId ?? r.plan.newMemberId;
  const id =
    known ??
    (await r.until(`a member is registered for ${r.plan.target} with ${r.plan.peerUrl}`, startMs, async () => {
      return findAdded(await r.members(), r.plan)?.id;
    }));
  if (!known) await r.recordAdded(id);
  r.newMemberId = id;
  const m = await r.until(
    `member ${id} has started with its name`,
    startMs,
    async () => {
      const ms = await r.members();
      const x = ms.find((y) => y.id === id);
      if (!x) throw new StepError(`member ${id} disappeared from the member list`, RESUME_ADVICE);
      return x.name === r.plan.targetId ? x : undefined;
    },
    POLL_MS,
  );
  r.check('member started with its name', true, `${m.id} ${m.name}${m.isLearner ? ' (learner)' : ''}`);
  const waitHealthy = async () => {
    await r.until(
      `${url} is healthy`,
      startMs,
      async () => {
        const h = (await r.cluster.health()).find((e) => e.endpoint === url);
        return h && h.ok && h.value.healthy ? true : undefined;
      },
      POLL_MS,
    );
    r.check('endpoint healthy', true, url);
  };
  // A learner does not serve the linearizable read behind `endpoint health`: it is checked by its status, promoted, then checked for health.
  if (!m.isLearner) await waitHealthy();

  if (m.isLearner) {
    const lead = await r.until('a leader answers', startMs, async () => leaderUrl(r));
    const st = await r.until(`learner ${url} answers its status and catches up`, startMs, async () => {
      const x = await statusOf(r, url);
      return x && cmpBig(x.raftIndex, lead.status.raftIndex) >= 0 ? x : undefined;
    });
    r.check('learner in sync', true, `${url} at raft index ${st.raftIndex}, leader was at ${lead.status.raftIndex}`);
    if (!promote) throw new StepError(`member ${id} is a learner but the plan has no promotion`, RESUME_ADVICE);
    // Sent to the leader's own member (LOCAL=true on the leader's VM): through the job wrapper's list of
    // every master the request may land on a follower, which forwards a promotion to the leader without
    // the caller's user; with authentication on (as TKGI runs etcd) the leader refuses it and the client
    // sees a timeout, every time while the first endpoint of the list is a follower.
    let via: string | undefined = lead.label;
    // etcd refuses to promote a learner that has not caught up: tried again until in sync or the deadline.
    await r.until(
      `learner ${id} is promoted`,
      r.timeouts.promoteMs,
      async () => {
        const ms = await r.members();
        const x = ms.find((y) => y.id === id);
        if (x && !x.isLearner) return true;
        via ??= (await leaderUrl(r).catch(() => undefined))?.label;
        if (!via) {
          r.info('no leader answers yet: the promotion waits');
          return undefined;
        }
        const pc = { ...promote, host: via, command: cmd.memberPromote(id, { local: true }).command };
        const res = await r.exec(pc, { allowFail: true });
        if (res.code === 0) return true;
        const failure = parseEtcdctlError(res.stderr);
        // "not in sync yet" came from the leader; anything else (a timeout, a leader changed): look it up again
        if (failure.reason !== 'learner-not-in-sync') via = undefined;
        r.info(
          `promotion not accepted yet (${failure.reason === 'unknown' ? '' : `${failure.reason}: `}${failure.message || `exit ${res.code}`}); retrying`,
        );
        return undefined;
      },
      1000,
    );
  }
  const voter = (await r.members()).find((y) => y.id === id);
  r.check(
    'not a learner',
    !!voter && !voter.isLearner,
    voter ? (voter.isLearner ? 'still a learner' : 'voting member') : 'member missing',
  );
  if (m.isLearner) await waitHealthy();

  const leader = await r.until('a leader answers', startMs, async () => leaderUrl(r));
  const target = leader.status.raftIndex;
  const caught = await r.until(`raft index of ${url} reaches ${target}`, startMs, async () => {
    const st = await statusOf(r, url);
    return st && cmpBig(st.raftIndex, target) >= 0 ? st : undefined;
  });
  r.check('raft index caught up', true, `${url} at ${caught.raftIndex}, leader was at ${target}`);

  const eq =
    (await agreeWithEarly(r, url, leaderHash)) ??
    (await r.until(
      "hashKV of the new member equals the leader's",
      startMs,
      async () => {
        // the leader's current revision from its status header (a hashKV only to learn it hashed the whole keyspace once more)
        const { url: lu, status: ls } = await leaderUrl(r);
        const rev = ls.revision ?? (await r.cluster.hashKV(lu)).revision;
        const agree = await compareMembersAt((u, rv) => r.cluster.hashKV(u, rv), lu, url, rev);
        if (agree.equal) return { rev: agree.revision, hash: agree.hash, lu };
        // thrown, not returned: `until` keeps the last one and names it if the deadline passes
        throw new Error(agree.detail);
      },
      500,
    ));
  r.check(
    "hashKV equal to the leader's",
    true,
    `revision ${eq.rev}: hash ${eq.hash} on ${url} and on the leader ${eq.lu}`,
  );
}

export const step: RecoveryStep = {
  id,
  title,
  description:
    "monit start etcd; wait until the member is started, healthy, a voter, its raft index caught up and hashKV equal to the leader's at the same revision.",
  commands,
  checks,
  run,
};
