// The BOSH tree, the health panel and the status bar inside a real VS Code extension host,
// against the testbed (real Director stand-in, sshd, monit, etcd). The extension finds the
// Director through the BOSH_* variables of the extension host's environment.
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { BoshEtcdApi } from '../../src/extension';
import type { HostToPanel } from '../../src/webviews/health/protocol';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import { masters, readTestbedState, type TestbedState } from '../testbed/harness/state';

import { activateApi, harness, until, walkDeployment as walk } from './helpers';

suite('views: BOSH tree, health panel and status bar on the testbed', function () {
  this.timeout(480_000);
  let state: TestbedState;
  let api: BoshEtcdApi;
  let ui: ScriptedUi;
  let broken: string | undefined;

  suiteSetup(async () => {
    state = readTestbedState();
    api = await activateApi(state);
    ui = new ScriptedUi({ confirm: { hostKey: false } });
    api.setUi(ui);
    api.model.refresh();
  });

  suiteTeardown(async () => {
    if (broken) await harness().heal(broken, { rebuild: true });
  });

  test('the tree shows the deployment, its instances with processes, and three etcd members named after the instances', async () => {
    const w = await walk(api, state);
    const m = api.model;
    const ms = masters(state);
    assert.deepStrictEqual(
      w.instances.map((i) => m.getItem(i).label),
      ms.map((v) => `master/${v.id}`),
    );
    for (const [k, inst] of w.instances.entries()) {
      const item = m.getItem(inst);
      assert.deepStrictEqual(item.icon, { id: 'pass', color: 'testing.iconPassed' }, `${item.label} running`);
      assert.ok((item.description ?? '').includes(ms[k].ip), 'description has the IP');
      assert.ok((item.description ?? '').includes(ms[k].az), 'description has the AZ');
      assert.ok((item.tooltip ?? '').includes(ms[k].vmCid), 'tooltip has the VM CID');
      const procs = (await m.getChildren(inst)).map((p) => m.getItem(p));
      const etcd = procs.find((p) => p.label === 'etcd');
      assert.ok(etcd, `etcd process on ${item.label}: ${procs.map((p) => p.label).join(', ')}`);
      assert.match(etcd.description ?? '', /^running/);
    }
    const members = w.members.map((x) => m.getItem(x));
    assert.strictEqual(members.length, 3);
    assert.deepStrictEqual(members.map((x) => x.label).sort(), ms.map((v) => `master/${v.id}`).sort());
    assert.strictEqual(members.filter((x) => /^leader/.test(x.description ?? '')).length, 1);
    assert.strictEqual(members.filter((x) => /^follower/.test(x.description ?? '')).length, 2);
    assert.ok(members.every((x) => x.contextValue === 'etcd.member'));
    assert.strictEqual(
      ui.prompts.filter((p) => p.id === 'hostKey').length,
      0,
      'no host key had to be accepted by hand',
    );
    await until(
      'the status bar',
      async () => (/etcd 3\/3/.test(api.statusBar.current?.text ?? '') ? true : undefined),
      10_000,
    );
    assert.strictEqual(api.statusBar.current?.level, 'ok');
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

  test('after `break --mode wipe` and a refresh, the instance and its member show as failing; after healing, healthy again', async () => {
    const ms = masters(state);
    const victim = ms[1];
    broken = `master/${victim.id}`;
    await harness().breakInstance(broken, 'wipe');
    const m = api.model;
    // The wiped member stays unreachable; the instance's process state flaps (monit restarts etcd,
    // the job's start script fails to self-add): wait for each separately.
    const memberDown = await until(
      'member unreachable',
      async () => {
        api.model.refresh();
        const w = await walk(api, state);
        const mem = w.members.map((i) => m.getItem(i)).find((i) => i.label === broken);
        return mem && /UNREACHABLE/.test(mem.description ?? '') ? { mem, etcd: m.getItem(w.etcd) } : undefined;
      },
      150_000,
    );
    const instFailing = await until(
      'instance failing',
      async () => {
        api.model.refresh();
        const w = await walk(api, state);
        const inst = w.instances.map((i) => m.getItem(i)).find((i) => i.label === broken)!;
        return inst.icon?.id === 'error' ? inst : undefined;
      },
      150_000,
    );
    const failing = { inst: instFailing, mem: memberDown.mem, etcd: memberDown.etcd };
    assert.deepStrictEqual(failing.inst.icon, { id: 'error', color: 'errorForeground' });
    assert.match(failing.inst.description ?? '', /^FAILING/);
    assert.strictEqual(failing.mem.icon?.color, 'errorForeground');
    assert.match(failing.etcd.description ?? '', /2\/3 healthy/);
    // The status bar follows the tree and the open panel: degraded while the member is down.
    await until(
      'status bar 2/3',
      async () => (/etcd 2\/3/.test(api.statusBar.current?.text ?? '') ? true : undefined),
      60_000,
    );
    assert.strictEqual(api.statusBar.current?.level, 'degraded');

    // The panel marks the same endpoint failing (never healthy).
    const posted: HostToPanel[] = [];
    const envName = failing && (await walk(api, state)).env.key.replace(/^env:/, '');
    const c = api.panels.createController(envName, state.deployment, (x) => posted.push(x));
    await c.poll(1);
    c.dispose();
    const snap = posted.find((p) => p.type === 'snapshot');
    assert.ok(snap && snap.type === 'snapshot');
    const row = snap.snapshot.rows.find((r) => r.endpoint === victim.etcdClientUrl)!;
    assert.strictEqual(row.failing, true);
    assert.notStrictEqual(row.healthy, true);
    assert.strictEqual(snap.snapshot.rows.filter((r) => !r.failing).length, 2);

    await harness().heal(broken, { rebuild: true });
    broken = undefined;
    const healed = await until('all healthy again', async () => {
      api.model.refresh();
      const w = await walk(api, state);
      const items = w.instances.map((i) => m.getItem(i));
      const mems = w.members.map((i) => m.getItem(i));
      return items.every((i) => i.icon?.id === 'pass') &&
        mems.length === 3 &&
        mems.every((x) => /^(leader|follower)/.test(x.description ?? ''))
        ? m.getItem(w.etcd)
        : undefined;
    });
    assert.match(healed.description ?? '', /3\/3 healthy/);
  });
});
