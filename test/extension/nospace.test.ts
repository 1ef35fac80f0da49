// NOSPACE through VS Code: the tier's testbed runs with a 24 MiB quota (the job's quota-backend-bytes,
// test/runners/extensionTier.ts), the churn filler writes until etcd raises the NOSPACE alarm (old revisions fill
// the quota, the live data is small), then "Recover etcd from NOSPACE" runs from the deployment row
// in the real extension host with the real engine, SSH and etcd; the modal is answered through the
// Ui seam (ScriptedUi). Checked outside the extension afterwards: no alarm is left and etcd accepts
// a write. Runs after the other suites but before quota.test.ts (test/extension/index.ts): the churn
// leaves large database files behind.
import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BoshEtcdApi } from '../../src/extension';
import type { MaintenanceEvent, NospaceResult } from '../../src/maintenance';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import type { MaintenanceFlowResult } from '../../src/wizard/maintenanceFlow';
import { masters, readTestbedState, type TestbedState } from '../testbed/harness/state';
import { activateApi, harness, walkDeployment } from './helpers';

const fill = (): typeof import('../testbed/harness/fill') =>
  require(path.join(__dirname, '..', 'testbed', 'harness', 'fill.js'));

const QUOTA_MB = 24;

suite('maintenance: NOSPACE recovery through the command (quota 24 MiB)', function () {
  this.timeout(420_000);
  let state: TestbedState;
  let api: BoshEtcdApi;

  const alarms = async (): Promise<string> =>
    (await harness().etcdctlIn(masters(state)[0], 'alarm list', { allowFail: true })).stdout.trim();

  suiteSetup(async () => {
    state = readTestbedState();
    api = await activateApi(state);
    await vscode.workspace
      .getConfiguration('boshEtcd')
      .update('maintenance.defragPauseSeconds', 0, vscode.ConfigurationTarget.Global);
    const r = await fill().churnEtcd(state, { mb: QUOTA_MB * 8, untilNospace: true });
    assert.ok(r.nospace, 'etcd refused a write with "database space exceeded"');
    assert.match(await alarms(), /alarm:NOSPACE/);
  });

  suiteTeardown(async () => {
    await vscode.workspace
      .getConfiguration('boshEtcd')
      .update('maintenance.defragPauseSeconds', undefined, vscode.ConfigurationTarget.Global);
    // an alarm a failed run left would make the next suite fail, so clear it
    if ((await alarms()).includes('NOSPACE'))
      await harness().etcdctlIn(masters(state)[0], 'alarm disarm', { allowFail: true });
    await harness().etcdctlIn(masters(state)[0], `del --prefix ${fill().CHURN_PREFIX}`, { allowFail: true });
  });

  test('from the deployment row, confirmed in the modal: compacted, every member defragmented, alarm disarmed; a write is accepted after', async () => {
    const { dep } = await walkDeployment(api, state);
    const ui = new ScriptedUi({ pick: { options: () => [] }, confirm: { nospace: true } });
    api.setUi(ui);
    const res = (await vscode.commands.executeCommand('boshEtcd.recoverNospace', dep)) as MaintenanceFlowResult;
    const r = res.result as NospaceResult | undefined;
    assert.strictEqual(res.outcome, 'done', `${r?.message} ${r?.advice ?? ''}`);
    const confirm = ui.prompts.find((p) => p.kind === 'confirm' && p.id === 'nospace');
    assert.ok(confirm, 'the modal confirmation was shown');
    assert.match(confirm.detail ?? '', /compacted away for good/);
    assert.match(confirm.detail ?? '', /NOSPACE is disarmed/);
    assert.ok(r?.disarmed && r.writeTestOk, 'disarmed and the test write accepted');
    assert.strictEqual(r.quotaBackendBytes, QUOTA_MB * 1024 * 1024, "the quota read from the job's configuration");
    assert.deepStrictEqual(
      r.members.map((m) => m.outcome),
      ['defragmented', 'defragmented', 'defragmented'],
    );
    const done = res.events.filter(
      (e): e is Extract<MaintenanceEvent, { type: 'step-start' }> => e.type === 'step-start',
    );
    assert.deepStrictEqual(
      [...new Set(done.map((e) => e.step))],
      ['compact', 'defrag', 'quota', 'disarm', 'write-test'],
      'the guide order',
    );
    assert.match(api.maintenance.terminals.at(-1)!.text, /alarm disarm/);
    // Outside the extension: no alarm left, and a client write is accepted again.
    assert.strictEqual(await alarms(), '');
    const put = await harness().etcdctlIn(masters(state)[0], 'put /ext/after-nospace ok', { allowFail: true });
    assert.strictEqual(put.code, 0, put.stderr);
    assert.match(put.stdout, /OK/);
    await harness().etcdctlIn(masters(state)[0], 'del /ext/after-nospace');
  });
});
