// Tree and health-panel cost beyond the API: the BOSH tree over an in-memory Director with 50
// deployments × 10 instances (3 masters, 7 workers each), and one health-panel refresh of a
// 3-member cluster. Baseline = the bare API calls the step needs (in-memory, so ~0); candidate =
// the same step through the tree model / panel controller, including rendering every item and,
// for the panel, the JSON round trip and validation the webview does. Goals (issue 5):
// deployments list < 300 ms, an instance expand < 200 ms.
import { BoshTreeModel } from '../src/views/treeModel';
import type { TreeNode } from '../src/views/nodes';
import { DiagnosisMonitor } from '../src/diagnosis/monitor';
import { HealthController } from '../src/webviews/health/healthController';
import { parseHostMessage } from '../src/webviews/health/protocolGuards';
import { FAKE_ENV, fakeDirector, fakeSession, makeWorld, fakeCluster } from '../test/unit/views-fakes';

const world = makeWorld(50, 10);
const director = fakeDirector(world, FAKE_ENV);

function freshModel(): BoshTreeModel {
  return new BoshTreeModel({
    environments: async () => [{ name: FAKE_ENV.name, config: FAKE_ENV }],
    openSession: (e) => fakeSession(world, e),
  });
}

async function renderAll(m: BoshTreeModel, nodes: TreeNode[]): Promise<void> {
  for (const n of nodes) m.getItem(n);
}

/** Deployments list: root → environment → 50 deployment rows rendered. */
async function deploymentsList(): Promise<void> {
  const m = freshModel();
  const envs = await m.getChildren();
  await renderAll(m, envs);
  const deps = await m.getChildren(envs[0]);
  await renderAll(m, deps);
  if (deps.length !== 50) throw new Error(`expected 50 deployments, got ${deps.length}`);
}

let expandModel: BoshTreeModel;
let expandDeps: TreeNode[];
let expandIdx = 0;

/** Expand one deployment: instance groups, all 10 instances and their processes rendered. */
async function expandDeployment(): Promise<void> {
  const dep = expandDeps[expandIdx++ % expandDeps.length];
  expandModel.refresh(dep);
  const groups = await expandModel.getChildren(dep);
  await renderAll(expandModel, groups);
  let count = 0;
  for (const g of groups) {
    if (g.kind !== 'instanceGroup') continue;
    const inst = await expandModel.getChildren(g);
    await renderAll(expandModel, inst);
    count += inst.length;
    for (const i of inst) await renderAll(expandModel, await expandModel.getChildren(i));
  }
  if (count !== 10) throw new Error(`expected 10 instances, got ${count}`);
}

const panelDep = world.deployments[0].name;
const panelSession = fakeSession(world, FAKE_ENV).deployment(panelDep);
const panelMonitor = new DiagnosisMonitor({
  session: async () => panelSession,
  observeOptions: { probeVms: false },
});
const panelController = new HealthController({
  envName: FAKE_ENV.name,
  deployment: panelDep,
  monitor: panelMonitor,
  // What the webview does with every message: structured clone (≈ JSON) and validation.
  post: (m) => {
    if (!parseHostMessage(JSON.parse(JSON.stringify(m)))) throw new Error('invalid message');
  },
  pollSeconds: 3600,
  canRecover: false,
});
const rawCluster = fakeCluster(world, panelDep);

export const benchmarks = [
  {
    name: 'tree: deployments list, 50 deployments (API only vs tree model + render)',
    iterations: 30,
    baseline: async () => {
      await director.deployments();
    },
    candidate: deploymentsList,
  },
  {
    name: 'tree: expand a deployment, 10 instances + processes (API only vs tree model + render)',
    iterations: 50,
    setup: async () => {
      expandModel = freshModel();
      const [env] = await expandModel.getChildren();
      expandDeps = await expandModel.getChildren(env);
    },
    baseline: async () => {
      await director.instances(world.deployments[expandIdx++ % 50].name);
    },
    candidate: expandDeployment,
  },
  {
    name: 'panel: one refresh of a 3-member cluster (etcd calls only vs diagnosis + protocol round trip)',
    iterations: 50,
    baseline: async () => {
      await Promise.all([
        rawCluster.status(),
        rawCluster.health(),
        rawCluster.memberList(),
        rawCluster.alarms(),
        rawCluster.clusterId(),
      ]);
    },
    candidate: async () => {
      await panelController.poll(1);
    },
  },
];
