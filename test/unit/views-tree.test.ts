// The BOSH tree model in plain Node against an in-memory Director and etcd cluster.
import * as assert from 'assert';
import { BoshTreeModel } from '../../src/views/treeModel';
import type { TreeNode } from '../../src/views/nodes';
import { FAKE_ENV, fakeSession, makeWorld, type FakeWorld } from './views-fakes';
import { BoshError } from '../../src/bosh/types';

function model(w: FakeWorld, opts: { failDirector?: Error } = {}): BoshTreeModel {
  return new BoshTreeModel({
    environments: async () => [{ name: FAKE_ENV.name, config: FAKE_ENV }],
    openSession: (env) => {
      const s = fakeSession(w, env);
      if (opts.failDirector) s.director.deployments = () => Promise.reject(opts.failDirector);
      return s;
    },
  });
}

async function find(m: BoshTreeModel, parent: TreeNode | undefined, pred: (n: TreeNode) => boolean): Promise<TreeNode> {
  const kids = await m.getChildren(parent);
  const n = kids.find(pred);
  assert.ok(n, `child not found among ${kids.map((k) => m.getItem(k).label).join(', ')}`);
  return n;
}

describe('views: BOSH tree model', () => {
  it('shows environment → deployments → etcd members + instance groups → instances → processes', async () => {
    const w = makeWorld(2, 5);
    const m = model(w);
    const [env] = await m.getChildren();
    assert.strictEqual(env.kind, 'environment');
    assert.strictEqual(m.getItem(env).label, FAKE_ENV.name);
    const deps = await m.getChildren(env);
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
    const item = m.getItem(instances[0]);
    assert.match(item.label, /^master\/[0-9a-f-]{36}$/);
    assert.match(item.description ?? '', /pks-az1 · 10\.0\.1\.10/);
    assert.deepStrictEqual(item.icon, { id: 'pass', color: 'testing.iconPassed' });
    assert.strictEqual(item.contextValue, 'instance.etcd');
    assert.match(item.tooltip ?? '', /VM CID: vm-/);
    assert.match(item.tooltip ?? '', /Bootstrap: yes/);
    const procs = await m.getChildren(instances[0]);
    assert.ok(procs.map((p) => m.getItem(p).label).includes('etcd'));
    const members = await m.getChildren(depKids[0]);
    assert.strictEqual(members.length, 3);
    const labels = members.map((x) => m.getItem(x));
    assert.strictEqual(labels.filter((l) => /^leader/.test(l.description ?? '')).length, 1, 'one leader');
    assert.ok(labels.every((l) => l.contextValue === 'etcd.member'));
    assert.match(m.getItem(depKids[0]).description ?? '', /3\/3 healthy/);
  });

  it('marks a failing instance red and its unreachable member, and flags missing / foreign members', async () => {
    const w = makeWorld(1, 4);
    const dep = w.deployments[0].name;
    const inst = w.instances.get(dep)!;
    inst[1] = {
      ...inst[1],
      processState: 'failing',
      processes: inst[1].processes.map((p) => (p.name === 'etcd' ? { ...p, state: 'failing' } : p)),
    };
    w.down.add('https://master-1.etcd.cfcr.internal:2379');
    // master-2 has no member; an extra member with an unknown name exists.
    const mem = w.members.get(dep)!;
    mem[2] = { ...mem[2], name: 'not-a-bosh-instance' };
    const m = model(w);
    const [env] = await m.getChildren();
    const [depNode] = await m.getChildren(env);
    const etcdNode = await find(m, depNode, (n) => n.kind === 'etcdMembers');
    const masterGroup = await find(m, depNode, (n) => n.kind === 'instanceGroup' && n.group === 'master');
    const failing = (await m.getChildren(masterGroup))[1];
    const fi = m.getItem(failing);
    assert.deepStrictEqual(fi.icon, { id: 'error', color: 'errorForeground' });
    assert.match(fi.description ?? '', /^FAILING · /);
    const etcdProc = (await m.getChildren(failing)).find((p) => m.getItem(p).label === 'etcd')!;
    assert.match(m.getItem(etcdProc).description ?? '', /FAILING/);
    const members = await m.getChildren(etcdNode);
    const items = members.map((x) => m.getItem(x));
    const down = items.find((i) => i.label === `master/${inst[1].id}`)!;
    assert.match(down.description ?? '', /^UNREACHABLE/);
    assert.deepStrictEqual(down.icon, { id: 'error', color: 'errorForeground' });
    const missing = items.find((i) => i.label === `master/${inst[2].id}`)!;
    assert.match(missing.description ?? '', /NO MEMBER/);
    assert.strictEqual(missing.contextValue, 'etcd.instanceWithoutMember');
    const foreign = items.find((i) => i.label === 'not-a-bosh-instance')!;
    assert.match(foreign.description ?? '', /no BOSH instance/);
    assert.match(m.getItem(etcdNode).description ?? '', /1\/4 healthy/);
  });

  it('shows an unstarted (nameless) member and a learner', async () => {
    const w = makeWorld(1, 3);
    const dep = w.deployments[0].name;
    const mem = w.members.get(dep)!;
    mem[0] = { ...mem[0], isLearner: true };
    mem.push({
      id: 'a22e27588e90858f',
      name: '',
      peerURLs: ['https://master-3.etcd.cfcr.internal:2380'],
      clientURLs: [],
      isLearner: false,
    });
    const m = model(w);
    const views = await m.etcdMembers(FAKE_ENV.name, dep);
    assert.deepStrictEqual(views.map((v) => v.state).sort(), ['follower', 'leader', 'learner', 'unstarted']);
    const unstarted = views.find((v) => v.state === 'unstarted')!;
    assert.strictEqual(unstarted.unhealthy, true);
    assert.strictEqual(unstarted.id, 'a22e27588e90858f');
  });

  it('caches answers and refetches only what a refresh drops', async () => {
    const w = makeWorld(3, 4);
    const m = model(w);
    const [env] = await m.getChildren();
    const deps = await m.getChildren(env);
    await m.getChildren(deps[0]);
    await m.getChildren(deps[1]);
    await m.getChildren(env);
    await m.getChildren(deps[0]);
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
