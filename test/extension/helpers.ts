// Shared by the extension-host tests (not a test file itself: the runner loads *.test.js only).
import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BoshEtcdApi } from '../../src/extension';
import type { TreeNode } from '../../src/views/nodes';
import { sleep } from '../../src/util/async';
import type { TestbedState } from '../testbed/harness/state';

export const EXTENSION_ID = 'bosh-etcd.bosh-etcd';

/** The testbed harness, compiled next to these tests (break/heal from inside the extension host). */
export const harness = (): typeof import('../testbed/harness/index') =>
  require(path.join(__dirname, '..', 'testbed', 'harness', 'index.js'));

/**
 * Activates the extension and returns its test hooks (the runners set BOSH_ETCD_TEST_HOOKS for the
 * extension host), with the jump host's known_hosts of the testbed and no automatic tree refresh.
 */
export async function activateApi(state: TestbedState): Promise<BoshEtcdApi> {
  const ext = vscode.extensions.getExtension<BoshEtcdApi | undefined>(EXTENSION_ID);
  assert.ok(ext, 'extension installed');
  const api = await ext.activate();
  assert.ok(api, 'activate() returned the test hooks (is BOSH_ETCD_TEST_HOOKS=1 set by the runner?)');
  const cfg = vscode.workspace.getConfiguration('boshEtcd');
  await cfg.update('ssh.knownHostsPath', state.staticSsh.knownHostsPath, vscode.ConfigurationTarget.Global);
  await cfg.update('refreshIntervalSeconds', 0, vscode.ConfigurationTarget.Global);
  return api;
}

export interface DeploymentTree {
  env: TreeNode;
  dep: TreeNode;
  etcd: TreeNode;
  master: TreeNode;
  instances: TreeNode[];
  members: TreeNode[];
}

/** Reads the testbed's deployment through the tree model, as the view would: env → deployment → etcd members + master group. */
export async function walkDeployment(api: BoshEtcdApi, state: TestbedState): Promise<DeploymentTree> {
  const m = api.model;
  const envs = await m.getChildren();
  const env = envs.find((e) => e.kind === 'environment' && e.env?.url === state.director.url);
  assert.ok(env, `environment for ${state.director.url} among ${envs.map((e) => m.getItem(e).label).join(', ')}`);
  const deps = await m.getChildren(env);
  const dep = deps.find((d) => d.kind === 'deployment' && d.deployment === state.deployment);
  assert.ok(
    dep,
    `deployment ${state.deployment} among ${deps.map((d) => `${m.getItem(d).label} [${m.getItem(d).tooltip ?? ''}]`).join(' | ')}`,
  );
  const kids = await m.getChildren(dep);
  const etcd = kids.find((k) => k.kind === 'etcdMembers');
  const master = kids.find((k) => k.kind === 'instanceGroup' && k.group === 'master');
  assert.ok(etcd && master, `etcd members and master group among ${kids.map((k) => m.getItem(k).label).join(' | ')}`);
  return { env, dep, etcd, master, instances: await m.getChildren(master), members: await m.getChildren(etcd) };
}

/** Polls f every second until it returns a value (not undefined), or fails naming what it waited for. */
export async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(1000);
  }
}
