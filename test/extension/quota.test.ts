// near-quota, then NOSPACE, shown in the BOSH tree and the status bar. The tier's testbed runs with a
// small quota (test/runners/extensionTier.ts: --quota-mb) so that both are reached in seconds. The
// runner loads this file last (test/extension/index.ts): after the fill, heal deletes, compacts and
// defragments, but an etcd restarted later (a stop, a wipe of another suite) came back with its DB
// at the pre-defragmentation size here, i.e. at the quota, and raised NOSPACE in the next suite.
import * as assert from 'assert';
import type { BoshEtcdApi } from '../../src/extension';
import { masters, readTestbedState, type TestbedState } from '../testbed/harness/state';
import { activateApi, until } from './helpers';
import { ERROR_BG, FaultView, WARNING_BG, YELLOW } from './faultView';

suite('diagnosis faults: near quota and NOSPACE in the tree and the status bar', function () {
  this.timeout(480_000);
  let state: TestbedState;
  let api: BoshEtcdApi;
  let faults: FaultView;

  suiteSetup(async () => {
    state = readTestbedState();
    api = await activateApi(state);
    faults = new FaultView(api, state);
    await until('a healthy cluster', async () => {
      const r = await faults.rendered(masters(state)[0].id);
      return r.etcd.description === '3/3 healthy' ? r : undefined;
    });
  });

  teardown(async () => {
    await faults.teardown();
  });

  test("near quota, then NOSPACE: the members' DB near the job's quota in yellow, then the NOSPACE alarm on red", async () => {
    const near = await faults.breakUntil('near-quota', 0, (x) => /of the quota/.test(x.member.tooltip ?? ''), {
      text: /^\$\(warning\) etcd 3\/3 \(\d+ warnings?\)$/,
      background: WARNING_BG,
    });
    assert.deepStrictEqual(near.member.icon, YELLOW);
    assert.match(near.member.tooltip ?? '', /--quota-backend-bytes/);
    assert.match(near.etcd.description ?? '', /^3\/3 healthy · \d+ warnings?$/);
    // More filler on top, until etcd refuses writes.
    const full = await faults.breakUntil('nospace', 0, (x) => x.etcd.description === 'NOSPACE', {
      text: /^\$\(error\) etcd: NOSPACE$/,
      background: ERROR_BG,
    });
    assert.ok(
      full.members.some((x) => /NOSPACE alarm/.test(x.tooltip ?? '') && x.icon?.id === 'error'),
      'a member row carries the NOSPACE alarm in red',
    );
    await faults.heal('nospace', 0);
  });
});
