// The maintenance commands inside a real VS Code extension host, driven through the Ui seam
// (ScriptedUi), with the real engines, SSH and etcd of the testbed: a rolling defragmentation of a
// fragmented cluster (declined first: nothing changes; then confirmed: followers first, the leader
// last, every command in the terminal) and a snapshot saved into the configured folder.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BoshEtcdApi } from '../../src/extension';
import type { MaintenanceEvent } from '../../src/maintenance';
import { verifySnapshot } from '../../src/snapshots';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import type { MaintenanceFlowResult } from '../../src/wizard/maintenanceFlow';
import type { ShowSnapshotsResult, TakeSnapshotResult } from '../../src/wizard/snapshotFlow';
import { masters, readTestbedState, type TestbedState } from '../testbed/harness/state';
import { activateApi, harness, walkDeployment } from './helpers';

const fill = (): typeof import('../testbed/harness/fill') =>
  require(path.join(__dirname, '..', 'testbed', 'harness', 'fill.js'));

interface EndpointFigures {
  dbSize: number;
  leader: string;
  memberId: string;
}

/** Every member's size and the leader, as etcdctl on the first master reports them (not through the extension). */
async function figures(state: TestbedState): Promise<EndpointFigures[]> {
  const r = await harness().etcdctlIn(
    masters(state)[0],
    '--dial-timeout=2s --command-timeout=5s endpoint status -w json',
    {
      allowFail: true,
    },
  );
  // Member ids are uint64: quoted before JSON.parse would round them.
  const rows = JSON.parse(r.stdout.replace(/("(?:leader|member_id|cluster_id)":)(\d+)/g, '$1"$2"')) as {
    Status: { dbSize: number; leader: string; header: { member_id: string } };
  }[];
  const hex = (n: string) => BigInt(n).toString(16);
  return rows.map((x) => ({
    dbSize: x.Status.dbSize,
    leader: hex(x.Status.leader),
    memberId: hex(x.Status.header.member_id),
  }));
}

function commands(events: MaintenanceEvent[]): Extract<MaintenanceEvent, { type: 'command' }>[] {
  return events.filter((e): e is Extract<MaintenanceEvent, { type: 'command' }> => e.type === 'command');
}

suite('maintenance: rolling defragmentation and snapshots through the commands', function () {
  this.timeout(420_000);
  let state: TestbedState;
  let api: BoshEtcdApi;
  let envName: string;
  let snapshotDir: string;

  suiteSetup(async () => {
    state = readTestbedState();
    api = await activateApi(state);
    const { env } = await walkDeployment(api, state);
    assert.ok(env.kind === 'environment');
    envName = env.envName;
    snapshotDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-etcd-ext-snapshots-'));
    const cfg = vscode.workspace.getConfiguration('boshEtcd');
    await cfg.update('snapshots.directory', snapshotDir, vscode.ConfigurationTarget.Global);
    await cfg.update('maintenance.defragPauseSeconds', 1, vscode.ConfigurationTarget.Global);
    // Old revisions compacted away: most of each member's file becomes free pages.
    await fill().churnEtcd(state, { mb: 8 });
  });

  suiteTeardown(async () => {
    const cfg = vscode.workspace.getConfiguration('boshEtcd');
    await cfg.update('snapshots.directory', undefined, vscode.ConfigurationTarget.Global);
    await cfg.update('maintenance.defragPauseSeconds', undefined, vscode.ConfigurationTarget.Global);
    fs.rmSync(snapshotDir, { recursive: true, force: true });
  });

  test('defragment: declining the modal confirmation changes nothing', async () => {
    const before = await figures(state);
    const ui = new ScriptedUi({
      pick: { environment: { label: envName }, deployment: { label: state.deployment }, options: () => [] },
      confirm: { defrag: false },
    });
    api.setUi(ui);
    const res = (await vscode.commands.executeCommand('boshEtcd.defragEtcd')) as MaintenanceFlowResult;
    assert.strictEqual(res.outcome, 'declined', res.result?.message);
    assert.strictEqual(res.deployment, state.deployment);
    const confirm = ui.prompts.find((p) => p.kind === 'confirm' && p.id === 'defrag');
    assert.ok(confirm, 'the modal confirmation was shown');
    assert.match(confirm.detail ?? '', /will not answer reads or writes while it is defragmented, about \d+ s for/);
    assert.ok(res.reviews[0].includes('etcdctl --command-timeout'), 'the review page lists the defrag commands');
    assert.deepStrictEqual(
      commands(res.events).filter((c) => c.mutates && !c.skipped),
      [],
      'no changing command ran',
    );
    const after = await figures(state);
    for (const b of before) {
      const a = after.find((x) => x.memberId === b.memberId);
      assert.strictEqual(a?.dbSize, b.dbSize, `member ${b.memberId}: size unchanged`);
    }
    assert.match(ui.messages('info').join('\n'), /not confirmed: nothing was changed/);
  });

  test('defragment (from the deployment row): confirmed, followers first and the leader last, every command in the terminal, space reclaimed', async () => {
    const before = await figures(state);
    const leaderId = before[0].leader;
    const { dep, members } = await walkDeployment(api, state);
    const leaderRow = members.find((n) => n.kind === 'member' && n.member.id === leaderId);
    assert.ok(leaderRow && leaderRow.kind === 'member' && leaderRow.member.instance, `leader ${leaderId} in the tree`);
    const leaderLabel = `master/${leaderRow.member.instance.id}`;
    const ui = new ScriptedUi({ pick: { options: () => [] }, confirm: { defrag: true } });
    api.setUi(ui);
    const res = (await vscode.commands.executeCommand('boshEtcd.defragEtcd', dep)) as MaintenanceFlowResult;
    assert.strictEqual(res.outcome, 'done', `${res.result?.message} ${res.result?.advice ?? ''}`);
    assert.ok(!ui.prompts.some((p) => p.id === 'deployment'), 'the row named the deployment');
    const done = res.events.filter(
      (e): e is Extract<MaintenanceEvent, { type: 'member-done' }> => e.type === 'member-done',
    );
    assert.deepStrictEqual(
      done.map((e) => e.result.outcome),
      ['defragmented', 'defragmented', 'defragmented'],
    );
    assert.strictEqual(done[2].result.label, leaderLabel, 'the leader was defragmented last');
    assert.ok(done.slice(0, 2).every((e) => !e.result.wasLeader));
    // The terminal showed each member's command, in that order, the leader's last.
    const term = api.maintenance.terminals.at(-1)!;
    const at = (label: string) => term.text.indexOf(`${label}\x1b[0m\x1b[1m$ LOCAL=true ETCDCTL_API=3`);
    const positions = done.map((e) => at(e.result.label));
    assert.ok(
      positions.every((p) => p >= 0),
      'every defrag command is in the terminal',
    );
    assert.deepStrictEqual(
      [...positions].sort((a, b) => a - b),
      positions,
      'in the order run',
    );
    assert.match(term.text, /DONE/);
    assert.doesNotMatch(term.text.replace(/\r\n/g, ''), /\n/, 'terminal lines end with \\r\\n');
    assert.strictEqual(term.done, 'done');
    const after = await figures(state);
    const total = (f: EndpointFigures[]) => f.reduce((s, x) => s + x.dbSize, 0);
    assert.ok(total(after) < total(before), `sizes ${total(before)} → ${total(after)}`);
  });

  test('take a snapshot: a file in boshEtcd.snapshots.directory that verifySnapshot accepts, mode 0600; the list verifies it', async () => {
    const ui = new ScriptedUi({});
    api.setUi(ui);
    const res = (await vscode.commands.executeCommand('boshEtcd.takeSnapshot', {
      envName,
      deployment: state.deployment,
    })) as TakeSnapshotResult;
    assert.strictEqual(res.outcome, 'saved', ui.messages().join('\n'));
    const file = res.saved!.file;
    assert.strictEqual(path.dirname(file), path.resolve(snapshotDir));
    assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
    const v = await verifySnapshot(file);
    assert.ok(v.ok, v.ok ? '' : v.reason);
    assert.strictEqual(v.metadata?.deployment, state.deployment);
    assert.ok(
      ui.progressMessages.some((m) => / of /.test(m)),
      `progress in bytes: ${ui.progressMessages.join(' | ')}`,
    );
    assert.match(ui.messages('info')[0], new RegExp(`revision ${v.status.revision}`));

    const listUi = new ScriptedUi({
      pick: { snapshot: { preselected: true }, snapshotAction: { labelIncludes: 'Verify' } },
    });
    api.setUi(listUi);
    const shown = (await vscode.commands.executeCommand('boshEtcd.showSnapshots')) as ShowSnapshotsResult;
    assert.strictEqual(shown.chosen?.file, file);
    assert.ok(shown.verification?.ok);
    assert.match(listUi.messages('info')[0], /is intact/);
  });
});
