// The recovery wizard end to end inside a real VS Code extension host, driven through the Ui
// seam (ScriptedUi), on a member broken by the runbook's drill (`break --mode wipe`), with the
// real engine, SSH and etcd of the testbed. Asserts the final state of the cluster.
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { BoshEtcdApi } from '../../src/extension';
import type { TreeNode } from '../../src/views/nodes';
import type { WizardResult } from '../../src/wizard/wizardTypes';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import { recoverableInstances } from '../../src/diagnosis/summary';
import { masters, readTestbedState, type TestbedState } from '../testbed/harness/state';

import { activateApi, harness, until, walkDeployment } from './helpers';

async function memberNodes(api: BoshEtcdApi, state: TestbedState): Promise<{ envName: string; members: TreeNode[] }> {
  const { env, members } = await walkDeployment(api, state);
  return { envName: env.kind === 'environment' ? env.envName : '', members };
}

suite('wizard: recover a wiped etcd member through the Ui seam', function () {
  this.timeout(420_000);
  let state: TestbedState;
  let api: BoshEtcdApi;
  let victim: string | undefined;

  suiteSetup(async () => {
    state = readTestbedState();
    api = await activateApi(state);
  });

  suiteTeardown(async () => {
    if (victim)
      await harness()
        .heal(victim, { rebuild: true })
        .catch(() => undefined);
  });

  test('declining the modal confirmation changes nothing', async () => {
    const ms = masters(state);
    victim = `master/${ms[2].id}`;
    await harness().breakInstance(victim, 'wipe');
    api.model.refresh();
    const before = await until('member down (with evidence from its VM)', async () => {
      api.model.refresh();
      const { envName, members } = await memberNodes(api, state);
      const v = members.find((n) => n.kind === 'member' && n.member.instance?.id === ms[2].id);
      // Down, and the diagnosis names the recovery wizard as the fix (what the wizard preselects).
      const findings = api.model.cachedDiagnosis(envName, state.deployment)?.diagnosis?.findings ?? [];
      return v && v.kind === 'member' && recoverableInstances(findings).some((i) => i.id === ms[2].id)
        ? v.member.id
        : undefined;
    });
    const ui = new ScriptedUi({
      pick: { member: { preselected: true }, options: () => [] },
      confirm: { recover: false },
    });
    api.setUi(ui);
    const res = (await vscode.commands.executeCommand('boshEtcd.recoverMember')) as WizardResult;
    assert.strictEqual(res.outcome, 'declined');
    assert.strictEqual(res.target, victim, 'the broken member was preselected');
    assert.strictEqual(ui.prompts.filter((p) => p.kind === 'confirm' && p.id === 'recover').length, 1);
    api.model.refresh();
    const { members } = await memberNodes(api, state);
    const still = members.find((n) => n.kind === 'member' && n.member.instance?.id === ms[2].id);
    assert.ok(
      still && still.kind === 'member' && still.member.id === before,
      'the stale member is still registered: nothing changed',
    );
  });

  test('recover this member (from its tree row): review page lists every command, modal names the consequence, run in a terminal, cluster healthy again', async () => {
    const ms = masters(state);
    assert.ok(victim);
    const { envName, members } = await memberNodes(api, state);
    const row = members.find((n) => n.kind === 'member' && n.member.instance?.id === ms[2].id)!;
    assert.ok(row && row.kind === 'member');
    const staleId = row.member.id;
    const ui = new ScriptedUi({
      pick: { member: { preselected: true }, options: () => [] },
      confirm: { recover: true },
    });
    api.setUi(ui);
    const res = (await vscode.commands.executeCommand('boshEtcd.recoverMember', row)) as WizardResult;
    const last = res.results.at(-1);
    assert.strictEqual(res.outcome, 'recovered', `outcome ${res.outcome}: ${last?.message} ${last?.advice ?? ''}`);
    // The member prompt: our row's instance preselected, with evidence.
    const picked = ui.prompts.find((p) => p.id === 'member')!.items!.find((i) => i.picked)!;
    assert.ok(picked.label.includes(ms[2].id));
    assert.match(picked.detail ?? '', /etcd: down/);
    // Review page: every command of the plan, verbatim.
    const plan = last!.plan!;
    const commands = plan.steps.flatMap((s) => s.commands.map((c) => c.command));
    assert.ok(
      commands.some((c) => c.includes('member remove')),
      'the plan removes the member',
    );
    // a command of several lines is shown indented under its list item, line by line
    for (const c of commands) assert.ok(res.reviews[0].includes(c.replace(/\n/g, '\n  ')), `review page lists ${c}`);
    const confirm = ui.prompts.find((p) => p.kind === 'confirm' && p.id === 'recover')!;
    assert.ok(
      confirm.title.startsWith(
        `Remove member ${staleId} (instance ${victim} in AZ ${ms[2].az}) from the etcd cluster and re-add it with empty data`,
      ),
      confirm.title,
    );
    assert.strictEqual(confirm.confirmLabel, 'Remove and Re-add Member');
    // The terminal showed the runbook's commands with their output.
    const term = api.wizard.terminals.at(-1)!;
    assert.match(term.text, /monit stop etcd/);
    assert.match(term.text, new RegExp(`member remove ${staleId}`));
    assert.match(term.text, /RECOVERED/);
    assert.ok(api.panels.get(envName, state.deployment), 'the health panel was opened on success');
    // Final state, read fresh: three healthy members, the victim's with a new id, named after its instance.
    api.model.refresh();
    const after = (await memberNodes(api, state)).members.filter(
      (n): n is Extract<TreeNode, { kind: 'member' }> => n.kind === 'member',
    );
    assert.strictEqual(after.length, 3);
    const descriptions = after.map((n) => api.model.getItem(n).description ?? '');
    assert.ok(
      descriptions.every((d) => / · (leader|follower)$/.test(d)),
      descriptions.join(', '),
    );
    const re = after.find((n) => n.member.name === ms[2].id)!;
    assert.ok(re && re.member.id !== staleId, 'the member was replaced (new id)');
    victim = undefined;
  });
});
