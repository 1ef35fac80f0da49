// e2e: "Defragment etcd (rolling)…" from the command palette on the healthy testbed cluster:
// deployment, the option to defragment every member, the review page with the modal confirmation
// naming each member's consequence (leader last), then Cancel: nothing is changed. Screenshot:
// artifacts/screenshots/maintenance-defrag-confirm.png (in the README).
import * as assert from 'assert';
import { masters } from '../testbed/harness/state';
import {
  dialogs,
  e2eSettings,
  failureScreenshot,
  openBoshView,
  openWorkbench,
  runCommand,
  screenshot,
  testbedState,
  waitForNotification,
  widenSideBar,
  type Workbench,
} from './lib';
import type { TestbedState } from '../testbed/harness/state';

describe('maintenance: rolling defragmentation from the command palette', function () {
  let wb: Workbench | undefined;
  let state: TestbedState | undefined;

  before(async function () {
    state = testbedState();
    if (!state) throw new Error('This file needs the e2e testbed: run it through `node scripts/test.js e2e`.');
    wb = await openWorkbench({ settings: e2eSettings(state), viewport: { width: 1680, height: 1000 } });
  });
  afterEach(async function () {
    await failureScreenshot(wb, this);
  });
  after(async function () {
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed');
    await wb?.close({ keep: failed });
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
    // A fresh cluster is barely fragmented: defragment every member so the plan has all three.
    await widget.locator('.quick-input-list .monaco-list-row', { hasText: 'Defragment every member' }).click();
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
