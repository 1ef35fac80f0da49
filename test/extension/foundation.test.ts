// Foundation checks, inside a real VS Code extension host (code-server's Node extension host, or
// VS Code desktop with BOSH_ETCD_VSCODE_HOST=electron). Runs first (index.ts orders it), so the
// extension has not been activated by another suite yet.
import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as vscode from 'vscode';
import { networkActivity, networkMark } from './index';
import { EXTENSION_ID } from './helpers';

interface CommandContribution {
  command: string;
  title: string;
  category?: string;
  icon?: string;
}
interface SettingSchema {
  description?: string;
  markdownDescription?: string;
  default?: unknown;
  items?: { properties?: Record<string, SettingSchema> };
  properties?: Record<string, SettingSchema>;
}

function extension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(
    ext,
    `extension ${EXTENSION_ID} is not installed in this host (engines.vscode incompatible with ${vscode.version}?)`,
  );
  return ext;
}

suite('foundation', () => {
  test('the extension is present in a Node workspace extension host', () => {
    const ext = extension();
    assert.strictEqual(ext.extensionKind, vscode.ExtensionKind.Workspace);
    assert.match(process.versions.node, /^20\./, 'the extension host runs on node 20');
    assert.strictEqual(typeof require, 'function', 'a Node extension host, not a web worker');
    assert.ok(
      fs.existsSync(path.join(ext.extensionPath, ext.packageJSON.main)),
      `bundle ${ext.packageJSON.main} exists (run node esbuild.js)`,
    );
    // etcd3 reads ${__dirname}/../proto/rpc.proto at load time: the build copies the files beside dist/.
    for (const f of ['rpc.proto', 'kv.proto', 'auth.proto']) {
      assert.ok(fs.existsSync(path.join(ext.extensionPath, 'proto', f)), `proto/${f} shipped beside the bundle`);
    }
  });

  test('activation is lazy, succeeds, and makes no network connection', async () => {
    const ext = extension();
    const events: string[] = ext.packageJSON.activationEvents ?? [];
    assert.ok(
      !events.includes('*') && !events.includes('onStartupFinished'),
      `activationEvents must not activate eagerly: ${JSON.stringify(events)}`,
    );
    assert.strictEqual(ext.isActive, false, 'nothing activated the extension before this test (no eager activation)');
    const mark = networkMark();
    await ext.activate();
    assert.strictEqual(ext.isActive, true);
    // Work kicked off by activate() without awaiting it (timers, promises) gets a moment to show up.
    await new Promise((r) => setTimeout(r, 1500));
    const seen = networkActivity(mark);
    assert.deepStrictEqual(
      seen.map((e) => `${e.kind} ${e.target}`),
      [],
      `activation must do no network; seen:\n${seen.map((e) => `${e.kind} ${e.target}\n${e.stack}`).join('\n')}`,
    );
  });

  test('the network recorder used above does see connections and lookups (control)', async () => {
    const mark = networkMark();
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get(`http://localhost:${port}/`, (res) => {
            let b = '';
            res.on('data', (d) => (b += d));
            res.on('end', () => resolve(b));
          })
          .on('error', reject);
      });
      assert.strictEqual(body, 'ok');
    } finally {
      server.close();
    }
    const seen = networkActivity(mark).map((e) => `${e.kind} ${e.target}`);
    assert.ok(
      seen.includes(`tcp-connect localhost:${port}`) ||
        seen.some((s) => s.startsWith('tcp-connect') && s.endsWith(`:${port}`)),
      `tcp connect recorded: ${JSON.stringify(seen)}`,
    );
    assert.ok(seen.includes('dns-lookup localhost'), `dns lookup recorded: ${JSON.stringify(seen)}`);
  });

  test('contributes the BOSH view container with the Environments view, and VS Code registered both', async () => {
    const pkg = extension().packageJSON;
    const container = (
      pkg.contributes.viewsContainers.activitybar as { id: string; title: string; icon: string }[]
    ).find((c) => c.id === 'boshEtcd');
    assert.ok(container, 'activity-bar container boshEtcd');
    assert.strictEqual(container.title, 'BOSH');
    assert.ok(fs.existsSync(path.join(extension().extensionPath, container.icon)), `icon ${container.icon} exists`);
    assert.ok(
      (pkg.contributes.views.boshEtcd as { id: string }[]).some((v) => v.id === 'boshEtcd.explorer'),
      'view boshEtcd.explorer in the container',
    );
    const all = await vscode.commands.getCommands(false);
    // The workbench generates these commands only for containers and views it registered.
    assert.ok(all.includes('workbench.view.extension.boshEtcd'), 'workbench registered the BOSH container');
    assert.ok(all.includes('boshEtcd.explorer.focus'), 'workbench registered the Environments view');
    await vscode.commands.executeCommand('workbench.view.extension.boshEtcd');
  });

  test('every contributed command has category "BOSH etcd" and is registered once active', async () => {
    const ext = extension();
    await ext.activate();
    const commands = ext.packageJSON.contributes.commands as CommandContribution[];
    assert.ok(commands.length > 0);
    const wrongCategory = commands.filter((c) => c.category !== 'BOSH etcd').map((c) => c.command);
    assert.deepStrictEqual(wrongCategory, [], 'commands without category "BOSH etcd"');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = commands.map((c) => c.command).filter((id) => !registered.has(id));
    assert.deepStrictEqual(missing, [], 'contributed in package.json but not registered by activate()');
    // Commands shown in a view's title or inline have an icon.
    const menus = ext.packageJSON.contributes.menus as Record<string, { command: string; group?: string }[]>;
    const shownAsIcon = [
      ...(menus['view/title'] ?? []),
      ...(menus['view/item/context'] ?? []).filter((m) => m.group?.startsWith('inline')),
    ].map((m) => m.command);
    const noIcon = commands.filter((c) => shownAsIcon.includes(c.command) && !c.icon).map((c) => c.command);
    assert.deepStrictEqual(noIcon, [], 'commands shown as view icons need an icon');
  });

  test('every setting has a description and VS Code knows its default', () => {
    const cfg = extension().packageJSON.contributes.configuration;
    const props = cfg.properties as Record<string, SettingSchema>;
    const keys = Object.keys(props);
    assert.ok(keys.length > 0);
    const undocumented: string[] = [];
    const check = (name: string, s: SettingSchema): void => {
      if (!(s.description || s.markdownDescription)) undocumented.push(name);
      for (const [k, sub] of Object.entries(s.items?.properties ?? s.properties ?? {})) check(`${name}.${k}`, sub);
    };
    for (const k of keys) check(k, props[k]);
    assert.deepStrictEqual(undocumented, [], 'settings without a description');
    for (const k of keys) {
      assert.ok(k.startsWith('boshEtcd.'), `${k} is under boshEtcd.`);
      const inspected = vscode.workspace.getConfiguration().inspect(k);
      assert.ok(inspected, `VS Code registered setting ${k}`);
      assert.deepStrictEqual(inspected.defaultValue, props[k].default, `default of ${k}`);
    }
  });

  if (process.env.BOSH_ETCD_DELIBERATE_FAILURE === '1') {
    // Proves that a failing extension test fails `npm test` (README, "Testing").
    test('deliberate failure (BOSH_ETCD_DELIBERATE_FAILURE=1)', () => {
      assert.strictEqual(1 + 1, 3, 'this test fails on purpose');
    });
  }
});
