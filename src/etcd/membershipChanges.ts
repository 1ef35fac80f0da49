// Membership changes (add, remove, promote), each sent exactly once. When one fails with a timeout or
// an unreachable member it may have been applied all the same: the member list is re-checked until
// the change shows or the membership deadline passes. Plain Node, no `vscode`.
import { pause } from '../util/async';
import { normalizeHexId } from './ids';
import { toEtcdError } from './errors';
import { dec, Member, MemberPool, RawMember, toMember } from './memberPool';
import { memberList, status } from './clusterReads';
import { EtcdError, type EtcdMember } from './types';

function samePeerUrls(a: string[], b: string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** The member to send a membership change to: the first that answers a (cheap) member list. */
async function pickForChange(pool: MemberPool, what: string): Promise<Member> {
  if (pool.membershipEndpoint) return pool.member(pool.membershipEndpoint);
  return (await pool.any(what, (m) => m.client.cluster.memberList({} as never, pool.deadline()))).member;
}

/**
 * A membership call failed with a timeout or an unreachable member: it may have been applied all
 * the same, and it is never sent again. Lists the members until `applied` finds the change or the
 * membership deadline passes: the change may still be committing, and a follower's
 * non-linearizable list can lag the leader, so one look right away is not enough to say "not applied".
 */
async function appliedDespite<T>(
  pool: MemberPool,
  err: EtcdError,
  what: string,
  applied: (members: EtcdMember[]) => T | undefined,
): Promise<T | undefined> {
  if (err.kind !== 'timeout' && err.kind !== 'unreachable') return undefined;
  const end = Date.now() + pool.membershipTimeoutMs;
  for (;;) {
    const members = await memberList(pool).catch(() => undefined);
    const found = members ? applied(members) : undefined;
    if (found !== undefined) {
      pool.log(`etcd: ${what} failed (${err.kind}) but the member list shows it applied: treating as done`);
      return found;
    }
    if (Date.now() >= end) return undefined;
    await pause(250);
  }
}

export async function memberAdd(
  pool: MemberPool,
  peerURLs: string[],
  opts: { learner?: boolean } = {},
): Promise<{ member: EtcdMember; members: EtcdMember[] }> {
  const what = `member add ${peerURLs.join(',')}`;
  for (const u of peerURLs) {
    if (!/^https?:\/\/[A-Za-z0-9.-]+:\d{1,5}$/.test(u))
      throw new EtcdError('config', `${what}: '${u}' is not a peer URL like https://master-1.etcd.cfcr.internal:2380.`);
  }
  const m = await pickForChange(pool, what);
  try {
    const r = await m.client.cluster.memberAdd(
      { peerURLs, isLearner: !!opts.learner },
      pool.deadline(pool.membershipTimeoutMs),
    );
    return {
      member: toMember(r.member as unknown as RawMember),
      members: (r.members as unknown as RawMember[]).map(toMember),
    };
  } catch (e) {
    const err = toEtcdError(e, what);
    const done = await appliedDespite(pool, err, what, (members) => {
      const member = members.find((x) => samePeerUrls(x.peerURLs, peerURLs));
      return member ? { member, members } : undefined;
    });
    if (done) return done;
    throw err;
  }
}

export async function memberRemove(pool: MemberPool, idHex: string): Promise<void> {
  const what = `member remove ${idHex}`;
  const id = dec(idHex);
  const m = await pickForChange(pool, what);
  try {
    await m.client.cluster.memberRemove({ ID: id }, pool.deadline(pool.membershipTimeoutMs));
  } catch (e) {
    const err = toEtcdError(e, what);
    const gone = await appliedDespite(pool, err, what, (members) =>
      members.some((x) => x.id === normalizeHexId(idHex)) ? undefined : true,
    );
    if (gone) return;
    throw err;
  }
}

/**
 * The leader, where one is known: with authentication on, a follower forwards `member promote` to
 * the leader over the peer port without the caller's user, and etcd (3.5.16 included) refuses it
 * there ("auth: user name is empty"; the client sees a timeout). Sent to the leader, it works.
 */
async function pickLeader(pool: MemberPool, what: string): Promise<Member> {
  if (pool.membershipEndpoint) return pool.member(pool.membershipEndpoint);
  const statuses = await status(pool);
  const leader = statuses.find((r) => r.ok && r.value.memberId === r.value.leader);
  return leader ? pool.member(leader.endpoint) : pickForChange(pool, what);
}

export async function memberPromote(pool: MemberPool, idHex: string): Promise<void> {
  const what = `member promote ${idHex}`;
  const id = dec(idHex);
  const m = await pickLeader(pool, what);
  try {
    await m.client.cluster.memberPromote({ ID: id }, pool.deadline(pool.membershipTimeoutMs));
  } catch (e) {
    const err = toEtcdError(e, what);
    const promoted = await appliedDespite(pool, err, what, (members) =>
      members.some((x) => x.id === normalizeHexId(idHex) && !x.isLearner) ? true : undefined,
    );
    if (promoted) return;
    throw err;
  }
}
