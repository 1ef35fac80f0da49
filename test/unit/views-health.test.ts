// The health panel's host side through its message protocol (fed by the shared diagnosis
// monitor), the protocol's validation, and the status bar's summary of the monitor's results.
import * as assert from 'assert';
import { HealthController } from '../../src/webviews/health/healthController';
import type { HostToPanel, HealthSnapshot } from '../../src/webviews/health/protocol';
import { parseHostMessage, parsePanelMessage } from '../../src/webviews/health/protocolGuards';
import { summarize } from '../../src/views/statusSummary';
import { DiagnosisMonitor, type ClusterObservation, type MonitorEntry } from '../../src/diagnosis';
import { FAKE_ENV, fakeSession, makeWorld } from './views-fakes';
import { IDS, endpoint, observation, probe } from './observation-fixtures';

function setup(down?: string, observe?: () => ClusterObservation) {
  const w = makeWorld(1, 5);
  const dep = w.deployments[0].name;
  if (down) {
    w.down.add(down);
    // The Director says etcd fails there: positive evidence the member is down (no SSH in the fakes).
    const k = Number(/master-(\d)/.exec(down)![1]);
    const inst = w.instances.get(dep)!;
    inst[k] = {
      ...inst[k],
      processState: 'failing',
      processes: inst[k].processes.map((p) => (p.name === 'etcd' ? { ...p, state: 'failing' } : p)),
    };
  }
  const s = fakeSession(w, FAKE_ENV).deployment(dep);
  const monitor = new DiagnosisMonitor({
    session: async () => s,
    observeOptions: { probeVms: false },
    observe: observe ? async () => observe() : undefined,
  });
  const posted: HostToPanel[] = [];
  const c = new HealthController({
    envName: FAKE_ENV.name,
    deployment: dep,
    monitor,
    post: (m) => posted.push(m),
    pollSeconds: 3600,
    canRecover: true,
  });
  return { w, dep, c, posted, monitor };
}

const snapshots = (posted: HostToPanel[]) =>
  posted.filter((m): m is Extract<HostToPanel, { type: 'snapshot' }> => m.type === 'snapshot').map((m) => m.snapshot);

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
    assert.strictEqual(s.worst, 'ok');
    assert.strictEqual(s.headline, '3/3 healthy');
    assert.deepStrictEqual(s.banners, []);
    assert.deepStrictEqual(
      s.findings.map((f) => f.kind),
      ['healthy', 'not-checked'],
    );
    assert.ok(
      s.unchecked.some((u) => /not probed over SSH/.test(u)),
      'what could not be checked is said',
    );
    // Sizes: the quota is etcd's default (the VMs were not probed), said so.
    assert.strictEqual(s.sizes.length, 3);
    for (const z of s.sizes) {
      assert.strictEqual(z.quotaBytes, 2 * 1024 * 1024 * 1024);
      assert.strictEqual(z.quotaKnown, false);
      assert.strictEqual(z.nearQuota, false);
      assert.strictEqual(z.dbSizeInUse, 16384);
      assert.ok(z.fragmentationPct! > 0 && z.fragmentationPct! < 100);
    }
  });

  it('split brain: a banner that says what it means and what to do, the split member red and offered for recovery', async () => {
    const o = observation();
    o.endpoints[0] = endpoint(0, { clusterId: 'dddddd', leader: 'a1' });
    const { c, posted } = setup(undefined, () => o);
    await c.handle({ type: 'ready' });
    c.dispose();
    const s = snapshots(posted).at(-1)!;
    assert.ok(parseHostMessage(JSON.parse(JSON.stringify({ type: 'snapshot', snapshot: s }))));
    assert.strictEqual(s.worst, 'critical');
    assert.strictEqual(s.headline, 'SPLIT BRAIN');
    assert.strictEqual(s.banners.length, 1);
    assert.strictEqual(s.banners[0].kind, 'split-brain');
    assert.match(s.banners[0].meaning, /Two etcd clusters/);
    assert.match(s.banners[0].todo, /Replace the member that split off/);
    const row = s.rows.find((r) => r.memberName === IDS[0])!;
    assert.deepStrictEqual([row.severity, row.state, row.failing], ['critical', 'split', true]);
    assert.strictEqual(s.rows.filter((r) => r.severity === 'ok').length, 2);
    const m = s.members.find((x) => x.instance === `master/${IDS[0]}`)!;
    assert.strictEqual(m.recoverable, true);
    assert.strictEqual(s.members.filter((x) => x.recoverable).length, 1, 'only the split member is offered');
    assert.strictEqual(s.findings[0].kind, 'split-brain');
  });

  it('near quota: percent of the quota read from the VM, over the 80 % threshold', async () => {
    const o = observation();
    o.probes[IDS[1]] = probe(1, { quota: 100 * 1024 * 1024 });
    const e = endpoint(1);
    if (e.status?.ok) e.status.value.dbSize = 90 * 1024 * 1024;
    o.endpoints[1] = e;
    const { c, posted } = setup(undefined, () => o);
    await c.handle({ type: 'ready' });
    c.dispose();
    const s = snapshots(posted).at(-1)!;
    const z = s.sizes.find((x) => x.instance === `master/${IDS[1]}`)!;
    assert.deepStrictEqual([z.quotaBytes, z.quotaKnown, z.quotaPct, z.nearQuota], [100 * 1024 * 1024, true, 90, true]);
    assert.strictEqual(s.thresholds.nearQuotaRatio, 0.8);
    assert.strictEqual(s.worst, 'warning');
    assert.strictEqual(s.rows.find((r) => r.memberName === IDS[1])!.severity, 'warning');
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
    for (const g of good) assert.strictEqual(answer.snapshot.history[g.endpoint].length, 2, 'two diagnoses recorded');
    assert.strictEqual(answer.snapshot.history[bad.endpoint], undefined);
    const member = answer.snapshot.members.find((m) => m.state === 'down');
    assert.ok(member && member.severity === 'critical');
    // Down, but nothing proves a replacement is the fix (no SSH): not offered for recovery.
    assert.strictEqual(member.recoverable, false);
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

async function diagnosed(deployment: string, o: ClusterObservation): Promise<MonitorEntry> {
  const m = new DiagnosisMonitor({ session: async () => ({}) as never, observe: async () => o });
  return m.refresh('e', deployment);
}

describe('views: status bar summary (from the monitor)', () => {
  it('says "etcd: SPLIT BRAIN" (critical) over "etcd 2/3" and "etcd ok", and targets the worst deployment', async () => {
    const healthy = await diagnosed('a', observation());
    const split = observation();
    split.endpoints[0] = endpoint(0, { clusterId: 'dddddd', leader: 'a1' });
    const splitEntry = await diagnosed('b', split);
    const s = summarize([healthy, splitEntry])!;
    assert.match(s.text, /etcd: SPLIT BRAIN \(1\/2 ok\)$/);
    assert.strictEqual(s.level, 'critical');
    assert.deepStrictEqual(s.target, { envName: 'e', deployment: 'b' });
    assert.match(s.tooltip, /b \(e\): critical: SPLIT BRAIN/);
    const ok = summarize([healthy])!;
    assert.strictEqual(ok.text, '$(database) etcd ok');
    assert.strictEqual(ok.level, 'ok');
    assert.strictEqual(summarize([]), undefined);
  });

  it('a member down with VM evidence: "etcd 2/3", critical; a warning only: warning level', async () => {
    const o = observation();
    o.endpoints[1] = endpoint(1, { down: 'connection refused' });
    o.probes[IDS[1]] = probe(1, { health: false, pid: '', member: false });
    const s = summarize([await diagnosed('a', o)])!;
    assert.strictEqual(s.text, '$(error) etcd 2/3');
    assert.strictEqual(s.level, 'critical');
    const w = observation();
    w.endpoints[2] = endpoint(2, { down: 'i/o timeout' });
    delete w.probes[IDS[2]];
    const sw = summarize([await diagnosed('a', w)])!;
    assert.strictEqual(sw.level, 'warning');
    assert.strictEqual(sw.text, '$(warning) etcd 2/3', 'unknown: not counted healthy, not red');
    // Unreachable from here but healthy on its VM (a network path): every member healthy, one warning.
    const n = observation();
    n.endpoints[2] = endpoint(2, { down: 'connection refused' });
    const sn = summarize([await diagnosed('a', n)])!;
    assert.strictEqual(sn.text, '$(warning) etcd 3/3 (1 warning)');
    assert.strictEqual(sn.level, 'warning');
  });

  it('a deployment that could not be diagnosed at all is critical and says why', () => {
    const s = summarize([
      {
        envName: 'e',
        deployment: 'x',
        members: [],
        at: 1,
        refreshing: false,
        error: 'could not diagnose etcd of x: no route',
      },
    ])!;
    assert.strictEqual(s.level, 'critical');
    assert.match(s.text, /not diagnosed/);
    assert.match(s.tooltip, /no route/);
  });
});
