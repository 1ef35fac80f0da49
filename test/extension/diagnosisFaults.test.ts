// The fault modes of the testbed that views.test.ts does not break, each shown where the operator
// looks: the BOSH tree (the etcd section, the member and instance rows) and the status bar. One
// test per mode, each broken from inside the extension host and healed before the next; a tree
// refresh diagnoses at once, so nothing waits for a poll. near-quota and NOSPACE: quota.test.ts.
import * as assert from 'assert';
import type { BoshEtcdApi } from '../../src/extension';
import { masters, readTestbedState, type TestbedState } from '../testbed/harness/state';
import { activateApi, harness, until } from './helpers';
import { ERROR_BG, FaultView, RED, type Rendered } from './faultView';

suite('diagnosis faults: the tree and the status bar show every fault mode', function () {
  this.timeout(480_000);
  let state: TestbedState;
  let api: BoshEtcdApi;
  let faults: FaultView;
  const m = (i: number) => masters(state)[i];

  suiteSetup(async () => {
    state = readTestbedState();
    api = await activateApi(state);
    faults = new FaultView(api, state);
    const t = await until('a healthy cluster', async () => {
      const r = await faults.rendered(m(0).id);
      return r.etcd.description === '3/3 healthy' ? r : undefined;
    });
    assert.strictEqual(t.members.length, 3);
  });

  teardown(async () => {
    await faults.teardown();
  });

  test('corrupt: the member DOWN and red with "its data is corrupt", replace it; "etcd 2/3" on red', async () => {
    const t = await faults.fault('corrupt', 2, (x) => /its data is corrupt/.test(x.member.tooltip ?? ''), {
      text: /^\$\(error\) etcd 2\/3$/,
      background: ERROR_BG,
    });
    assert.deepStrictEqual(t.member.icon, RED);
    assert.match(t.member.description ?? '', / · DOWN$/);
    assert.match(t.member.tooltip ?? '', /Replace the member of master\//);
    assert.deepStrictEqual(t.instance.icon, RED);
    assert.strictEqual(t.etcd.description, '2/3 healthy');
  });

  test('slow endpoint: DOWN and red ("runs but does not answer"), restart it; the others stay healthy', async () => {
    const t = await faults.fault('slow-endpoint', 1, (x) => /runs but does not answer/.test(x.member.tooltip ?? ''), {
      text: /^\$\(error\) etcd 2\/3$/,
      background: ERROR_BG,
    });
    assert.deepStrictEqual(t.member.icon, RED);
    assert.match(t.member.description ?? '', / · DOWN$/);
    assert.match(t.member.tooltip ?? '', /Restart etcd on master\//);
    // A black-hole endpoint does not stall the diagnosis of the others: they are leader / followers.
    const others = t.members.filter((x) => x !== t.member);
    assert.strictEqual(others.length, 2);
    for (const o of others) assert.match(o.description ?? '', / · (leader|follower)$/, o.label);
  });

  test('vm-down: the member DOWN ("the VM is down"), the action is bosh cloud-check; "etcd 2/3" on red', async () => {
    const t = await faults.fault('vm-down', 2, (x) => /the VM is down/.test(x.member.tooltip ?? ''), {
      text: /^\$\(error\) etcd 2\/3$/,
      background: ERROR_BG,
    });
    assert.deepStrictEqual(t.member.icon, RED);
    assert.match(t.member.description ?? '', / · DOWN$/);
    assert.match(t.member.tooltip ?? '', /cloud-check/);
    assert.deepStrictEqual(t.instance.icon, RED);
  });

  test('ssh-drop: the dropped SSH connections are re-opened, the VM is probed again and all stays green', async () => {
    const id = m(1).id;
    const before = await faults.rendered(id);
    assert.strictEqual(before.etcd.description, '3/3 healthy');
    await harness().breakInstance(`master/${id}`, 'ssh-drop');
    const after = await faults.rendered(id);
    const entry = api.model.cachedDiagnosis(after.envName, state.deployment);
    // A fresh observation after the drop (the tree refresh probes again), whose probe of the VM reached it.
    assert.ok(entry?.observation && Date.parse(entry.observation.at) > 0);
    assert.strictEqual(entry.observation.probes[id]?.reachable, true, entry.observation.probes[id]?.error);
    assert.ok(!entry.observation.unchecked.some((u) => u.includes(id)), entry.observation.unchecked.join('; '));
    assert.strictEqual(after.etcd.description, '3/3 healthy');
    assert.match(after.member.description ?? '', / · (leader|follower)$/);
    assert.match(api.statusBar.current?.text ?? '', /etcd ok/);
    assert.strictEqual(api.statusBar.backgroundColorId, undefined);
  });

  test('two of three stopped (quorum lost, data kept): QUORUM LOST first, both DOWN, "etcd: QUORUM LOST" on red; no restore offered', async () => {
    const first = `master/${m(1).id}`;
    faults.broken = first; // teardown heals every fault if this test fails
    await harness().breakInstance(first, 'stop');
    const down = (t: Rendered) => t.members.filter((x) => / · DOWN$/.test(x.description ?? ''));
    const t = await faults.breakUntil('stop', 2, (x) => x.etcd.description === 'QUORUM LOST' && down(x).length === 2, {
      text: /^\$\(error\) etcd: QUORUM LOST$/,
      background: ERROR_BG,
    });
    assert.match(t.findings[0]?.label ?? '', /^QUORUM LOST: 1 of 3 voting members/);
    assert.deepStrictEqual(t.findings[0].icon, RED);
    // their data is kept: bring them back, not the quorum-restore flow (nor a member recovery)
    assert.match(t.findings[0].tooltip ?? '', /Bring back the down members whose data is kept/);
    assert.match(t.findings[0].contextValue ?? '', /^finding\.quorum-lost\.action-none$/);
    for (const x of down(t)) {
      assert.match(x.tooltip ?? '', /etcd is stopped/);
      assert.match(x.tooltip ?? '', /monit start etcd/);
      assert.deepStrictEqual(x.icon, RED);
    }
    await harness().heal(first);
    await faults.heal('stop', 2);
  });
});
