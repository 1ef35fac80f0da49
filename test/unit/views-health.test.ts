// The health panel's host side through its message protocol, and the protocol's validation.
import * as assert from 'assert';
import { HealthCollector } from '../../src/webviews/health/healthData';
import { HealthController } from '../../src/webviews/health/healthController';
import {
  parseHostMessage,
  parsePanelMessage,
  type HostToPanel,
  type HealthSnapshot,
} from '../../src/webviews/health/protocol';
import { summarize } from '../../src/views/statusSummary';
import { FAKE_ENV, fakeSession, makeWorld } from './views-fakes';

function setup(down?: string) {
  const w = makeWorld(1, 5);
  if (down) w.down.add(down);
  const dep = w.deployments[0].name;
  const s = fakeSession(w, FAKE_ENV).deployment(dep);
  const collector = new HealthCollector({
    envName: FAKE_ENV.name,
    deployment: dep,
    session: async () => s,
    instances: () => s.instances(),
  });
  const posted: HostToPanel[] = [];
  const c = new HealthController({
    envName: FAKE_ENV.name,
    deployment: dep,
    collect: () => collector.collect(),
    post: (m) => posted.push(m),
    pollSeconds: 3600,
    canRecover: true,
  });
  return { w, dep, c, posted };
}

describe('views: health panel host (message protocol)', () => {
  it('answers ready with init and a snapshot of three endpoints with the etcdctl 3.4 columns', async () => {
    const { c, posted, dep } = setup();
    await c.handle({ type: 'ready' });
    c.dispose();
    assert.strictEqual(posted[0].type, 'init');
    const snap = posted.find((m) => m.type === 'snapshot') as Extract<HostToPanel, { type: 'snapshot' }>;
    assert.ok(snap, 'a snapshot was posted');
    assert.ok(parseHostMessage(JSON.parse(JSON.stringify(snap))), 'the snapshot passes the webview-side validation');
    const s: HealthSnapshot = snap.snapshot;
    assert.strictEqual(s.deployment, dep);
    assert.strictEqual(s.rows.length, 3);
    for (const r of s.rows) {
      assert.match(r.endpoint, /^https:\/\/master-\d\.etcd\.cfcr\.internal:2379$/);
      assert.match(r.id, /^[0-9a-f]{16}$/);
      assert.strictEqual(r.version, '3.4.23');
      assert.ok(r.dbSize > 0);
      assert.match(r.raftTerm, /^\d+$/);
      assert.match(r.raftIndex, /^\d+$/);
      assert.match(r.raftAppliedIndex, /^\d+$/);
      assert.strictEqual(r.failing, false);
      assert.strictEqual(r.healthy, true);
      assert.match(r.instance ?? '', /^master\//);
    }
    assert.strictEqual(s.rows.filter((r) => r.isLeader).length, 1);
    assert.strictEqual(s.clusterId, 'cdf818194e3a8c32');
    assert.strictEqual(s.members.length, 3);
    assert.deepStrictEqual([s.healthy, s.total], [3, 3]);
  });

  it('marks an unreachable endpoint as failing (never healthy) while the others keep updating; history grows', async () => {
    const { c, posted } = setup('https://master-1.etcd.cfcr.internal:2379');
    await c.handle({ type: 'ready' });
    await c.handle({ type: 'refresh', requestId: 7 });
    c.dispose();
    const answer = posted.find((m) => m.type === 'snapshot' && m.requestId === 7) as Extract<
      HostToPanel,
      { type: 'snapshot' }
    >;
    assert.ok(answer, 'the refresh is answered with its request id');
    const rows = answer.snapshot.rows;
    const bad = rows.find((r) => r.endpoint.includes('master-1'))!;
    assert.strictEqual(bad.failing, true);
    assert.strictEqual(bad.unreachable, true);
    assert.notStrictEqual(bad.healthy, true);
    assert.match(bad.error ?? '', /connection refused/);
    assert.deepStrictEqual([answer.snapshot.healthy, answer.snapshot.total], [2, 3]);
    const good = rows.filter((r) => !r.failing);
    assert.strictEqual(good.length, 2);
    for (const g of good) assert.strictEqual(answer.snapshot.history[g.endpoint].length, 2, 'two polls recorded');
    assert.strictEqual(answer.snapshot.history[bad.endpoint], undefined);
    const member = answer.snapshot.members.find((m) => m.state === 'unreachable');
    assert.ok(member && member.unhealthy);
  });

  it('pauses and resumes live refresh on request', async () => {
    const { c, posted } = setup();
    await c.handle({ type: 'ready' });
    await c.handle({ type: 'setPaused', requestId: 3, paused: true });
    assert.strictEqual(c.paused, true);
    assert.deepStrictEqual(posted.at(-1), { type: 'paused', requestId: 3, paused: true });
    await c.handle({ type: 'setPaused', requestId: 4, paused: false });
    assert.strictEqual(c.paused, false);
    c.dispose();
  });

  it('ignores invalid and unknown messages from the webview', async () => {
    const { c, posted } = setup();
    for (const bad of [
      null,
      42,
      'ready',
      { type: 'refresh' },
      { type: 'refresh', requestId: -1 },
      { type: 'setPaused', requestId: 1, paused: 'yes' },
      { type: 'rm -rf' },
      { type: 'recoverMember', requestId: 1, memberName: 'x; rm -rf /' },
      { type: 'recoverMember', requestId: 1, memberName: '$(reboot)' },
    ]) {
      assert.strictEqual(parsePanelMessage(bad), undefined, JSON.stringify(bad));
      await c.handle(bad);
    }
    c.dispose();
    assert.deepStrictEqual(posted, []);
    assert.deepStrictEqual(
      parsePanelMessage({ type: 'recoverMember', requestId: 2, memberName: '8d1f0c2e-0000-4000-8000-000000000001' }),
      { type: 'recoverMember', requestId: 2, memberName: '8d1f0c2e-0000-4000-8000-000000000001' },
    );
  });

  it('the webview side rejects malformed host messages', () => {
    assert.strictEqual(parseHostMessage({ type: 'snapshot', snapshot: { rows: 'x' } }), undefined);
    assert.strictEqual(parseHostMessage({ type: 'init', envName: 1 }), undefined);
    assert.strictEqual(parseHostMessage({ type: 'error', message: 'boom', requestId: 'a' }), undefined);
    assert.ok(parseHostMessage({ type: 'error', message: 'boom' }));
  });
});

describe('views: status bar summary', () => {
  it('says etcd 2/3 with a warning when a member is down, and targets the worst cluster', () => {
    const s = summarize([
      { envName: 'e', deployment: 'a', healthy: 3, total: 3 },
      { envName: 'e', deployment: 'b', healthy: 2, total: 3 },
    ])!;
    assert.match(s.text, /etcd 2\/3/);
    assert.strictEqual(s.level, 'degraded');
    assert.deepStrictEqual(s.target, { envName: 'e', deployment: 'b' });
    assert.strictEqual(summarize([{ envName: 'e', deployment: 'a', healthy: 1, total: 3 }])!.level, 'critical');
    assert.strictEqual(summarize([{ envName: 'e', deployment: 'a', healthy: 3, total: 3 }])!.level, 'ok');
    assert.strictEqual(summarize([]), undefined);
  });
});
