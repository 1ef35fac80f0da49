// The status bar counts only deployments something shows: the tree (an expanded deployment of a
// listed environment) or an open health panel (a watcher). Collapsing, closing the panel, a
// deployment deleted on the Director or an environment removed from the settings makes the
// monitor forget it, and the status bar (summarize over the monitor's entries, re-rendered on
// onDidForget) stops counting it.
import * as assert from 'assert';
import { BoshTreeModel } from '../../src/views/treeModel';
import type { TreeNode } from '../../src/views/nodes';
import { summarize } from '../../src/views/statusSummary';
import { DiagnosisMonitor, type MonitorEntry } from '../../src/diagnosis';
import { FAKE_ENV, fakeSession, makeWorld, type FakeWorld } from './views-fakes';
import { endpoint, observation } from './observation-fixtures';

function setup(w: FakeWorld) {
  const envs = { list: [{ name: FAKE_ENV.name, config: FAKE_ENV }] };
  const m = new BoshTreeModel({
    environments: async () => envs.list,
    openSession: (env) => fakeSession(w, env),
    observeOptions: { probeVms: false },
    // A (recorded) diagnosis with a warning (unreachable from here): the status bar has something to say of each deployment.
    observe: async () => {
      const o = observation();
      o.endpoints[1] = endpoint(1, { down: 'connection refused' });
      return o;
    },
  });
  const forgotten: string[] = [];
  m.monitor.onDidForget((e: MonitorEntry) => forgotten.push(e.deployment));
  return { m, envs, forgotten };
}

/** Expands the environment and the given deployments as the view would; waits for their diagnoses. */
async function expand(m: BoshTreeModel, names: string[]): Promise<{ env: TreeNode; deps: TreeNode[] }> {
  const [env] = await m.getChildren();
  const deps = (await m.getChildren(env)).filter((d) => d.kind === 'deployment' && names.includes(d.deployment));
  for (const d of deps) {
    await m.getChildren(d);
    if (d.kind === 'deployment') await m.diagnosis(d.envName, d.deployment);
  }
  return { env, deps };
}

const counted = (m: BoshTreeModel) =>
  m.monitor
    .entries()
    .map((e) => e.deployment)
    .sort();

describe('views: the status bar forgets deployments nothing shows', () => {
  it('collapsing a deployment drops it, a panel keeps its deployment until it closes, collapsing the environment drops the rest', async () => {
    const w = makeWorld(2, 4);
    const [a, b] = w.deployments.map((d) => d.name);
    const { m, forgotten } = setup(w);
    const { env, deps } = await expand(m, [a, b]);
    assert.deepStrictEqual(counted(m), [a, b].sort());
    assert.match(summarize(m.monitor.entries())!.text, /etcd 3\/3 \(1 warning\) \(0\/2 ok\)$/);

    m.collapsed(deps.find((d) => d.kind === 'deployment' && d.deployment === a)!);
    assert.deepStrictEqual(counted(m), [b]);
    assert.deepStrictEqual(forgotten, [a], 'the status bar hears it (it re-renders)');
    assert.strictEqual(summarize(m.monitor.entries())!.text, '$(warning) etcd 3/3 (1 warning)');

    // A health panel on b: collapsing the environment keeps b until the panel closes.
    const panel = m.monitor.watch(FAKE_ENV.name, b, 60_000);
    m.collapsed(env);
    assert.strictEqual(m.isShown(FAKE_ENV.name, b), false);
    assert.deepStrictEqual(counted(m), [b], 'the panel still watches it');
    panel.dispose();
    assert.deepStrictEqual(counted(m), []);
    assert.strictEqual(summarize(m.monitor.entries()), undefined, 'the status bar hides');
    assert.deepStrictEqual(forgotten, [a, b]);
    await m.dispose();
  });

  it('a deployment deleted on the Director and an environment removed from the settings are forgotten at the next refresh', async () => {
    const w = makeWorld(2, 4);
    const [a, b] = w.deployments.map((d) => d.name);
    const { m, envs } = setup(w);
    await expand(m, [a, b]);
    assert.deepStrictEqual(counted(m), [a, b].sort());

    w.deployments = w.deployments.filter((d) => d.name !== b);
    m.refresh();
    await expand(m, [a]);
    assert.deepStrictEqual(counted(m), [a]);

    envs.list = [];
    m.refresh();
    await m.getChildren();
    assert.deepStrictEqual(counted(m), []);
    await m.dispose();
  });

  it('the monitor alone: a closed watch forgets an entry nothing retains, keeps one that is retained', async () => {
    let keep = true;
    const mon = new DiagnosisMonitor({
      session: async () => ({}) as never,
      observe: async () => observation(),
      retained: () => keep,
    });
    const w1 = mon.watch('e', 'd', 60_000);
    await mon.refresh('e', 'd');
    w1.dispose();
    assert.ok(mon.get('e', 'd'), 'retained: kept');
    keep = false;
    assert.deepStrictEqual(
      mon.sweep().map((e) => e.deployment),
      ['d'],
    );
    assert.strictEqual(mon.get('e', 'd'), undefined);
    mon.dispose();
  });
});
