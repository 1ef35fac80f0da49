// e2e: the bootstrap master wiped the runbook's way forms its own one-member cluster (split brain).
// The BOSH view puts a SPLIT BRAIN row first in the etcd section, the status bar says so on red,
// and the health panel opens with a full-width banner that says what it means and what to do.
// Screenshots: artifacts/screenshots/views-tree-split-brain.png, views-health-panel-split-brain.png.
import * as assert from 'assert';
import { panelFrame, screenshot, showBrokenDeployment, waitForTreeRow, withBrokenMember } from './lib';

describe('views: split brain after a bootstrap wipe', function () {
  const broken = withBrokenMember(0, 'bootstrap-wipe');

  it('the BOSH view shows a SPLIT BRAIN row first and the member SPLIT; the status bar says etcd: SPLIT BRAIN', async function () {
    const { wb, brokenId } = broken;
    const page = wb.page;
    const row = await showBrokenDeployment(wb, broken.state, /SPLIT BRAIN: master\/0/);
    assert.ok((await row.locator('.codicon-error').count()) > 0, 'error icon on the split-brain row');
    await waitForTreeRow(page, /etcd members.*SPLIT BRAIN/s, 30_000);
    const member = await waitForTreeRow(page, new RegExp(`master/0\\s*${brokenId.slice(0, 8)} · SPLIT`), 30_000);
    assert.ok((await member.locator('.codicon-error').count()) > 0, 'error icon on the split member');
    const status = page.locator('.statusbar-item', { hasText: 'etcd: SPLIT BRAIN' });
    await status.first().waitFor({ state: 'visible', timeout: 30_000 });
    await page.waitForTimeout(500);
    await screenshot(page, 'views-tree-split-brain');
  });

  it('the health panel opens with a split-brain banner, the finding, and the split member red', async function () {
    const { wb, brokenId } = broken;
    const page = wb.page;
    // The status bar item opens the panel of the worst deployment.
    await page.locator('.statusbar-item', { hasText: 'etcd: SPLIT BRAIN' }).first().click();
    const frame = panelFrame(wb);
    const banner = frame.locator('.alarm-banner[data-kind="split-brain"]');
    await banner.waitFor({ state: 'visible', timeout: 90_000 });
    const text = await banner.innerText();
    assert.match(text, /SPLIT BRAIN: master\/0/);
    assert.match(text, /Two etcd clusters answer for this deployment/);
    assert.match(text, /What to do: Do not write to the cluster/);
    const first = frame.locator('#findings-list .finding').first();
    assert.strictEqual(await first.getAttribute('data-kind'), 'split-brain');
    const row = frame.locator('#status-table tr.failing');
    assert.strictEqual(await row.count(), 1, 'exactly the split member is red');
    assert.match(await row.first().innerText(), /SPLIT/);
    assert.ok((await row.first().innerText()).includes(brokenId));
    assert.match(await frame.locator('#summary').innerText(), /SPLIT BRAIN/);
    await page.waitForTimeout(7000);
    await screenshot(page, 'views-health-panel-split-brain');
  });
});
