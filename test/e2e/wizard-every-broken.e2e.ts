// e2e: two wiped masters of five. The recovery wizard offers "Recover every broken member (2)" first
// and preselected, naming both; the review page shows the order the engine planned (dead
// registrations first, then back one at a time) and the modal names both members. The operator
// cancels there: nothing changes (both members stay down, five registrations).
// The run itself is proven by test/testbed/recovery-multi.test.ts ("two of five broken (the bootstrap
// among them) … one recovers both", the engine with all-broken on real etcd) and the wizard's hand-off
// of 'all-broken' to the engine by test/unit/views-wizard.test.ts ("several broken: …").
// This file brings up a 5-master testbed of its own (the tier's is 3 masters) on the tier's net with
// its second octet + 1, and takes it down in after(): the other files keep their 3-master testbed.
// Screenshots: artifacts/screenshots/wizard-every-broken-pick.png, wizard-every-broken-review.png.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { masters } from '../testbed/harness/state';
import { testbedUp, type TestbedHandle } from '../runners/testbed';
import {
  e2eSettings,
  failureScreenshot,
  openWorkbench,
  pressInQuickInput,
  runCommand,
  screenshot,
  showBrokenDeployment,
  type Workbench,
} from './lib';

/** This file's 5-master testbed: the tier's net with the second octet + 1 (a third octet no other tier uses). */
function fiveMasterNet(): string {
  const tier = process.env.BOSH_ETCD_TESTBED_NET || '127.0.9';
  const [, a, b] = tier.split('.').map(Number);
  return `127.${(a + 1) % 256}.${b}`;
}

/** The member list's rows (id, status, name) from the testbed's own `status` (etcdctl on a VM, independent of the product). */
function memberRows(status: string): string[] {
  return status
    .split('\n')
    .filter((l) => /^\|\s*[0-9a-f]+\s*\|\s*(started|unstarted)\s*\|/.test(l))
    .map((l) =>
      l
        .split('|')
        .slice(1, 4)
        .map((c) => c.trim())
        .join(' '),
    )
    .sort();
}

/** Whether `status` shows a row for this master's endpoint in the endpoint-status table (it answers). */
function endpointAnswers(status: string, index: number): boolean {
  // the endpoint-status table's rows start with the endpoint (the member list's end with the client URL)
  return status.split('\n').some((l) => l.startsWith(`| https://master-${index}.etcd.cfcr.internal:2379 |`));
}

describe('wizard: recover every broken member (two wiped masters of five)', function () {
  let tb: TestbedHandle | undefined;
  let wb: Workbench | undefined;
  let broken: { id: string; index: number }[] = [];

  before(async function () {
    if (!process.env.BOSH_ETCD_TESTBED_DIR)
      throw new Error('This file needs the e2e tier: run it through `node scripts/test.js e2e`.');
    const net = fiveMasterNet();
    const dir = path.join(os.tmpdir(), `bosh-etcd-tb-e2e5-${net}`);
    tb = testbedUp(dir, net, ['--masters', '5']);
    const ms = masters(tb.state);
    assert.strictEqual(ms.length, 5);
    broken = [ms[2], ms[4]].map((m) => ({ id: m.id, index: m.index }));
    for (const b of broken) tb.cli('break', `master/${b.id}`, '--mode', 'wipe');
    wb = await openWorkbench({
      useTestbed: false,
      env: tb.env,
      settings: { ...tb.settings, ...e2eSettings(tb.state) },
      viewport: { width: 1680, height: 1000 },
    });
  });
  afterEach(async function () {
    await failureScreenshot(wb, this);
  });
  after(async function () {
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed');
    await wb?.close({ keep: failed });
    if (tb) {
      const dir = tb.dir;
      tb.down();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('offers "Recover every broken member (2)" first and preselected; the review page shows the order; Cancel changes nothing', async function () {
    const page = wb!.page;
    const state = tb!.state;
    await showBrokenDeployment(wb!, state);
    const before = memberRows(tb!.cli('status'));
    assert.strictEqual(before.length, 5, before.join('\n'));

    // Step 3/5: once the diagnosis has positive evidence for both (a wiped member's start script
    // keeps retrying, so until then fewer may be offered), the first entry recovers both.
    const first = page.locator('.quick-input-list .monaco-list-row').first();
    let firstText = '';
    const end = Date.now() + 150_000;
    for (;;) {
      await runCommand(page, 'BOSH etcd: Recover etcd Member…');
      await page.locator('.quick-input-widget input.input').waitFor({ state: 'visible', timeout: 60_000 });
      await first.waitFor({ state: 'visible', timeout: 60_000 });
      firstText = await first.innerText();
      if (/Recover every broken member \(2\)/.test(firstText)) break;
      if (Date.now() > end) break;
      await pressInQuickInput(page, 'Escape');
      await page.waitForTimeout(5000);
    }
    assert.match(firstText, /Recover every broken member \(2\)/);
    for (const b of broken) assert.ok(firstText.includes(b.id), `the entry names master/${b.id}: ${firstText}`);
    const focused = await page.locator('.quick-input-list .monaco-list-row.focused').innerText();
    assert.match(focused, /Recover every broken member/, 'the entry is preselected');
    await screenshot(page, 'wizard-every-broken-pick');
    await pressInQuickInput(page, 'Enter');
    // Step 4/5: options (none chosen: a real run, stopped at the confirmation).
    await page.locator('.quick-input-widget', { hasText: 'options' }).waitFor({ state: 'visible', timeout: 30_000 });
    await pressInQuickInput(page, 'Enter');

    const dialog = page.locator('.monaco-dialog-box', { hasText: 'Replace 2 etcd members' });
    await dialog.waitFor({ state: 'visible', timeout: 180_000 });
    const dialogText = await dialog.innerText();
    for (const b of broken) assert.ok(dialogText.includes(`master/${b.id}`), dialogText);
    const editorText = (await page.locator('.editor-group-container .view-lines').first().innerText()).replace(
      /\u00a0/g,
      ' ',
    );
    assert.match(editorText, /Recovery plan: 2 members/);
    assert.match(editorText, /Order/);
    await screenshot(page, 'wizard-every-broken-review');
    await dialog.locator('a.monaco-button, button', { hasText: 'Cancel' }).first().click();
    await dialog.waitFor({ state: 'detached', timeout: 30_000 });

    // Nothing changed: the same five registrations, both wiped members still do not answer.
    await page.waitForTimeout(2000);
    const status = tb!.cli('status');
    assert.deepStrictEqual(memberRows(status), before);
    for (const b of broken) assert.ok(!endpointAnswers(status, b.index), `master-${b.index} answers:\n${status}`);
    for (const i of [0, 1, 3]) assert.ok(endpointAnswers(status, i), `master-${i} does not answer:\n${status}`);
  });
});
