// e2e: with one master's etcd wiped (the runbook's drill), the BOSH view and the etcd health panel
// show which member is broken and why (the diagnosis' finding). Screenshots: artifacts/screenshots/views-tree-broken-member.png,
// views-health-panel-broken.png.
import * as assert from 'assert';
import { panelFrame, screenshot, showBrokenDeployment, waitForTreeRow, withBrokenMember } from './lib';

describe('views: tree and health panel with one member broken', function () {
  const broken = withBrokenMember(1);

  it('the BOSH view shows the broken member red and DOWN under "etcd members"', async function () {
    const { wb, brokenId } = broken;
    const page = wb.page;
    const row = await showBrokenDeployment(wb, broken.state);
    const text = await row.innerText();
    assert.ok(text.includes(brokenId.slice(0, 8)), `the down member is the broken instance: ${text}`);
    // Its icon is the error codicon (coloured red by the theme).
    assert.ok((await row.locator('.codicon-error').count()) > 0, 'error icon on the broken member row');
    const healthyRows = await page.locator('.sidebar .monaco-list-row', { hasText: /leader|follower/ }).count();
    assert.strictEqual(healthyRows, 2, 'the two other members are leader/follower');
    await waitForTreeRow(page, /etcd members.*2\/3 healthy/s, 30_000);
    await page.waitForTimeout(500);
    await screenshot(page, 'views-tree-broken-member');
  });

  it('the health panel lists the finding first and marks the broken endpoint with a red row and the word DOWN', async function () {
    const { wb, brokenId } = broken;
    const page = wb.page;
    // A click on "etcd members" opens the panel of that deployment.
    await (await waitForTreeRow(page, /etcd members/)).click();
    const frame = panelFrame(wb);
    const failing = frame.locator('#status-table tr.failing');
    await failing.first().waitFor({ state: 'visible', timeout: 90_000 });
    assert.strictEqual(await failing.count(), 1, 'exactly one failing endpoint row');
    const rowText = await failing.first().innerText();
    assert.match(rowText, /DOWN/);
    assert.ok(rowText.includes(brokenId), `the failing row names the broken instance: ${rowText}`);
    assert.strictEqual(await frame.locator('#status-table tbody tr').count(), 3);
    assert.match(await frame.locator('#summary').innerText(), /2\/3 healthy/);
    // The finding, once the VM shows why (the wiped member flaps while monit restarts it).
    const finding = frame.locator('#findings-list .finding[data-kind="member-down"]', {
      hasText: 'What to do: Replace the member of master/',
    });
    await finding.first().waitFor({ state: 'visible', timeout: 90_000 });
    assert.strictEqual(await frame.locator('#findings-list .finding').first().getAttribute('data-kind'), 'member-down');
    assert.match(await frame.locator('#size-table').innerText(), /% OF QUOTA/);
    const memberRow = frame.locator(`#member-table tr.failing[data-member="${brokenId}"]`);
    await memberRow.waitFor({ state: 'visible', timeout: 10_000 });
    // Let the chart collect a few points before the picture.
    await page.waitForTimeout(7000);
    await screenshot(page, 'views-health-panel-broken');
  });
});
