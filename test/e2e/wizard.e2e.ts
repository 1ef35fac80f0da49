// e2e: the recovery wizard from the command palette on a wiped member: member pick (broken one
// preselected), options, the review page with the modal confirmation, the run in its terminal,
// success. Screenshots: artifacts/screenshots/wizard-review-confirm.png, wizard-terminal.png.
import * as assert from 'assert';
import {
  dialogs,
  notifications,
  pressInQuickInput,
  runCommand,
  screenshot,
  showBrokenDeployment,
  testbedCli,
  waitForNotification,
  withBrokenMember,
} from './lib';

describe('wizard: recover a wiped etcd member from the command palette', function () {
  const broken = withBrokenMember(2);

  it('review page lists the commands, the modal names the consequence, the terminal runs them, the cluster is healthy again', async function () {
    const { wb, brokenId } = broken;
    const page = wb.page;
    await showBrokenDeployment(wb, broken.state);

    // Step 3/5: the broken member is preselected (first, focused) with its evidence, once the
    // diagnosis has positive evidence that replacing it is the fix (the wiped member flaps while
    // monit restarts it): until then nothing is preselected, so close the pick and ask again.
    const active = page.locator('.quick-input-list .monaco-list-row.focused');
    let activeText = '';
    const end = Date.now() + 120_000;
    for (;;) {
      await runCommand(page, 'BOSH etcd: Recover etcd Member…');
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible', timeout: 60_000 });
      await active.waitFor({ state: 'visible', timeout: 60_000 });
      activeText = await active.innerText();
      if (activeText.includes(brokenId) && /etcd: down/.test(activeText)) break;
      if (Date.now() > end) break;
      await pressInQuickInput(page, 'Escape');
      await page.waitForTimeout(5000);
    }
    assert.ok(activeText.includes(brokenId), `the broken member is preselected: ${activeText}`);
    assert.match(activeText, /etcd: down/);
    await screenshot(page, 'wizard-member-pick');
    await pressInQuickInput(page, 'Enter');
    // Step 4/5: options (none chosen: a real run).
    await page.locator('.quick-input-widget', { hasText: 'options' }).waitFor({ state: 'visible', timeout: 30_000 });
    await pressInQuickInput(page, 'Enter');

    // The engine observes and plans, then the review page opens with the modal confirmation.
    const dialog = page.locator('.monaco-dialog-box', {
      hasText: 'from the etcd cluster and re-add it with empty data',
    });
    await dialog.waitFor({ state: 'visible', timeout: 120_000 });
    const dialogText = await dialog.innerText();
    assert.ok(dialogText.includes(`master/${brokenId}`), dialogText);
    // Monaco renders spaces as no-break spaces.
    const editorText = (await page.locator('.editor-group-container .view-lines').first().innerText()).replace(
      /\u00a0/g,
      ' ',
    );
    assert.match(editorText, /Recovery plan: master\//);
    await screenshot(page, 'wizard-review-confirm');
    await dialog.locator('a.monaco-button, button', { hasText: 'Remove and Re-add Member' }).first().click();

    const done = await waitForNotification(page, /Recovered master\//, 300_000);
    assert.match(done, /caught up/);
    assert.deepStrictEqual(await dialogs(page), []);
    const errors = (await notifications(page)).filter((t) => /already registered|error/i.test(t));
    assert.deepStrictEqual(errors, [], 'no error toast (e.g. a tree refresh race) during the run');
    await page.waitForTimeout(1500);
    await screenshot(page, 'wizard-terminal');
    // Real effect: the testbed says all three members are started again.
    const status = testbedCli('status');
    assert.ok(
      !/unstarted|failing/i.test(
        status
          .split('\n')
          .filter((l) => l.includes(brokenId))
          .join('\n'),
      ),
      status,
    );
    broken.recovered();
  });
});
