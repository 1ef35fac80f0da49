// The quorum-loss wizard inside a real VS Code extension host, driven through the Ui seam
// (ScriptedUi), with the real engine, SSH and etcd of the tier testbed: keys written, then two of
// the three masters wiped (`break --mode quorum-loss`); the etcd members row offers the wizard; the
// survivor pick shows every master's evidence with the one that has data preselected, the modal
// names the consequence; the run, every command in a terminal, ends with one cluster id, every
// member healthy and the keys written before there (read with etcdctl on the VMs, not through the
// extension). A full run: the tier's other suites find a healthy cluster afterwards.
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { BoshEtcdApi } from '../../src/extension';
import { restoreQuorum } from '../../src/disaster/quorum';
import type { QuorumWizardResult } from '../../src/wizard/quorumFlow';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import { masters, readTestbedState, type TestbedState } from '../testbed/harness/state';
import { activateApi, harness, until, walkDeployment } from './helpers';

suite('disaster: the quorum-loss wizard restores quorum through the Ui seam', function () {
  this.timeout(900_000);
  let state: TestbedState;
  let api: BoshEtcdApi;
  let envName = '';
  let broken = false;
  const m = (i: number) => masters(state).sort((a, b) => a.index - b.index)[i];
  const label = (i: number) => `master/${m(i).id}`;

  suiteSetup(async () => {
    state = readTestbedState();
    api = await activateApi(state);
    const { env } = await walkDeployment(api, state);
    envName = env.kind === 'environment' ? env.envName : '';
  });

  suiteTeardown(async () => {
    if (!broken) return;
    // the test stopped before the cluster was back: bring it back with the engine, for the next suites
    const session = await api.model.deploymentSession(envName, state.deployment);
    await restoreQuorum(session, { survivor: label(2), yes: true, transcriptDir: api.container.transcriptDir() });
    for (const i of [0, 1]) harness().forgetFaults(label(i));
  });

  test('two of three masters wiped: the survivor with data preselected, confirmed, one cluster with every key written before', async () => {
    for (let i = 0; i < 10; i++) await harness().etcdctlIn(m(2), `put /ext-quorum/key-${i} value-${i}`);
    await harness().breakInstance(label(0), 'quorum-loss'); // wipes master-0 (bootstrap) and master-1
    broken = true;

    // The etcd members row offers the wizard once the diagnosis says quorum is lost.
    const { etcd, dep } = await until(
      'the etcd members row to show the quorum loss',
      async () => {
        api.model.refresh();
        const t = await walkDeployment(api, state);
        return api.model.getItem(t.etcd).contextValue === 'etcdCluster.quorumLost' ? t : undefined;
      },
      180_000,
    );
    // The deployment row says it too (seen collapsed) and offers the same wizard.
    const depRow = api.model.getItem(dep);
    assert.strictEqual(depRow.contextValue, 'deployment.quorumLost');
    assert.match(String(depRow.description), /etcd QUORUM LOST/);

    const ui = new ScriptedUi({
      pick: { options: () => [], survivor: { preselected: true } },
      confirm: { restoreQuorum: true },
    });
    api.setUi(ui);
    const res = (await vscode.commands.executeCommand('boshEtcd.restoreQuorum', etcd)) as QuorumWizardResult;
    const last = res.results.at(-1);
    assert.strictEqual(res.outcome, 'recovered', `${last?.message} ${last?.advice ?? ''}`);
    assert.ok(!ui.prompts.some((p) => p.id === 'deployment'), 'the row named the deployment');

    // The pick: every master with its evidence, the one with data preselected, the others not choosable.
    const pick = ui.prompts.find((p) => p.kind === 'pick' && p.id === 'survivor');
    assert.ok(pick?.items, 'the survivor pick was shown');
    assert.strictEqual(pick.items.length, 3, JSON.stringify(pick.items));
    const pre = pick.items.filter((i) => i.picked);
    assert.strictEqual(pre.length, 1, JSON.stringify(pick.items));
    assert.ok(pre[0].label.endsWith(`master/${m(2).index} · ${m(2).id.slice(0, 8)}`), pre[0].label);
    assert.match(pre[0].description ?? '', /#1 · raft index \d+ · revision \d+/);
    for (const i of [0, 1]) {
      const row = pick.items.find((x) => x.detail?.startsWith(label(i)));
      assert.match(row?.description ?? '', /cannot be the survivor: it has no etcd data/);
    }
    assert.strictEqual(res.survivor, label(2));
    const confirm = ui.prompts.find((p) => p.kind === 'confirm' && p.id === 'restoreQuorum');
    assert.match(confirm?.title ?? '', /No master is ahead of it: no acknowledged write is lost/);
    assert.match(confirm?.detail ?? '', /kube-apiserver is stopped on every master/);
    assert.match(res.reviews[0], /\| 1 \| master\/\S+ \*\*survivor\*\* \| present \|/);

    // Every remote command in the terminal, the forced new cluster among them.
    const term = api.disaster.terminals.at(-1)!;
    assert.match(term.text, /ETCD_FORCE_NEW_CLUSTER=true/);
    assert.match(term.text, /RECOVERED/);
    assert.strictEqual(term.done, 'recovered');

    // Checked with etcdctl on the VMs, independently of the product.
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const st = await harness().etcdctlIn(m(i), 'endpoint status -w json', { local: true });
      ids.add(/"cluster_id":(\d+)/.exec(st.stdout)![1]);
      const h = await harness().etcdctlIn(m(i), 'endpoint health', { local: true });
      assert.match(h.stdout + h.stderr, /is healthy/, `master-${i}`);
    }
    assert.strictEqual(ids.size, 1, [...ids].join(', '));
    const list = (await harness().etcdctlIn(m(2), 'member list', { local: true })).stdout.trim().split('\n');
    assert.strictEqual(list.length, 3, list.join('\n'));
    for (let i = 0; i < 10; i++) {
      const got = await harness().etcdctlIn(m(i % 3), `get /ext-quorum/key-${i} --print-value-only`, { local: true });
      assert.strictEqual(got.stdout.trim(), `value-${i}`, `key ${i} on master-${i % 3}`);
    }
    broken = false;
    for (const i of [0, 1]) harness().forgetFaults(label(i));
    await harness().etcdctlIn(m(2), 'del --prefix /ext-quorum/');
  });
});
