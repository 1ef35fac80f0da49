// Testbed tier: the etcd layer (src/etcd/cluster.ts) against the testbed's real 3-member etcd (3.5
// or 3.4, BOSH_ETCD_TESTBED_ETCD) with mutual TLS and authentication on as TKGI's job sets it up,
// through the root client certificate like the product; checked against etcdctl in the VMs.
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Duplex } from 'stream';
import type { Dialer } from '../../src/bosh/types';
import { breakInstance, etcdctlIn, heal, waitClusterHealthy } from './harness/index';
import { masters, readTestbedState, TestbedState, TestbedVm } from './harness/state';
import { openEtcdCluster, ClusterEndpointConfig } from '../../src/etcd/cluster';
import { EtcdCluster, EtcdError } from '../../src/etcd/types';
import { directDial } from '../../src/ssh/gateway';
import { waitFor } from './harness/sh';

const LEARNER_PEER = 'https://master-9.etcd.cfcr.internal:2380';
// etcd derives a new member's id from its peer URLs and the current second, and refuses an id it has
// removed: a test that re-adds the URL the previous test removed, within the same second, is refused.
// So the lost-answer test uses a URL of its own.
const LOST_ANSWER_PEER = 'https://master-8.etcd.cfcr.internal:2380';

/** The job's client certificates: `etcdctl-root` (CN root) as the product uses, or `etcdctl` (CN etcdClient). */
function certsOf(vm: TestbedVm, name: 'etcdctl-root' | 'etcdctl' = 'etcdctl-root') {
  const d = path.join(vm.dir, 'vcap', 'jobs', 'etcd', 'config');
  return {
    ca: fs.readFileSync(path.join(d, 'etcdctl-ca.crt')),
    cert: fs.readFileSync(path.join(d, `${name}.crt`)),
    key: fs.readFileSync(path.join(d, `${name}.key`)),
  };
}

function endpointsOf(state: TestbedState): ClusterEndpointConfig[] {
  return masters(state).map((m) => ({ name: m.id, url: m.etcdClientUrl!, connectHost: m.ip, connectPort: 2379 }));
}

/** `etcdctl member list` (simple format: id, status, name, peer, client, learner) in a VM. */
async function etcdctlMembers(
  vm: TestbedVm,
): Promise<{ id: string; status: string; name: string; peer: string; learner: boolean }[]> {
  const r = await etcdctlIn(vm, 'member list');
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, status, name, peer, , learner] = l.split(', ');
      return { id, status, name, peer, learner: learner === 'true' };
    });
}

/**
 * A dialer whose connections pass everything through until armed; once armed, the next request
 * written on a connection still reaches etcd, but every answer on that connection is swallowed:
 * the change is applied and the client never hears of it (a lost response).
 */
function responseEatingDialer(): { dial: Dialer; arm(): void; eaten(): number } {
  let armed = false;
  let eaten = 0;
  const dial: Dialer = async (h, p) => {
    const real = await directDial(h, p);
    let cut = false;
    const proxy = new Duplex({
      write(chunk, _enc, cb) {
        if (armed) cut = true;
        real.write(chunk, cb);
      },
      final(cb) {
        real.end();
        cb();
      },
      read() {
        /* pushed below */
      },
      destroy(err, cb) {
        real.destroy();
        cb(err);
      },
    });
    real.on('data', (d: Buffer) => {
      if (cut) eaten += d.length;
      else proxy.push(d);
    });
    real.on('end', () => proxy.push(null));
    real.on('error', (e) => proxy.destroy(e));
    return proxy;
  };
  return {
    dial,
    arm: () => {
      armed = true;
    },
    eaten: () => eaten,
  };
}

describe('etcd cluster (testbed)', function () {
  this.timeout(90_000);
  let state: TestbedState;
  let cluster: EtcdCluster;

  before(async () => {
    state = readTestbedState();
    cluster = await openEtcdCluster({
      endpoints: endpointsOf(state),
      dial: (h, p) => directDial(h, p),
      ...certsOf(masters(state)[0]),
      callTimeoutMs: 3000,
    });
  });
  after(async () => {
    // Never leave the spare learner behind, even if a test failed half-way.
    try {
      for (const m of await cluster.memberList())
        if (m.peerURLs.includes(LEARNER_PEER) || m.peerURLs.includes(LOST_ANSWER_PEER))
          await cluster.memberRemove(m.id);
    } catch {
      /* reported by the failing test */
    }
    await cluster?.dispose();
  });

  it('reads the status of every member through its tunnel, with the ids etcdctl prints (exact above 2^53)', async () => {
    const res = await cluster.status();
    assert.deepStrictEqual(
      res.map((r) => r.endpoint),
      masters(state).map((m) => m.etcdClientUrl),
    );
    const fromEtcdctl = await etcdctlMembers(masters(state)[0]);
    const ids = new Set(fromEtcdctl.map((m) => m.id));
    const leaders = new Set<string>();
    for (const r of res) {
      assert.ok(r.ok, `${r.endpoint}: ${!r.ok && r.error}`);
      const s = r.value;
      assert.strictEqual(s.version, state.etcd.version);
      assert.ok(ids.has(s.memberId), `${s.memberId} is one of etcdctl's ids ${[...ids]}`);
      assert.ok(ids.has(s.leader));
      assert.ok(s.dbSize > 0 && s.dbSizeInUse! > 0 && s.dbSizeInUse! <= s.dbSize);
      assert.match(s.raftTerm, /^[1-9]\d*$/);
      assert.match(s.raftIndex, /^[1-9]\d*$/);
      assert.match(s.raftAppliedIndex!, /^[1-9]\d*$/);
      assert.strictEqual(s.isLearner, false);
      assert.deepStrictEqual(s.errors, []);
      leaders.add(s.leader);
    }
    assert.strictEqual(leaders.size, 1, 'all members agree on the leader');
    assert.strictEqual(new Set(res.map((r) => r.ok && r.value.memberId)).size, 3);
    // The ids must survive the decimal-string → hex path exactly: at least one is beyond 2^53.
    assert.ok(
      [...ids].some((id) => BigInt('0x' + id) > 2n ** 53n),
      `an id above 2^53 among ${[...ids]}`,
    );
    // And the member names are the instance UUIDs.
    const byId = new Map(fromEtcdctl.map((m) => [m.id, m.name]));
    const list = await cluster.memberList();
    assert.deepStrictEqual(list.map((m) => m.id).sort(), [...ids].sort());
    for (const m of list) assert.strictEqual(m.name, byId.get(m.id));
    assert.deepStrictEqual(
      list.map((m) => m.name).sort(),
      masters(state)
        .map((m) => m.id)
        .sort(),
    );
    assert.strictEqual((await cluster.clusterId()).length > 0, true);
  });

  it('checks health like `etcdctl endpoint health` (quorum read) and lists no alarms', async () => {
    const h = await cluster.health();
    for (const r of h) {
      assert.ok(r.ok && r.value.healthy, JSON.stringify(r));
      assert.ok(r.value.tookMs >= 0);
    }
    assert.deepStrictEqual(await cluster.alarms(), []);
  });

  it('writes and reads keys, and all members hash the same revision equally (hashKV)', async () => {
    const key = `/test/etcd-layer/${crypto.randomUUID()}`;
    const rev = await cluster.put(key, 'v1');
    assert.match(rev, /^\d+$/);
    assert.strictEqual(await cluster.get(key), 'v1');
    for (const ep of cluster.endpoints)
      assert.strictEqual(await cluster.get(key, { serializable: true, endpointUrl: ep.url }), 'v1');
    assert.strictEqual(await cluster.get(`${key}-missing`), null);
    const hashes = await Promise.all(cluster.endpoints.map((ep) => cluster.hashKV(ep.url, rev)));
    assert.strictEqual(new Set(hashes.map((h) => h.hash)).size, 1, JSON.stringify(hashes));
    assert.strictEqual(new Set(hashes.map((h) => h.memberId)).size, 3);
    for (const h of hashes) assert.ok(Number(h.revision) >= Number(rev));
    await assert.rejects(
      cluster.hashKV('https://nope:2379'),
      (e: unknown) => e instanceof EtcdError && e.kind === 'config',
    );
  });

  it('streams a snapshot whose trailing sha256 matches its content', async () => {
    const s = await cluster.snapshot(cluster.endpoints[0].url);
    const chunks: Buffer[] = [];
    for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
    const all = Buffer.concat(chunks);
    assert.ok(all.length > 4096, `snapshot of ${all.length} bytes`);
    const body = all.subarray(0, all.length - 32);
    assert.ok(
      crypto
        .createHash('sha256')
        .update(body)
        .digest()
        .equals(all.subarray(all.length - 32)),
      'sha256 appended by etcd matches',
    );
  });

  it('with authentication on (as on TKGI), refuses HashKV and snapshots to the non-root certificate and allows them to root', async () => {
    assert.strictEqual(state.etcd.auth, true, 'the testbed enables etcd authentication in post-start');
    const url = cluster.endpoints[0].url;
    const nonRoot = await openEtcdCluster({
      endpoints: endpointsOf(state),
      dial: (h, p) => directDial(h, p),
      ...certsOf(masters(state)[0], 'etcdctl'),
      callTimeoutMs: 3000,
    });
    try {
      // the etcdClient user reads and writes keys...
      const key = `/test/auth/${crypto.randomUUID()}`;
      await nonRoot.put(key, 'x');
      assert.strictEqual(await nonRoot.get(key), 'x');
      // ...but HashKV and Snapshot are the root role's
      await assert.rejects(
        nonRoot.hashKV(url),
        (e: unknown) => e instanceof EtcdError && /permission denied/i.test(e.message),
      );
      const stream = await nonRoot.snapshot(url).catch((e: unknown) => e);
      const snapshotError =
        stream instanceof Error
          ? stream
          : await (async () => {
              try {
                for await (const chunk of stream as AsyncIterable<Buffer>) void chunk;
                return undefined;
              } catch (e) {
                return e as Error;
              }
            })();
      assert.ok(snapshotError, 'a snapshot with the non-root certificate is refused');
      assert.match(snapshotError.message, /permission denied/i);
    } finally {
      await nonRoot.dispose();
    }
    const h = await cluster.hashKV(url);
    assert.match(h.revision, /^\d+$/);
  });

  it('adds an unstarted learner, sees it in the list (as etcdctl does), refuses a duplicate, and removes it', async () => {
    const before = await cluster.memberList();
    // etcd refuses membership changes until every member has been connected for a few seconds (strict
    // reconfiguration check, e.g. right after the tier's start): an explicit 'unhealthy' refusal, nothing applied
    const { member, members } = await waitFor(
      'etcd to accept the learner add',
      30_000,
      async () => {
        try {
          return await cluster.memberAdd([LEARNER_PEER], { learner: true });
        } catch (e) {
          if (e instanceof EtcdError && e.kind === 'unhealthy') return undefined;
          throw e;
        }
      },
      1000,
    );
    assert.match(member.id, /^[0-9a-f]{1,16}$/);
    assert.strictEqual(member.isLearner, true);
    assert.strictEqual(member.name, '');
    assert.deepStrictEqual(member.peerURLs, [LEARNER_PEER]);
    assert.strictEqual(members.length, before.length + 1);
    const listed = (await cluster.memberList()).find((m) => m.id === member.id);
    assert.ok(listed && listed.isLearner && listed.name === '');
    const inVm = (await etcdctlMembers(masters(state)[1])).find((m) => m.id === member.id);
    assert.ok(inVm, 'etcdctl sees the same (hex) id');
    assert.strictEqual(inVm.status, 'unstarted');
    assert.strictEqual(inVm.learner, true);

    await assert.rejects(
      cluster.memberAdd([LEARNER_PEER], { learner: true }),
      (e: unknown) => e instanceof EtcdError && e.kind === 'exists' && /already exists/.test(e.message),
    );
    // With authentication on, a promote that a follower forwards to the leader is refused there
    // ("auth: user name is empty", a timeout for the client): make endpoint 0 a follower, so the
    // promote only gets etcd's real answer (not in sync) if the client sends it to the leader.
    const leaderNow = (await cluster.status()).find((r) => r.ok && r.value.memberId === r.value.leader);
    if (leaderNow?.endpoint === cluster.endpoints[0].url) {
      const target = (await cluster.status()).find((r) => r.ok && r.endpoint === cluster.endpoints[2].url);
      assert.ok(target?.ok);
      await etcdctlIn(masters(state)[0], `move-leader ${target.value.memberId}`, { local: true });
    }
    await assert.rejects(
      cluster.memberPromote(member.id),
      (e: unknown) => e instanceof EtcdError && ['unhealthy', 'rpc'].includes(e.kind),
    );

    await cluster.memberRemove(member.id);
    const after = await cluster.memberList();
    assert.ok(!after.some((m) => m.id === member.id));
    assert.strictEqual(after.length, before.length);
    assert.ok(!(await etcdctlMembers(masters(state)[2])).some((m) => m.id === member.id));
    await assert.rejects(
      cluster.memberRemove(member.id),
      (e: unknown) => e instanceof EtcdError && e.kind === 'not-found',
    );
    await assert.rejects(
      cluster.memberRemove('not-an-id;rm'),
      (e: unknown) => e instanceof EtcdError && e.kind === 'config',
    );
    await assert.rejects(
      cluster.memberAdd(['https://x:2380; rm -rf /']),
      (e: unknown) => e instanceof EtcdError && e.kind === 'config',
    );
  });

  it('treats a member add/remove whose answer was lost as done once the member list shows it (never re-sent)', async () => {
    const eps = endpointsOf(state);
    // Membership changes go to endpoint 0, whose connection loses every answer once armed.
    const lossyCluster = async () => {
      const lossy = responseEatingDialer();
      const c = await openEtcdCluster({
        endpoints: eps,
        dial: (h, p) => (h === eps[0].connectHost ? lossy.dial(h, p) : directDial(h, p)),
        ...certsOf(masters(state)[0]),
        callTimeoutMs: 5000,
        membershipTimeoutMs: 3000,
        membershipEndpoint: eps[0].url,
      });
      assert.strictEqual((await c.status())[0].ok, true, 'endpoint 0 works before arming');
      lossy.arm();
      return { c, lossy };
    };
    const a = await lossyCluster();
    let id: string | undefined;
    try {
      const { member } = await a.c.memberAdd([LOST_ANSWER_PEER], { learner: true });
      id = member.id;
      assert.ok(a.lossy.eaten() > 0, 'the answer was swallowed');
      assert.deepStrictEqual(member.peerURLs, [LOST_ANSWER_PEER]);
      assert.strictEqual(member.isLearner, true);
      const listed = await cluster.memberList();
      assert.strictEqual(listed.filter((m) => m.peerURLs.includes(LOST_ANSWER_PEER)).length, 1, 'added exactly once');
    } finally {
      await a.c.dispose();
    }
    const r = await lossyCluster();
    try {
      await r.c.memberRemove(id);
      assert.ok(r.lossy.eaten() > 0, 'the answer was swallowed');
      assert.ok(!(await cluster.memberList()).some((m) => m.id === id), 'removed');
    } finally {
      await r.c.dispose();
    }
  });

  it('verifies the server name: a wrong FQDN fails TLS for that endpoint only', async () => {
    const eps = endpointsOf(state);
    eps[1] = { ...eps[1], url: 'https://wrong-name.example.com:2379' };
    const c = await openEtcdCluster({
      endpoints: eps,
      dial: (h, p) => directDial(h, p),
      ...certsOf(masters(state)[0]),
      callTimeoutMs: 3000,
    });
    try {
      const res = await c.status();
      assert.ok(res[0].ok && res[2].ok);
      assert.ok(!res[1].ok);
      assert.match((res[1] as { error: string }).error, /wrong-name\.example\.com|certificate|TLS|altname/i);
    } finally {
      await c.dispose();
    }
  });

  it('gives ok:false for a closed port within the deadline while the others answer', async () => {
    const eps = endpointsOf(state);
    eps[2] = { ...eps[2], connectPort: 1 };
    const c = await openEtcdCluster({
      endpoints: eps,
      dial: (h, p) => directDial(h, p),
      ...certsOf(masters(state)[0]),
      callTimeoutMs: 5000,
    });
    try {
      const res = await c.status();
      assert.ok(res[0].ok && res[1].ok);
      assert.ok(!res[2].ok);
      assert.match((res[2] as { error: string }).error, /cannot reach|no answer/i);
      assert.ok((await c.memberList()).length === 3);
    } finally {
      await c.dispose();
    }
  });

  describe('a black-holed member (etcd SIGSTOPped: port open, no answer)', () => {
    let m1: TestbedVm;
    before(async () => {
      m1 = masters(state)[1];
      assert.strictEqual(
        (await cluster.memberList()).length,
        masters(state).length,
        'no member left over by an earlier test',
      );
      await breakInstance(`master/${m1.id}`, 'slow-endpoint');
    });
    let healed = false;
    after(async () => {
      if (!healed) await heal(`master/${m1.id}`);
      await waitClusterHealthy(masters(state));
    });

    it('reports it unreachable (never healthy) after its deadline, while the others keep answering', async () => {
      const res = await cluster.status();
      assert.ok(res[0].ok && res[2].ok, JSON.stringify(res));
      assert.ok(!res[1].ok);
      assert.match((res[1] as { error: string }).error, /no answer before the deadline|cannot reach/);
      const h = await cluster.health();
      assert.ok(!(h[1].ok && h[1].value.healthy), 'never healthy');
      assert.ok(h[0].ok && h[0].value.healthy && h[2].ok && h[2].value.healthy, JSON.stringify(h));
      assert.strictEqual((await cluster.memberList()).length, 3, 'member list from a member that answers');
      const key = `/test/blackhole/${crypto.randomUUID()}`;
      await cluster.put(key, 'x');
      assert.strictEqual(await cluster.get(key), 'x');
    });

    it('answers again through the same client once the member is back', async () => {
      await heal(`master/${m1.id}`);
      healed = true;
      let last = '';
      for (let i = 0; i < 60; i++) {
        const r = (await cluster.status())[1];
        if (r.ok) return;
        last = r.error;
        await new Promise((res) => setTimeout(res, 500));
      }
      assert.fail(`master-1 still unreachable after it was resumed: ${last}`);
    });
  });
});
