// "Restore etcd from Snapshot…" inside a real VS Code extension host, driven through the Ui seam
// (ScriptedUi) with the real engine, SSH and etcd of the tier testbed: a snapshot taken (the product's
// snapshot save, into the boshEtcd.snapshots.directory setting's folder), keys written after it, then
// the command on the deployment's row: the snapshot picked from that folder, no option, the deployment
// name typed. Afterwards, read with etcdctl on the VMs (not through the extension): every master at
// the snapshot's revision, the keys written before it present, those written after it gone, one
// cluster id, three healthy members. It rebuilds the cluster (new cluster id): the runner loads it
// after the other suites, like the quorum-loss wizard's.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BoshEtcdApi } from '../../src/extension';
import { saveSnapshot, type SavedSnapshot } from '../../src/snapshots';
import type { RestoreWizardResult } from '../../src/wizard/restoreFlow';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import { masters, readTestbedState, type TestbedState } from '../testbed/harness/state';
import { activateApi, harness, walkDeployment } from './helpers';

suite('disaster: restore from a snapshot through the Ui seam', function () {
  this.timeout(900_000);
  let state: TestbedState;
  let api: BoshEtcdApi;
  let envName = '';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-etcd-ext-restore-'));
  const m = (i: number) => masters(state).sort((a, b) => a.index - b.index)[i];

  suiteSetup(async () => {
    state = readTestbedState();
    api = await activateApi(state);
    const { env } = await walkDeployment(api, state);
    envName = env.kind === 'environment' ? env.envName : '';
    await vscode.workspace
      .getConfiguration('boshEtcd')
      .update('snapshots.directory', dir, vscode.ConfigurationTarget.Global);
  });

  suiteTeardown(async () => {
    await vscode.workspace
      .getConfiguration('boshEtcd')
      .update('snapshots.directory', undefined, vscode.ConfigurationTarget.Global);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('snapshot, later writes, then the restore typed by name: back at the snapshot revision, later keys gone, one healthy cluster', async () => {
    for (let i = 0; i < 5; i++) await harness().etcdctlIn(m(0), `put /ext-restore/before-${i} b${i}`);
    const session = await api.model.deploymentSession(envName, state.deployment);
    const snap: SavedSnapshot = await saveSnapshot(session, { dir });
    for (let i = 0; i < 5; i++) await harness().etcdctlIn(m(1), `put /ext-restore/after-${i} a${i}`);

    const { dep } = await walkDeployment(api, state);
    const ui = new ScriptedUi({
      pick: { snapshot: { preselected: true }, options: () => [] },
      input: { confirmDeployment: state.deployment },
    });
    api.setUi(ui);
    const res = (await vscode.commands.executeCommand('boshEtcd.restoreSnapshot', dep)) as RestoreWizardResult;
    assert.strictEqual(res.outcome, 'recovered', `${res.result?.message} ${res.result?.advice ?? ''}`);
    assert.strictEqual(res.snapshot, snap.file);
    assert.ok(!ui.prompts.some((p) => p.id === 'deployment'), 'the row named the deployment');
    const typed = ui.prompts.find((p) => p.kind === 'input' && p.id === 'confirmDeployment');
    assert.match(
      typed?.title ?? '',
      new RegExp(`snapshot revision ${snap.metadata.revision} .*every later write is LOST`),
    );
    assert.strictEqual(typed?.answer, state.deployment);
    const term = api.disaster.terminals.at(-1)!;
    assert.match(term.text, /snapshot restore \S+ --name /);
    assert.strictEqual(term.done, 'recovered');

    // Checked with etcdctl on the VMs, independently of the product.
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const st = await harness().etcdctlIn(m(i), 'endpoint status -w json', { local: true });
      ids.add(/"cluster_id":(\d+)/.exec(st.stdout)![1]);
      assert.strictEqual(/"revision":(\d+)/.exec(st.stdout)?.[1], String(snap.metadata.revision), `master-${i}`);
      const h = await harness().etcdctlIn(m(i), 'endpoint health', { local: true });
      assert.match(h.stdout + h.stderr, /is healthy/, `master-${i}`);
      for (let k = 0; k < 5; k++) {
        const get = (key: string) =>
          harness()
            .etcdctlIn(m(i), `get ${key} --print-value-only`, { local: true })
            .then((r) => r.stdout.trim());
        assert.strictEqual(await get(`/ext-restore/before-${k}`), `b${k}`, `before-${k} on master-${i}`);
        assert.strictEqual(await get(`/ext-restore/after-${k}`), '', `after-${k} is gone on master-${i}`);
      }
    }
    assert.strictEqual(ids.size, 1, [...ids].join(', '));
    const list = (await harness().etcdctlIn(m(2), 'member list', { local: true })).stdout.trim().split('\n');
    assert.strictEqual(list.length, 3, list.join('\n'));
    await harness().etcdctlIn(m(2), 'del --prefix /ext-restore/');
  });
});
