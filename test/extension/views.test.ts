// The BOSH tree, the health panel and the status bar inside a real VS Code extension host,
// against the testbed (real Director stand-in, sshd, monit, etcd). The extension finds the
// Director through the BOSH_* variables of the extension host's environment. Every etcd row and
// the status bar render the one diagnosis: each fault mode the tier can afford is broken from
// inside the extension host and its finding asserted where the operator looks.
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { BoshEtcdApi } from '../../src/extension';
import type { HostToPanel } from '../../src/webviews/health/protocol';
import type { ItemSpec } from '../../src/views/nodes';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import { masters, readTestbedState, type TestbedState } from '../testbed/harness/state';

import { activateApi, until, walkDeployment as walk, type DeploymentTree } from './helpers';
import { envNameOf, ERROR_BG, FaultView, RED, WARNING_BG, YELLOW } from './faultView';

function memberItems(api: BoshEtcdApi, w: DeploymentTree): ItemSpec[] {
  return w.members.filter((n) => n.kind === 'member').map((n) => api.model.getItem(n));
}

suite('views: BOSH tree, health panel and status bar on the testbed', function () {
  this.timeout(480_000);
  let state: TestbedState;
  let api: BoshEtcdApi;
  let ui: ScriptedUi;
  let faults: FaultView;

  suiteSetup(async () => {
    state = readTestbedState();
    api = await activateApi(state);
    ui = new ScriptedUi({ confirm: { hostKey: false } });
    api.setUi(ui);
    api.model.refresh();
    faults = new FaultView(api, state);
  });

  suiteTeardown(async () => {
    await faults.teardown();
  });

  test('the tree shows the deployment, its instances with processes, and three etcd members named after the instances', async () => {
    const w = await walk(api, state);
    const m = api.model;
    const ms = masters(state);
    // Narrow-sidebar labels: master/0 … with the short UUID and the state; the full name in the tooltip.
    assert.deepStrictEqual(
      w.instances.map((i) => m.getItem(i).label),
      ms.map((v) => `master/${v.index}`),
    );
    await until('the diagnosis', async () => api.model.cachedDiagnosis(envNameOf(w), state.deployment)?.diagnosis);
    for (const [k, inst] of w.instances.entries()) {
      const item = m.getItem(inst);
      assert.deepStrictEqual(item.icon, { id: 'pass', color: 'testing.iconPassed' }, `${item.label} running`);
      assert.strictEqual(item.description, `${ms[k].id.slice(0, 8)} · running`);
      assert.ok((item.tooltip ?? '').includes(`master/${ms[k].id}`), 'tooltip has the full name');
      assert.ok((item.tooltip ?? '').includes(ms[k].ip), 'tooltip has the IP');
      assert.ok((item.tooltip ?? '').includes(ms[k].vmCid), 'tooltip has the VM CID');
      const procs = (await m.getChildren(inst)).map((p) => m.getItem(p));
      const etcd = procs.find((p) => p.label === 'etcd');
      assert.ok(etcd, `etcd process on ${item.label}: ${procs.map((p) => p.label).join(', ')}`);
      assert.match(etcd.description ?? '', /^running/);
    }
    const fresh = await walk(api, state);
    const members = memberItems(api, fresh);
    assert.strictEqual(members.length, 3);
    assert.deepStrictEqual(members.map((x) => x.label).sort(), ms.map((v) => `master/${v.index}`).sort());
    assert.strictEqual(members.filter((x) => / · leader$/.test(x.description ?? '')).length, 1);
    assert.strictEqual(members.filter((x) => / · follower$/.test(x.description ?? '')).length, 2);
    assert.ok(members.every((x) => x.contextValue === 'etcd.member'));
    assert.strictEqual(m.getItem(fresh.etcd).description, '3/3 healthy');
    // The environment row: the Director's name from /info (the stand-in answers p-bosh, as Ops Manager's does), its URL beside it.
    await m.directorInfo(envNameOf(fresh));
    assert.strictEqual(m.getItem(fresh.env).label, 'p-bosh');
    assert.strictEqual(m.getItem(fresh.env).description, state.director.url.replace(/^https:\/\//, ''));
    assert.strictEqual(
      ui.prompts.filter((p) => p.id === 'hostKey').length,
      0,
      'no host key had to be accepted by hand',
    );
    await until(
      'the status bar',
      async () => (/etcd ok/.test(api.statusBar.current?.text ?? '') ? true : undefined),
      10_000,
    );
    assert.strictEqual(api.statusBar.current?.level, 'ok');
    assert.strictEqual(api.statusBar.backgroundColorId, undefined);
  });

  test("the health panel data, through the panel's message protocol, lists three endpoints with the etcdctl columns", async () => {
    const posted: HostToPanel[] = [];
    const envName = (await walk(api, state)).env.key.replace(/^env:/, '');
    const c = api.panels.createController(envName, state.deployment, (msg) => posted.push(msg));
    await c.handle({ type: 'ready' });
    await c.handle({ type: 'refresh', requestId: 42 });
    c.dispose();
    assert.strictEqual(posted[0].type, 'init');
    const answer = posted.find((p) => p.type === 'snapshot' && p.requestId === 42);
    assert.ok(
      answer && answer.type === 'snapshot',
      `snapshot answer; got ${JSON.stringify(posted.map((p) => (p.type === 'error' ? p.message : p.type)))}`,
    );
    const s = answer.snapshot;
    assert.strictEqual(s.rows.length, 3);
    const ms = masters(state);
    assert.deepStrictEqual(s.rows.map((r) => r.endpoint).sort(), ms.map((v) => v.etcdClientUrl).sort());
    for (const r of s.rows) {
      assert.match(r.id, /^[0-9a-f]{1,16}$/);
      assert.strictEqual(r.version, state.etcd.version);
      assert.ok(r.dbSize > 0);
      assert.match(r.raftTerm, /^\d+$/);
      assert.match(r.raftIndex, /^\d+$/);
      assert.match(r.raftAppliedIndex, /^\d+$/);
      assert.strictEqual(r.isLearner, false);
      assert.strictEqual(r.healthy, true);
      assert.strictEqual(typeof r.healthMs, 'number');
      assert.deepStrictEqual(r.errors, []);
      assert.strictEqual(r.failing, false);
    }
    assert.strictEqual(s.rows.filter((r) => r.isLeader).length, 1);
    assert.match(s.clusterId ?? '', /^[0-9a-f]+$/);
    assert.deepStrictEqual(s.members.map((x) => x.name).sort(), ms.map((v) => v.id).sort());
  });

  test('the real webview panel loads under its CSP, shakes hands and receives snapshots', async () => {
    const envName = (await walk(api, state)).env.key.replace(/^env:/, '');
    await vscode.commands.executeCommand('boshEtcd.openHealthPanel', { envName, deployment: state.deployment });
    const c = api.panels.get(envName, state.deployment);
    assert.ok(c, 'a panel controller exists');
    // lastSnapshot is only set after the webview script sent `ready` (it ran under the CSP).
    const snap = await until('a snapshot in the panel', async () => c.lastSnapshot, 60_000);
    assert.strictEqual(snap.rows.length, 3);
  });

  test('"Open SSH Terminal" on an instance row gives an interactive shell on that VM (PTY over ssh2)', async () => {
    const w = await walk(api, state);
    const ms = masters(state);
    const node = w.instances[0];
    const res = (await vscode.commands.executeCommand('boshEtcd.openSshTerminal', node)) as
      { terminal: vscode.Terminal; pty: import('../../src/commands/sshPseudoterminal').SshPseudoterminal } | undefined;
    assert.ok(res, 'the command returned its terminal');
    let out = '';
    res.pty.onDidWrite((d) => {
      out += d;
    });
    assert.strictEqual(await res.pty.ready, true, 'the shell opened');
    // VS Code itself calls setDimensions when it shows the terminal, possibly after ours: so resize
    // and ask the remote PTY its width until it reports ours (it must, within the deadline).
    // $((6*7)) is expanded by the remote shell: seeing 42 proves the input ran there.
    await until(
      'the remote PTY to report 100 columns',
      async () => {
        res.pty.setDimensions({ columns: 100, rows: 30 });
        res.pty.handleInput(
          'echo "vm=$(hostname -I 2>/dev/null || true) cols=$(tput cols) sum=$((6*7))"; grep -c master-0 /etc/hosts\r',
        );
        await new Promise((r) => setTimeout(r, 1500));
        return /cols=100 sum=42/.test(out) ? true : undefined;
      },
      30_000,
    );
    assert.match(out, /cols=100/, 'setDimensions resized the remote PTY');
    assert.ok(out.includes(ms[0].ip) || /\r\n1\r\n/.test(out), "the shell runs on the instance's VM");
    res.terminal.dispose();
  });

  test('wipe (the runbook drill): the member and its instance DOWN and red, the cause in the tooltip, "etcd 2/3" on red', async () => {
    // The wiped member flaps while monit restarts it; its final state is a refused self-add.
    const t = await faults.fault('wipe', 1, (x) => /Replace the member of master\//.test(x.member.tooltip ?? ''), {
      text: /^\$\(error\) etcd 2\/3$/,
      background: ERROR_BG,
    });
    assert.deepStrictEqual(t.member.icon, RED);
    assert.deepStrictEqual(t.instance.icon, RED);
    assert.match(t.instance.description ?? '', / · DOWN$/);
    assert.match(t.member.tooltip ?? '', /etcd down — /);
    assert.match(t.member.description ?? '', / · DOWN$/);
    assert.strictEqual(t.etcd.description, '2/3 healthy');
  });

  test('bootstrap wipe (split brain): a SPLIT BRAIN row first in the etcd section, the member SPLIT, "etcd: SPLIT BRAIN" on red', async () => {
    const t = await faults.fault('bootstrap-wipe', 0, (x) => x.etcd.description === 'SPLIT BRAIN', {
      text: /^\$\(error\) etcd: SPLIT BRAIN$/,
      background: ERROR_BG,
    });
    assert.match(t.findings[0]?.label ?? '', /^SPLIT BRAIN: master\/0 /);
    assert.deepStrictEqual(t.findings[0].icon, RED);
    assert.match(t.findings[0].tooltip ?? '', /bootstrap instance/);
    assert.match(t.member.description ?? '', / · SPLIT$/);
    assert.deepStrictEqual(t.member.icon, RED);
  });

  test('network path: UNREACHABLE in yellow (healthy on its VM, never offered for recovery), "etcd 3/3 (1 warning)"', async () => {
    const t = await faults.fault('network-path', 2, (x) => / · UNREACHABLE$/.test(x.member.description ?? ''), {
      text: /^\$\(warning\) etcd 3\/3 \(1 warning\)$/,
      background: WARNING_BG,
    });
    assert.deepStrictEqual(t.member.icon, YELLOW);
    assert.match(t.member.tooltip ?? '', /network path problem/);
    assert.match(t.member.tooltip ?? '', /Do not recover this member/);
    assert.strictEqual(t.etcd.description, '3/3 healthy · 1 warning');
  });

  test('stop: DOWN and red with "etcd is stopped", the action is monit start through bosh ssh', async () => {
    const t = await faults.fault('stop', 1, (x) => /etcd is stopped/.test(x.member.tooltip ?? ''), {
      text: /^\$\(error\) etcd 2\/3$/,
      background: ERROR_BG,
    });
    assert.deepStrictEqual(t.member.icon, RED);
    assert.match(t.member.description ?? '', / · DOWN$/);
    assert.match(t.member.tooltip ?? '', /monit start etcd/);
  });
});
