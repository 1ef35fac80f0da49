// e2e: the disaster-recovery flows from the command palette. "Restore etcd from Snapshot…" on a
// snapshot taken in before(): the snapshot is verified and the masters checked, then the review
// page and the input box that names the snapshot's revision and time, says later writes are lost
// and wants the deployment's name (disaster-restore-confirm.png); Escape: nothing is changed.
// "Restore etcd Quorum…" after two of three masters were wiped (`break --mode quorum-loss`): the
// survivor pick with every master's evidence, the one with data preselected
// (disaster-survivor-pick.png); confirmed, the run restores one cluster with the keys written before.
// after() brings the quorum back with the engine if the test did not, so the next files find it healthy.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { masters, type TestbedState } from '../testbed/harness/state';
import { boshCliEnv, etcdctlIn, forgetFaults } from '../testbed/harness/index';
import { openDeploymentFromEnv } from '../../src/session/session';
import { saveSnapshot } from '../../src/snapshots';
import { restoreQuorum } from '../../src/disaster/quorum';
import {
  dialogs,
  e2eSettings,
  failureScreenshot,
  openBoshView,
  openWorkbench,
  pressInQuickInput,
  runCommand,
  screenshot,
  screenState,
  showBrokenDeployment,
  testbedCli,
  testbedState,
  waitForNotification,
  widenSideBar,
  type Workbench,
} from './lib';
import type { Page } from 'playwright-core';

/** Answers the environment and deployment steps when they appear, until the title matches `until`. */
async function passDeploymentSteps(page: Page, deployment: string, until: RegExp): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 60_000 });
  for (let i = 0; i < 2; i++) {
    const title = await page.locator('.quick-input-widget .quick-input-title').innerText();
    if (until.test(title)) return;
    await input.fill(/: environment/.test(title) ? '' : deployment);
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    await page.waitForTimeout(500);
  }
  await widget.locator('.quick-input-title', { hasText: until }).waitFor({ state: 'visible', timeout: 30_000 });
}

/**
 * Runs a flow's command and waits for its first quick input. When none comes within 20 s, what is on
 * screen (the notification center included) is logged, the notifications are cleared and the command
 * is run again (three attempts): in CI the first of these commands has now and then shown nothing
 * at all (cause not established); the log line says what was on screen when that happens.
 */
async function startFlow(wb: Workbench, command: string): Promise<void> {
  const page = wb.page;
  const input = page.locator('.quick-input-widget input.input');
  for (let attempt = 1; ; attempt++) {
    await runCommand(page, command);
    try {
      await input.waitFor({ state: 'visible', timeout: 20_000 });
      return;
    } catch {
      const seen = await screenState(wb).catch((e: Error) => `(unreadable: ${e.message})`);
      if (attempt === 3) throw new Error(`"${command}" showed no quick input in 3 attempts; on screen: ${seen}`);
      console.log(`    "${command}" showed no quick input within 20 s (attempt ${attempt}); on screen: ${seen}`);
      await runCommand(page, 'Notifications: Clear All Notifications');
    }
  }
}

async function pressOk(page: Page): Promise<void> {
  await page
    .locator('.quick-input-widget .quick-input-action a, .quick-input-widget .quick-input-action .monaco-button', {
      hasText: 'OK',
    })
    .first()
    .click();
}

describe('disaster recovery: restore from a snapshot and the quorum-loss wizard', function () {
  this.timeout(900_000);
  let wb: Workbench | undefined;
  let state: TestbedState | undefined;
  let broken = false;
  const snapDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-etcd-e2e-snapshots-'));
  const m = (i: number) => masters(state!).sort((a, b) => a.index - b.index)[i];
  const label = (i: number) => `master/${m(i).id}`;
  const session = () =>
    openDeploymentFromEnv(boshCliEnv(state!), { gatewayKnownHostsPath: state!.staticSsh.knownHostsPath });

  before(async function () {
    state = testbedState();
    if (!state) throw new Error('This file needs the e2e testbed: run it through `node scripts/test.js e2e`.');
    // keys in the snapshot (a fresh cluster's snapshot holds revision 0), and for the quorum test
    for (let i = 0; i < 5; i++) await etcdctlIn(m(2), `put /e2e/disaster/key-${i} value-${i}`);
    const s = session();
    try {
      await saveSnapshot(s, { dir: snapDir });
    } finally {
      await s.dispose().catch(() => undefined);
    }
    wb = await openWorkbench({
      settings: { ...e2eSettings(state), 'boshEtcd.snapshots.directory': snapDir },
      viewport: { width: 1680, height: 1000 },
    });
  });
  afterEach(async function () {
    await failureScreenshot(wb, this);
  });
  after(async function () {
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed');
    await wb?.close({ keep: failed });
    if (broken && state) {
      const s = session();
      try {
        const r = await restoreQuorum(s, { survivor: label(2), yes: true, transcriptDir: snapDir });
        if (r.outcome !== 'recovered') console.log(`    after(): quorum restore ${r.outcome}: ${r.message}`);
      } finally {
        await s.dispose().catch(() => undefined);
      }
      for (const i of [0, 1]) forgetFaults(label(i));
    }
    if (state) await etcdctlIn(m(0), 'del --prefix /e2e/disaster/', { allowFail: true });
    fs.rmSync(snapDir, { recursive: true, force: true });
  });

  it('restore from a snapshot: the confirmation names revision and time, says later writes are lost, wants the name; Escape changes nothing', async function () {
    const page = wb!.page;
    await openBoshView(page);
    await widenSideBar(wb!);
    await startFlow(wb!, 'BOSH etcd: Restore etcd from Snapshot…');
    await passDeploymentSteps(page, state!.deployment, /which snapshot/);
    await pressInQuickInput(page, 'Enter'); // the newest snapshot of this deployment (the only one)
    await page
      .locator('.quick-input-widget .quick-input-title', { hasText: 'options' })
      .waitFor({ state: 'visible', timeout: 30_000 });
    const bump = await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Bump the revision' }).count();
    assert.strictEqual(bump, 1, 'etcd 3.5.16: --bump-revision/--mark-compacted offered');
    await pressOk(page);
    // The snapshot is verified and every master checked before the question.
    const title = page.locator('.quick-input-widget .quick-input-title', { hasText: 'every later write is LOST' });
    await title.waitFor({ state: 'visible', timeout: 180_000 });
    const text = await title.innerText();
    assert.match(text, new RegExp(`Restore ${state!.deployment} to snapshot revision [1-9]\\d* \\(20\\d\\d-`));
    const editorText = (await page.locator('.editor-group-container .view-lines').first().innerText()).replace(
      /\u00a0/g,
      ' ',
    );
    assert.match(editorText, /is LOST/);
    await screenshot(page, 'disaster-restore-confirm');
    await pressInQuickInput(page, 'Escape');
    await waitForNotification(page, /not confirmed: nothing was stopped or changed/, 60_000);
    assert.deepStrictEqual(await dialogs(page), []);
  });

  it('quorum lost: the survivor pick shows every master with its evidence, the one with data preselected; confirmed, quorum comes back with the keys', async function () {
    const page = wb!.page;
    testbedCli('break', label(0), '--mode', 'quorum-loss');
    broken = true;
    await runCommand(page, 'View: Close All Editors'); // the restore's review page: not this flow's
    // the tree says why (a QUORUM LOST row in the etcd section) while the pick is open
    await showBrokenDeployment(wb!, state!, /QUORUM LOST/);
    await startFlow(wb!, 'BOSH etcd: Restore etcd Quorum…');
    await passDeploymentSteps(page, state!.deployment, /options/);
    await pressOk(page); // no dry run
    const pickTitle = page.locator('.quick-input-widget .quick-input-title', { hasText: 'which master survives' });
    await pickTitle.waitFor({ state: 'visible', timeout: 240_000 });
    const rows = page.locator('.quick-input-list .monaco-list-row');
    assert.strictEqual(await rows.count(), 3, (await rows.allInnerTexts()).join('\n'));
    const all = (await rows.allInnerTexts()).join('\n');
    assert.match(all, /#1 · raft index \d+ · revision \d+/);
    assert.strictEqual((all.match(/cannot be the survivor: it has no etcd data/g) ?? []).length, 2, all);
    await screenshot(page, 'disaster-survivor-pick');
    await pressInQuickInput(page, 'Enter'); // the preselected one
    const dialog = page.locator('.monaco-dialog-box', { hasText: 'Rebuild the etcd cluster' });
    await dialog.waitFor({ state: 'visible', timeout: 120_000 });
    assert.match(await dialog.innerText(), /kube-apiserver is stopped on every master/);
    await dialog.locator('a.monaco-button, button', { hasText: 'Restore Quorum from' }).first().click();
    await waitForNotification(page, /Quorum restored from/, 600_000);
    broken = false;
    for (const i of [0, 1]) forgetFaults(label(i));
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const st = await etcdctlIn(m(i), 'endpoint status -w json', { local: true });
      ids.add(/"cluster_id":(\d+)/.exec(st.stdout)![1]);
      const got = await etcdctlIn(m(i), `get /e2e/disaster/key-${i} --print-value-only`, { local: true });
      assert.strictEqual(got.stdout.trim(), `value-${i}`);
    }
    assert.strictEqual(ids.size, 1, [...ids].join(', '));
  });
});
