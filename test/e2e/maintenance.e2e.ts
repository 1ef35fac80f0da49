// e2e: a really fragmented cluster (before(): live keys written, then keys overwritten, deleted and
// compacted by the churn filler, so every member's file is mostly free pages): the health panel
// shows each member's DB size, size in use and fragmentation flagged for defragmentation
// (maintenance-health-panel-fragmented.png); "Defragment etcd (rolling)…" from the command palette
// plans all three members by their own figures, the review page with the modal confirmation names
// each member's consequence (leader last), then Cancel: nothing is changed
// (maintenance-defrag-confirm.png). Both screenshots are in the README.
import * as assert from 'assert';
import { masters } from '../testbed/harness/state';
import { churnEtcd, fillEtcd } from '../testbed/harness/fill';
import { etcdctlIn } from '../testbed/harness/index';
import {
  dialogs,
  e2eSettings,
  failureScreenshot,
  openBoshView,
  openWorkbench,
  panelFrame,
  runCommand,
  screenshot,
  showBrokenDeployment,
  testbedState,
  waitForNotification,
  waitForTreeRow,
  widenSideBar,
  type Workbench,
} from './lib';
import type { TestbedState } from '../testbed/harness/state';

describe('maintenance: rolling defragmentation from the command palette', function () {
  let wb: Workbench | undefined;
  let state: TestbedState | undefined;
  /** Keys that stay (the data in use); deleted again, and every member defragmented, in after(). */
  const LIVE_PREFIX = '/e2e/maintenance/';

  before(async function () {
    state = testbedState();
    if (!state) throw new Error('This file needs the e2e testbed: run it through `node scripts/test.js e2e`.');
    // ~12 MB in use, ~80 MB of old revisions compacted away: each member's file ≥ 64 MB and mostly free.
    await fillEtcd(state, 12, 256 * 1024, LIVE_PREFIX);
    await churnEtcd(state, { mb: 80, valueBytes: 512 * 1024 });
    wb = await openWorkbench({ settings: e2eSettings(state), viewport: { width: 1680, height: 1000 } });
  });
  afterEach(async function () {
    await failureScreenshot(wb, this);
  });
  after(async function () {
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed');
    await wb?.close({ keep: failed });
    if (!state) return;
    // Leave the cluster as the next files expect it: no data of ours and no fragmentation (a member
    // flagged for defragmentation is shown degraded, not leader/follower).
    await etcdctlIn(masters(state)[0], `del --prefix ${LIVE_PREFIX}`, { allowFail: true });
    for (const m of masters(state)) await etcdctlIn(m, 'defrag', { local: true, allowFail: true, timeoutMs: 60_000 });
  });

  it('the health panel shows every member fragmented: DB size, size in use, fragmentation flagged for defragmentation', async function () {
    const page = wb!.page;
    await showBrokenDeployment(wb!, state!, /etcd members.*3\/3 healthy/s);
    // A click on "etcd members" opens the panel of that deployment.
    await (await waitForTreeRow(page, /etcd members/)).click();
    const frame = panelFrame(wb!);
    const rows = frame.locator('#size-table tbody tr');
    await frame.locator('#size-table td', { hasText: '(defragment)' }).first().waitFor({ timeout: 90_000 });
    assert.strictEqual(await rows.count(), 3);
    for (const text of await rows.allInnerTexts()) {
      // e.g. "https://master-0…  93 MiB  12 MiB  87 % (defragment)  2.0 GiB  4.5 %"
      const pct = Number(/(\d+) % \(defragment\)/.exec(text)?.[1]);
      assert.ok(pct >= 50 && pct < 100, `fragmented, not empty: ${text}`);
      const sizes = [...text.matchAll(/([\d.]+) MiB/g)].map((m) => Number(m[1]) * 1024 * 1024);
      assert.ok(sizes[0] >= 64e6 && sizes[1] >= 8e6, `DB ≥ 64 MB with ≥ 8 MB in use: ${text}`);
    }
    // Let the history chart collect a few points, then bring the sizes and the chart into the picture.
    await page.waitForTimeout(7000);
    await frame.locator('#sizes').evaluate((e) => e.previousElementSibling?.scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(300);
    await screenshot(page, 'maintenance-health-panel-fragmented');
  });

  it('shows the plan and a modal naming what each member will not do while defragmented; Cancel changes nothing', async function () {
    const page = wb!.page;
    const s = state!;
    await openBoshView(page);
    await widenSideBar(wb!);
    await runCommand(page, 'BOSH etcd: Defragment etcd (rolling)…');
    const widget = page.locator('.quick-input-widget');
    const input = page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 60_000 });
    // Environment and deployment steps appear only when there is a choice to make.
    for (let i = 0; i < 2; i++) {
      const title = await page.locator('.quick-input-widget .quick-input-title').innerText();
      if (/: options/.test(title)) break;
      await input.fill(/: environment/.test(title) ? '' : s.deployment);
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
      await widget.locator('.quick-input-title', { hasText: /options|deployment/ }).waitFor({ timeout: 30_000 });
    }
    await widget.locator('.quick-input-title', { hasText: 'options' }).waitFor({ state: 'visible', timeout: 30_000 });
    // No option: the members are planned by their own figures (all three are fragmented).
    await widget
      .locator('.quick-input-action a, .quick-input-action .monaco-button', { hasText: 'OK' })
      .first()
      .click();

    const dialog = page.locator('.monaco-dialog-box', { hasText: 'Defragment 3 etcd members' });
    await dialog.waitFor({ state: 'visible', timeout: 120_000 });
    const text = await dialog.innerText();
    const ids = masters(s).map((m) => m.id);
    const lines = text
      .split('\n')
      .filter((l) => /will not answer reads or writes while it is defragmented, about \d+ s for/.test(l));
    assert.strictEqual(lines.length, 3, text);
    for (const id of ids) assert.ok(text.includes(`master/${id}`), `the modal names master/${id}`);
    // The review page behind it lists the commands.
    const editorText = (await page.locator('.editor-group-container .view-lines').first().innerText()).replace(
      /\u00a0/g,
      ' ',
    );
    assert.match(editorText, /Rolling defragmentation plan/);
    await screenshot(page, 'maintenance-defrag-confirm');
    await dialog.locator('a.monaco-button, button', { hasText: 'Cancel' }).first().click();
    await waitForNotification(page, /not confirmed: nothing was changed/, 60_000);
    assert.deepStrictEqual(await dialogs(page), []);
  });
});
