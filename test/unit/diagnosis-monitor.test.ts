// The diagnosis monitor: one result per deployment, concurrent refreshes coalesced, fresh results
// reused, refreshes on an interval only while watched, failures kept as values. Its observation
// step is a recorded observation (the monitor itself does no I/O); the headline and the tree's
// finding rendering on the same data.
import * as assert from 'assert';
import {
  DiagnosisMonitor,
  diagnose,
  headline,
  membersOf,
  type ClusterObservation,
  type MonitorEntry,
} from '../../src/diagnosis';
import { findingIcon, findingsMarkdown, stateText } from '../../src/views/findingRender';
import { IDS, endpoint, member, observation } from './observation-fixtures';

function counting(make: () => ClusterObservation = observation, delayMs = 20) {
  const calls: number[] = [];
  const monitor = new DiagnosisMonitor({
    session: async () => ({}) as never,
    observe: async () => {
      calls.push(Date.now());
      await new Promise((r) => setTimeout(r, delayMs));
      return make();
    },
  });
  return { monitor, calls };
}

describe('diagnosis monitor', () => {
  it('coalesces concurrent refreshes of one deployment into one observation and tells every listener', async () => {
    const { monitor, calls } = counting();
    const heard: MonitorEntry[] = [];
    monitor.onDidChange((e) => heard.push(e));
    const [a, b, c] = await Promise.all([
      monitor.refresh('env', 'dep'),
      monitor.refresh('env', 'dep'),
      monitor.refresh('env', 'dep'),
    ]);
    assert.strictEqual(calls.length, 1);
    assert.ok(a === b && b === c);
    assert.strictEqual(heard.length, 1);
    assert.strictEqual(monitor.get('env', 'dep'), a);
    assert.strictEqual(a.diagnosis?.summary.worst, 'ok');
    assert.strictEqual(a.members.length, 3);
    // Another deployment is its own slot.
    await monitor.refresh('env', 'other');
    assert.strictEqual(calls.length, 2);
    assert.deepStrictEqual(
      monitor.entries().map((e) => e.deployment),
      ['dep', 'other'],
    );
    monitor.dispose();
  });

  it('reuses a result younger than maxAgeMs; a plain refresh observes again', async () => {
    const { monitor, calls } = counting();
    const first = await monitor.refresh('env', 'dep');
    assert.strictEqual(await monitor.refresh('env', 'dep', { maxAgeMs: 60_000 }), first);
    assert.strictEqual(calls.length, 1);
    assert.notStrictEqual(await monitor.refresh('env', 'dep'), first);
    assert.strictEqual(calls.length, 2);
    monitor.dispose();
  });

  it('refreshes on the shortest interval of its watchers, and stops when the last one leaves', async () => {
    const { monitor, calls } = counting(observation, 1);
    const slow = monitor.watch('env', 'dep', 60_000);
    const fast = monitor.watch('env', 'dep', 1000);
    assert.strictEqual(monitor.watcherCount('env', 'dep'), 2);
    await new Promise((r) => setTimeout(r, 2300));
    const during = calls.length;
    assert.ok(during >= 3, `first refresh + about two per second: ${during}`);
    fast.dispose();
    slow.dispose();
    assert.strictEqual(monitor.watcherCount('env', 'dep'), 0);
    await new Promise((r) => setTimeout(r, 1300));
    assert.strictEqual(calls.length, during, 'no refresh once nobody watches');
    monitor.dispose();
  });

  it('a deployment that cannot be opened is a value (error in words), and the last diagnosis is kept', async () => {
    let fail = false;
    const monitor = new DiagnosisMonitor({
      session: async () => {
        if (fail) throw new Error('Director unreachable');
        return {} as never;
      },
      observe: async () => observation(),
    });
    const ok = await monitor.refresh('env', 'dep');
    fail = true;
    const bad = await monitor.refresh('env', 'dep');
    assert.match(bad.error ?? '', /could not diagnose etcd of dep: Director unreachable/);
    assert.strictEqual(bad.diagnosis, ok.diagnosis, 'the previous diagnosis stays');
    monitor.dispose();
  });

  it('maps members to instances without judging them (roles only); orphans come last', () => {
    const o = observation();
    const list = [0, 1, 2]
      .map((k) => member(k))
      .concat({
        id: 'd4',
        name: 'foreign',
        peerURLs: ['https://master-9.etcd.cfcr.internal:2380'],
        clientURLs: [],
        isLearner: false,
      });
    o.endpoints = o.endpoints.map((e) => ({ ...e, members: { ok: true, value: list } }));
    o.endpoints[2] = endpoint(2, { down: 'connection refused' });
    const rows = membersOf(o);
    assert.deepStrictEqual(
      rows.map((r) => [r.instance?.id ?? r.name, r.role]),
      [
        [IDS[0], 'leader'],
        [IDS[1], 'follower'],
        [IDS[2], 'none'],
        ['foreign', 'none'],
      ],
    );
    assert.strictEqual(rows[2].error, 'connection refused');
    assert.strictEqual(rows[2].id, 'c3', 'its id from the cluster list although it did not answer');
    // a member that knows no leader (leader 0: quorum lost) is nobody's follower
    o.endpoints[1] = endpoint(1, { leader: '0' });
    assert.strictEqual(membersOf(o)[1].role, 'no leader');
  });
});

describe('diagnosis rendering helpers', () => {
  it('headline: the gravest cluster state in capitals, else the member count', () => {
    assert.strictEqual(headline(diagnose(observation())), '3/3 healthy');
    const o = observation();
    o.endpoints[0] = endpoint(0, { clusterId: 'dddddd', leader: 'a1' });
    const split = diagnose(o);
    assert.strictEqual(headline(split), 'SPLIT BRAIN');
    const f = split.findings[0];
    assert.deepStrictEqual(findingIcon(f), { id: 'error', color: 'errorForeground' });
    assert.strictEqual(stateText('split', f), 'SPLIT');
    assert.strictEqual(stateText('healthy', undefined), 'healthy');
    const md = findingsMarkdown(split.findings);
    assert.match(md[0], /^\$\(error\) \*\*SPLIT BRAIN: master\/0/);
    assert.match(md.join('\n'), /\*\*What to do:\*\* Replace the member of master\//);
    assert.strictEqual(findingsMarkdown(diagnose(observation()).findings).length, 0, 'info findings stay out');
  });
});
