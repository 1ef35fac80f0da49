// e2e: with one master's etcd wiped (the runbook's drill), the BOSH view and the etcd health panel
// show which member is broken. Screenshots: artifacts/screenshots/views-tree-broken-member.png,
// views-health-panel-broken.png.
import * as assert from 'assert';
import type { FrameLocator } from 'playwright-core';
import {
  Workbench,
  expandTreeRow,
  failureScreenshot,
  openBoshView,
  openWorkbench,
  screenshot,
  testbedCli,
  testbedState,
  waitForTreeRow,
} from './lib';
import { masters, type TestbedState } from '../testbed/harness/state';

export function e2eSettings(state: TestbedState): Record<string, unknown> {
  return {
    // The jump host's key is checked against known_hosts (the testbed writes one).
    'boshEtcd.ssh.knownHostsPath': state.staticSsh.knownHostsPath,
    'boshEtcd.refreshIntervalSeconds': 0,
    'boshEtcd.healthPanel.pollIntervalSeconds': 3,
  };
}

/** Drags the side bar's sash so tree rows show their descriptions (state, member id) in the pictures. */
export async function widenSideBar(wb: Workbench, px = 260): Promise<void> {
  const box = await wb.page.locator('.part.sidebar').boundingBox();
  if (!box) return;
  const x = box.x + box.width - 1;
  const y = box.y + box.height / 2;
  await wb.page.mouse.move(x, y);
  await wb.page.mouse.down();
  await wb.page.mouse.move(x + px, y, { steps: 8 });
  await wb.page.mouse.up();
}

export function panelFrame(wb: Workbench): FrameLocator {
  return wb.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

describe('views: tree and health panel with one member broken', function () {
  let wb: Workbench | undefined;
  let state: TestbedState;
  let brokenId: string;

  before(async function () {
    state = testbedState()!;
    assert.ok(state, 'a testbed');
    brokenId = masters(state)[1].id;
    testbedCli('break', `master/${brokenId}`, '--mode', 'wipe');
    wb = await openWorkbench({ settings: e2eSettings(state), viewport: { width: 1680, height: 1000 } });
  });
  afterEach(async function () {
    await failureScreenshot(wb, this);
  });
  after(async function () {
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed');
    await wb?.close({ keep: failed });
    if (brokenId) testbedCli('heal', `master/${brokenId}`, '--rebuild');
  });

  it('the BOSH view shows the broken member red and UNREACHABLE under "etcd members"', async function () {
    const page = wb!.page;
    await openBoshView(page);
    await widenSideBar(wb!);
    await expandTreeRow(await waitForTreeRow(page, state.director.url.replace(/^https:\/\//, ''), 60_000));
    await expandTreeRow(await waitForTreeRow(page, state.deployment, 60_000));
    const row = await waitForTreeRow(page, /UNREACHABLE/, 90_000);
    const text = await row.innerText();
    assert.ok(text.includes(`master/${brokenId}`), `the unreachable member is the broken instance: ${text}`);
    // Its icon is the error codicon (coloured red by the theme).
    assert.ok((await row.locator('.codicon-error').count()) > 0, 'error icon on the broken member row');
    const healthyRows = await page.locator('.sidebar .monaco-list-row', { hasText: /leader|follower/ }).count();
    assert.strictEqual(healthyRows, 2, 'the two other members are leader/follower');
    await waitForTreeRow(page, /etcd members.*2\/3 healthy/s, 30_000);
    await page.waitForTimeout(500);
    await screenshot(page, 'views-tree-broken-member');
  });

  it('the health panel marks the broken endpoint with a red row, an icon and the word UNREACHABLE', async function () {
    const page = wb!.page;
    // A click on "etcd members" opens the panel of that deployment.
    await (await waitForTreeRow(page, /etcd members/)).click();
    const frame = panelFrame(wb!);
    const failing = frame.locator('#status-table tr.failing');
    await failing.first().waitFor({ state: 'visible', timeout: 90_000 });
    assert.strictEqual(await failing.count(), 1, 'exactly one failing endpoint row');
    const rowText = await failing.first().innerText();
    assert.match(rowText, /UNREACHABLE/);
    assert.ok(rowText.includes(brokenId), `the failing row names the broken instance: ${rowText}`);
    assert.strictEqual(await frame.locator('#status-table tbody tr').count(), 3);
    assert.match(await frame.locator('#summary').innerText(), /2\/3 endpoints healthy/);
    const memberRow = frame.locator(`#member-table tr.failing[data-member="${brokenId}"]`);
    await memberRow.waitFor({ state: 'visible', timeout: 10_000 });
    // Let the chart collect a few points before the picture.
    await page.waitForTimeout(7000);
    await screenshot(page, 'views-health-panel-broken');
  });
});
