// The etcd part of an observation in as few rounds as it can: the alarms read from status' errors
// (no alarm list call unless an error cannot be read), health's quorum read without its alarm list
// (an alarm still makes the member unhealthy), hashKV with the first round once the connection's
// last observation found the DBs small.
import * as assert from 'assert';
import { alarmsFromStatusErrors } from '../../src/etcd/clusterReads';
import { observeDeployment } from '../../src/diagnosis';
import type { DeploymentSession } from '../../src/session/types';
import { IDS, MEMBER_IDS, endpoint, instance, member, url } from './observation-fixtures';

function fakeCluster(errors: string[]) {
  const calls: string[] = [];
  let hashRound = 0;
  let leader = MEMBER_IDS[0];
  let healthy = true;
  const cluster = {
    endpoints: [0, 1, 2].map((i) => ({ name: IDS[i], url: url(i) })),
    status: async () => {
      calls.push('status');
      return [0, 1, 2].map((i) => {
        const s = endpoint(i).status!;
        return s.ok ? { ...s, value: { ...s.value, errors, revision: '9', leader } } : s;
      });
    },
    health: async (o?: { withAlarms?: boolean }) => {
      calls.push(`health withAlarms=${o?.withAlarms}`);
      return [0, 1, 2].map((i) => {
        const h = endpoint(i).health!;
        return h.ok && !healthy && i === 2 ? { ...h, value: { ...h.value, healthy: false, error: 'timeout' } } : h;
      });
    },
    alarms: async () => {
      calls.push('alarms');
      return [{ memberId: 'b2', alarm: 'NOSPACE' }];
    },
    memberList: async () => {
      calls.push('memberList');
      return [0, 1, 2].map((k) => member(k));
    },
    hashKV: async (u: string) => {
      calls.push(`hashKV ${hashRound}`);
      return { memberId: 'x', revision: '9', compactRevision: '0', hash: 42, url: u };
    },
  };
  const session = { deployment: 'dep', etcd: async () => cluster } as unknown as DeploymentSession;
  return {
    session,
    calls,
    nextRound: () => {
      hashRound++;
      calls.length = 0;
    },
    setLeader: (l: string) => (leader = l),
    setHealthy: (h: boolean) => (healthy = h),
  };
}

const base = { instances: [0, 1, 2].map((i) => instance(i)), probeVms: false };
const opts = base;

describe('diagnosis: the etcd reads of an observation', () => {
  it('reads the alarms from status errors: etcd\'s "memberID:<decimal> alarm:NOSPACE", "no leader" ignored, anything else → null', () => {
    assert.deepStrictEqual(alarmsFromStatusErrors(['memberID:178 alarm:NOSPACE ', 'etcdserver: no leader']), [
      { memberId: 'b2', alarm: 'NOSPACE' },
    ]);
    assert.deepStrictEqual(alarmsFromStatusErrors([]), []);
    assert.strictEqual(alarmsFromStatusErrors(['something else']), null);
  });

  it('no alarm list call when status says it all; an alarm makes every member unhealthy, as etcdctl endpoint health', async () => {
    const f = fakeCluster(['memberID:178 alarm:NOSPACE ']);
    const o = await observeDeployment(f.session, opts);
    assert.ok(!f.calls.includes('alarms'), f.calls.join(', '));
    assert.ok(f.calls.includes('health withAlarms=false'));
    assert.deepStrictEqual(o.alarms, { ok: true, value: [{ memberId: 'b2', alarm: 'NOSPACE' }] });
    for (const e of o.endpoints) {
      assert.ok(e.health?.ok);
      assert.strictEqual(e.health.value.healthy, false);
      assert.match(e.health.value.error ?? '', /Active alarm\(s\): NOSPACE on b2/);
    }
  });

  it('an error it cannot read: the alarm list is asked', async () => {
    const f = fakeCluster(['etcdserver: something new']);
    const o = await observeDeployment(f.session, opts);
    assert.ok(f.calls.includes('alarms'));
    assert.deepStrictEqual(o.alarms, { ok: true, value: [{ memberId: 'b2', alarm: 'NOSPACE' }] });
  });

  it('hashKV after status on a new connection, with the first round once the DBs are known small', async () => {
    const f = fakeCluster([]);
    const opts = { ...base, hashKvMaxAgeMs: 0 };
    const first = await observeDeployment(f.session, opts);
    assert.strictEqual(first.hashRevision, '9');
    assert.ok(f.calls.indexOf('hashKV 0') > f.calls.indexOf('status'), `hashKV after status: ${f.calls.join(', ')}`);
    f.nextRound();
    const second = await observeDeployment(f.session, opts);
    assert.strictEqual(second.hashRevision, '9');
    assert.deepStrictEqual(
      f.calls.slice(0, 3),
      ['hashKV 1', 'hashKV 1', 'hashKV 1'],
      `hashKV goes out first: ${f.calls.join(', ')}`,
    );
    assert.ok(second.endpoints.every((e) => e.hashKV?.ok && e.hashKV.value.hash === 42));
    // Too large for the cheap limit: not hashed at all.
    f.nextRound();
    await observeDeployment(f.session, { ...opts, hashKvMaxDbBytes: 100 });
    assert.ok(!f.calls.some((c) => c.startsWith('hashKV')), f.calls.join(', '));
  });

  it('over one connection, the last hashKV comparison of the same majority is reused while young', async () => {
    const f = fakeCluster([]);
    const first = await observeDeployment(f.session, base);
    assert.strictEqual(f.calls.filter((c) => c.startsWith('hashKV')).length, 3);
    f.nextRound();
    const second = await observeDeployment(f.session, base);
    assert.deepStrictEqual(
      f.calls.filter((c) => c.startsWith('hashKV')),
      [],
      'young: no hashKV sent',
    );
    assert.strictEqual(second.hashRevision, first.hashRevision);
    assert.deepStrictEqual(
      second.endpoints.map((e) => e.hashKV),
      first.endpoints.map((e) => e.hashKV),
    );
    f.nextRound();
    await observeDeployment(f.session, { ...base, hashKvMaxAgeMs: 0 });
    assert.strictEqual(f.calls.filter((c) => c.startsWith('hashKV')).length, 3, 'too old: hashed again');
  });

  it("a poll's reuse: health and member lists of a healthy cluster only when status changed (leader), never after a failure", async () => {
    const f = fakeCluster([]);
    const poll = { ...base, hashKvMaxDbBytes: 0, quorumReadMaxAgeMs: 15_000 };
    const reads = () => f.calls.filter((c) => c !== 'status');
    await observeDeployment(f.session, poll);
    assert.deepStrictEqual(reads(), ['health withAlarms=false', 'memberList', 'memberList', 'memberList']);
    f.nextRound();
    const second = await observeDeployment(f.session, poll);
    assert.deepStrictEqual(f.calls, ['status'], 'same status picture: status alone');
    assert.ok(second.endpoints.every((e) => e.health?.ok && e.health.value.healthy && e.members?.ok));
    // the recovery engine's default: asked every time; an on-demand refresh (freshProbes) too
    f.nextRound();
    await observeDeployment(f.session, { ...poll, quorumReadMaxAgeMs: undefined });
    assert.strictEqual(reads().length, 4);
    f.nextRound();
    await observeDeployment(f.session, { ...poll, freshProbes: true });
    assert.strictEqual(reads().length, 4);
    // another leader: asked again, and a member found unhealthy is asked at every poll after
    f.nextRound();
    f.setLeader(MEMBER_IDS[1]);
    f.setHealthy(false);
    const changed = await observeDeployment(f.session, poll);
    assert.strictEqual(reads().length, 4);
    assert.ok(changed.endpoints[2].health?.ok && !changed.endpoints[2].health.value.healthy);
    f.nextRound();
    await observeDeployment(f.session, poll);
    assert.strictEqual(reads().length, 4, 'not reused after a failure');
  });
});
