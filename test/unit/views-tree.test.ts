// The BOSH tree model in plain Node against an in-memory Director and etcd cluster, and against
// recorded observations: every etcd row is drawn from the one diagnosis.
import * as assert from 'assert';
import { BoshTreeModel } from '../../src/views/treeModel';
import type { ItemSpec, TreeNode } from '../../src/views/nodes';
import { FAKE_ENV, fakeSession, makeWorld, type FakeWorld } from './views-fakes';
import { BoshError } from '../../src/bosh/types';
import type { ClusterObservation } from '../../src/diagnosis';
import { IDS, MONIT_OK, endpoint, instance, observation, probe } from './observation-fixtures';

function model(w: FakeWorld, opts: { failDirector?: Error; observe?: () => ClusterObservation } = {}): BoshTreeModel {
  return new BoshTreeModel({
    environments: async () => [{ name: FAKE_ENV.name, config: FAKE_ENV }],
    openSession: (env) => {
      const s = fakeSession(w, env);
      if (opts.failDirector) s.director.deployments = () => Promise.reject(opts.failDirector);
      return s;
    },
    observeOptions: { probeVms: false },
    observe: opts.observe ? async () => opts.observe!() : undefined,
  });
}

async function find(m: BoshTreeModel, parent: TreeNode | undefined, pred: (n: TreeNode) => boolean): Promise<TreeNode> {
  const kids = await m.getChildren(parent);
  const n = kids.find(pred);
  assert.ok(n, `child not found among ${kids.map((k) => m.getItem(k).label).join(', ')}`);
  return n;
}

/** env → first deployment → its etcd section and master group, with the diagnosis loaded. */
async function open(m: BoshTreeModel) {
  const [env] = await m.getChildren();
  const [dep] = await m.getChildren(env);
  const etcd = await find(m, dep, (n) => n.kind === 'etcdMembers');
  const master = await find(m, dep, (n) => n.kind === 'instanceGroup' && n.group === 'master');
  const etcdKids = await m.getChildren(etcd);
  const items = (ns: TreeNode[]) => ns.map((n) => m.getItem(n));
  return {
    env,
    dep,
    etcd,
    etcdItem: m.getItem(etcd),
    etcdKids,
    findings: items(etcdKids.filter((k) => k.kind === 'finding')),
    members: items(etcdKids.filter((k) => k.kind === 'member')),
    instances: items(await m.getChildren(master)),
  };
}

const byLabel = (xs: ItemSpec[], label: string) => {
  const x = xs.find((i) => i.label === label);
  assert.ok(x, `${label} among ${xs.map((i) => i.label).join(', ')}`);
  return x;
};

describe('views: BOSH tree model', () => {
  it('shows environment (the Director name) → deployments → etcd members + instance groups → instances → processes', async () => {
    const w = makeWorld(2, 5);
    const m = model(w);
    const [env] = await m.getChildren();
    assert.strictEqual(env.kind, 'environment');
    const deps = await m.getChildren(env);
    // The Director's /info came in with the deployments: its name labels the row, its URL beside it.
    await m.directorInfo(FAKE_ENV.name);
    assert.strictEqual(m.getItem(env).label, 'fake-bosh');
    assert.strictEqual(m.getItem(env).description, '10.0.0.6:25555');
    assert.deepStrictEqual(
      deps.map((d) => m.getItem(d).label),
      w.deployments.map((d) => d.name).sort(),
    );
    const depKids = await m.getChildren(deps[0]);
    assert.deepStrictEqual(
      depKids.map((k) => m.getItem(k).label),
      ['etcd members', 'master', 'worker'],
    );
    const master = depKids[1];
    const instances = await m.getChildren(master);
    assert.strictEqual(instances.length, 3);
    await m.diagnosis(FAKE_ENV.name, deps[0].kind === 'deployment' ? deps[0].deployment : '');
    const item = m.getItem(instances[0]);
    const inst0 = w.instances.get(deps[0].kind === 'deployment' ? deps[0].deployment : '')![0];
    // Narrow-sidebar labels: master/0, short UUID and state; the full name in the tooltip.
    assert.strictEqual(item.label, 'master/0');
    assert.strictEqual(item.description, `${inst0.id.slice(0, 8)} · running`);
    assert.ok((item.tooltip ?? '').includes(`**master/${inst0.id}**`));
    assert.deepStrictEqual(item.icon, { id: 'pass', color: 'testing.iconPassed' });
    assert.strictEqual(item.contextValue, 'instance.etcd');
    assert.match(item.tooltip ?? '', /VM CID: vm-/);
    assert.match(item.tooltip ?? '', /Bootstrap: yes/);
    const procs = await m.getChildren(instances[0]);
    assert.ok(procs.map((p) => m.getItem(p).label).includes('etcd'));
    const members = await m.getChildren(depKids[0]);
    assert.strictEqual(members.length, 3);
    const labels = members.map((x) => m.getItem(x));
    assert.deepStrictEqual(
      labels.map((l) => l.label),
      ['master/0', 'master/1', 'master/2'],
    );
    assert.strictEqual(labels.filter((l) => / · leader$/.test(l.description ?? '')).length, 1, 'one leader');
    assert.ok(labels.every((l) => l.contextValue === 'etcd.member'));
    assert.strictEqual(m.getItem(depKids[0]).description, '3/3 healthy');
  });

  it('draws a down member and its instance from the finding: red, DOWN, title, evidence and action in the tooltip', async () => {
    const w = makeWorld(1, 4);
    const dep = w.deployments[0].name;
    const inst = w.instances.get(dep)!;
    inst[1] = {
      ...inst[1],
      processState: 'failing',
      processes: inst[1].processes.map((p) => (p.name === 'etcd' ? { ...p, state: 'failing' } : p)),
    };
    w.down.add('https://master-1.etcd.cfcr.internal:2379');
    const m = model(w);
    const t = await open(m);
    const down = byLabel(t.members, 'master/1');
    assert.match(down.description ?? '', / · DOWN$/);
    assert.deepStrictEqual(down.icon, { id: 'error', color: 'errorForeground' });
    assert.match(down.tooltip ?? '', /etcd on master\/[0-9a-f-]+ failing/);
    assert.match(down.tooltip ?? '', /\*\*What to do:\*\*/);
    const fi = byLabel(t.instances, 'master/1');
    assert.deepStrictEqual(fi.icon, { id: 'error', color: 'errorForeground' });
    assert.strictEqual(fi.description, `${inst[1].id.slice(0, 8)} · DOWN`);
    assert.strictEqual(t.etcdItem.description, '2/3 healthy');
    assert.strictEqual(t.etcdItem.icon?.color, 'errorForeground');
    // Without SSH nothing says why: the wizard is not the stated fix, the evidence says what to read.
    assert.match(down.tooltip ?? '', /etcd\.stderr\.log/);
  });

  it('an endpoint that only fails to answer from here is a warning (unknown), never red', async () => {
    const w = makeWorld(1, 3);
    w.down.add('https://master-2.etcd.cfcr.internal:2379');
    const t = await open(model(w));
    const x = byLabel(t.members, 'master/2');
    assert.deepStrictEqual(x.icon, { id: 'warning', color: 'list.warningForeground' });
    assert.match(x.description ?? '', / · UNKNOWN$/);
    assert.deepStrictEqual(byLabel(t.instances, 'master/2').icon, { id: 'warning', color: 'list.warningForeground' });
  });

  it('split brain (the bootstrap wipe): a SPLIT BRAIN row at the top of the etcd section, the member red and SPLIT', async () => {
    const w = makeWorld(1, 3);
    const o = observation();
    o.endpoints[0] = endpoint(0, { clusterId: 'dddddd', leader: 'a1' });
    const t = await open(model(w, { observe: () => o }));
    assert.strictEqual(t.etcdKids[0].kind, 'finding', 'the finding is the first row');
    assert.strictEqual(t.findings.length, 1);
    assert.match(t.findings[0].label, /^SPLIT BRAIN: master\/0/);
    assert.deepStrictEqual(t.findings[0].icon, { id: 'error', color: 'errorForeground' });
    assert.match(t.findings[0].tooltip ?? '', /bootstrap instance/);
    assert.strictEqual(t.etcdItem.description, 'SPLIT BRAIN');
    const split = byLabel(t.members, 'master/0');
    assert.strictEqual(split.description, `${IDS[0].slice(0, 8)} · SPLIT`);
    assert.deepStrictEqual(split.icon, { id: 'error', color: 'errorForeground' });
    assert.match(split.tooltip ?? '', new RegExp(`\\*\\*master/${IDS[0]}\\*\\*`));
  });

  it('a detached master (no VM): NO VM, red, the bosh command in the tooltip', async () => {
    const w = makeWorld(1, 3);
    const o = observation();
    o.endpoints[2] = endpoint(2, { down: 'connection refused' });
    o.masters[2] = o.instances[2] = instance(2, {
      vmState: 'detached',
      state: 'detached',
      processState: null,
      ips: [],
      vmCid: null,
      processes: [],
    });
    o.probes[IDS[2]] = { ...o.probes[IDS[2]], reachable: false, error: 'no VM' };
    const t = await open(model(w, { observe: () => o }));
    const x = byLabel(t.members, 'master/2');
    assert.match(x.description ?? '', / · NO VM$/);
    assert.ok((x.tooltip ?? '').includes(`bosh -d dep start master/${IDS[2]}`));
  });

  it("caches answers and refetches only what a refresh drops (the diagnosis reuses the tree's instance list)", async () => {
    const w = makeWorld(3, 4);
    const m = model(w);
    const [env] = await m.getChildren();
    const deps = await m.getChildren(env);
    await m.getChildren(deps[0]);
    await m.getChildren(deps[1]);
    await m.getChildren(env);
    await m.getChildren(deps[0]);
    for (const d of deps.slice(0, 2)) if (d.kind === 'deployment') await m.diagnosis(FAKE_ENV.name, d.deployment);
    assert.deepStrictEqual(w.calls.filter((c) => c === 'deployments').length, 1);
    assert.strictEqual(w.calls.filter((c) => c.startsWith('instances')).length, 2);
    const fired: (TreeNode | undefined)[] = [];
    m.onDidChange((n) => fired.push(n));
    m.refresh(deps[0]);
    assert.strictEqual(fired[0], deps[0], 'refresh fires for the same node object');
    await m.getChildren(deps[0]);
    await m.getChildren(deps[1]);
    assert.strictEqual(
      w.calls.filter((c) => c.startsWith('instances')).length,
      3,
      'only the refreshed deployment was re-read',
    );
    m.refresh();
    await m.getChildren(env);
    assert.strictEqual(w.calls.filter((c) => c === 'deployments').length, 2);
  });

  it('quorum lost: the deployment row says so and offers the restore; it is redrawn only when that changes', async () => {
    const w = makeWorld(1, 3);
    let o = observation();
    const m = model(w, { observe: () => o });
    const t = await open(m);
    assert.strictEqual(m.getItem(t.dep).contextValue, 'deployment');
    assert.doesNotMatch(String(m.getItem(t.dep).description), /etcd/);
    const fired: string[] = [];
    m.onDidChange((n) => fired.push(n?.key ?? 'all'));
    // two of three wiped (the quorum-loss fault): the survivor is master/0
    o = observation();
    const wiped = { monit: MONIT_OK.replace('running', 'not monitored'), pid: '', health: false, member: false };
    for (const i of [1, 2]) {
      o.endpoints[i] = endpoint(i, { down: 'UNAVAILABLE' });
      o.probes[IDS[i]] = probe(i, wiped);
    }
    o.endpoints[0] = endpoint(0, { leader: '0' });
    await m.monitor.refresh(FAKE_ENV.name, w.deployments[0].name);
    assert.deepStrictEqual(fired, [t.dep.key], 'the deployment row (and so everything under it) is redrawn');
    const row = m.getItem(t.dep);
    assert.strictEqual(row.contextValue, 'deployment.quorumLost', 'package.json offers Restore etcd Quorum… on it');
    assert.match(String(row.description), /etcd QUORUM LOST$/);
    assert.deepStrictEqual(row.icon, { id: 'package', color: 'list.errorForeground' });
    assert.match(String(row.tooltip), /etcd: \*\*QUORUM LOST\*\*/);
    // the same state again: only the etcd rows are redrawn, not the whole deployment
    fired.length = 0;
    await m.monitor.refresh(FAKE_ENV.name, w.deployments[0].name);
    assert.ok(fired.length > 0 && !fired.includes(t.dep.key), fired.join(', '));
    // healed: the row is redrawn once more, plain again
    o = observation();
    fired.length = 0;
    await m.monitor.refresh(FAKE_ENV.name, w.deployments[0].name);
    assert.deepStrictEqual(fired, [t.dep.key]);
    assert.strictEqual(m.getItem(t.dep).contextValue, 'deployment');
  });

  it('a new diagnosis (e.g. a panel poll) re-renders the etcd section and the master group', async () => {
    const w = makeWorld(1, 3);
    const m = model(w);
    const t = await open(m);
    const fired: string[] = [];
    m.onDidChange((n) => fired.push(n?.key ?? 'all'));
    await m.monitor.refresh(FAKE_ENV.name, w.deployments[0].name);
    assert.ok(fired.includes(t.etcd.key), `etcd node fired: ${fired.join(', ')}`);
    assert.ok(
      fired.some((k) => k.endsWith('/group:master')),
      `master group fired: ${fired.join(', ')}`,
    );
  });

  it('turns a Director failure into a message node that says what to do, and retries after refresh', async () => {
    const w = makeWorld(1, 3);
    const m = model(w, { failDirector: new BoshError('unreachable', 'connect ECONNREFUSED 10.0.0.6:25555') });
    const [env] = await m.getChildren();
    const [msg] = await m.getChildren(env);
    assert.strictEqual(msg.kind, 'message');
    const it0 = m.getItem(msg);
    assert.match(it0.label, /Director unreachable.*ECONNREFUSED.*Check BOSH_ENVIRONMENT and the jump host/);
    assert.match(it0.tooltip ?? '', /ECONNREFUSED/);
    assert.deepStrictEqual(it0.icon, { id: 'error', color: 'errorForeground' });
    // The Director comes back: a refresh reads again (failures are not cached).
    (await m.envSession(FAKE_ENV.name)).director.deployments = async () => w.deployments;
    m.refresh();
    const kids = await m.getChildren((await m.getChildren())[0]);
    assert.deepStrictEqual(
      kids.map((k) => k.kind),
      ['deployment'],
    );
  });

  it('shows an environment with a configuration error as a message, not an exception', async () => {
    const m = new BoshTreeModel({
      environments: async () => [{ name: 'broken', error: 'BOSH_CA_CERT points to a missing file /nope' }],
      openSession: () => {
        throw new Error('must not open');
      },
    });
    const [env] = await m.getChildren();
    const [msg] = await m.getChildren(env);
    assert.strictEqual(msg.kind, 'message');
    assert.match(m.getItem(msg).label, /BOSH_CA_CERT points to a missing file/);
  });
});
