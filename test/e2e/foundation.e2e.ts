// Foundation e2e: the packaged .vsix installs into code-server, activates, its command runs from
// the command palette, and the BOSH view opens. Screenshot: artifacts/screenshots/foundation-bosh-view.png
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  EXTENSION_ID,
  Workbench,
  errorsShown,
  expandTreeRow,
  extensionHostLog,
  failureScreenshot,
  openBoshView,
  openWorkbench,
  runCommand,
  screenshot,
  waitForTreeRow,
} from './lib';

function listFiles(dir: string, base = dir): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? listFiles(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))],
    );
}

async function until<T>(what: string, timeoutMs: number, f: () => T | undefined | false): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('foundation: packaged extension in code-server', function () {
  let wb: Workbench | undefined;

  before(async function () {
    wb = await openWorkbench();
  });
  afterEach(async function () {
    await failureScreenshot(wb, this);
  });
  after(async function () {
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed');
    await wb?.close({ keep: failed });
  });

  it('installs only what runs: bundle, protos, media, manifest, README, LICENSE', function () {
    const files = listFiles(wb!.installedExtensionPath);
    for (const f of [
      'package.json',
      'dist/extension.js',
      'proto/rpc.proto',
      'proto/kv.proto',
      'proto/auth.proto',
      'media/bosh.svg',
    ]) {
      assert.ok(files.includes(f), `${f} installed (files: ${files.join(', ')})`);
    }
    const readme = files.find((f) => /^readme\.md$/i.test(f));
    assert.ok(readme, 'README installed');
    // The README's pictures are relative links (not rewritten by vsce): each must be in the package.
    const images = [
      ...fs.readFileSync(path.join(wb!.installedExtensionPath, readme!), 'utf8').matchAll(/\]\((docs\/[^)]+\.png)\)/g),
    ].map((m) => m[1]);
    assert.ok(images.length >= 3, 'README shows screenshots');
    for (const img of images) assert.ok(files.includes(img), `README image ${img} is in the .vsix`);
    assert.ok(
      files.some((f) => /^license/i.test(f)),
      'LICENSE installed',
    );
    const unwanted = files.filter(
      (f) =>
        /^(src|test|out|tools|bench|scripts|artifacts|node_modules)\//.test(f) ||
        f.endsWith('.map') ||
        f.endsWith('.ts'),
    );
    assert.deepStrictEqual(unwanted, [], 'no sources, tests, maps or node_modules in the .vsix');
    const pkg = JSON.parse(fs.readFileSync(path.join(wb!.installedExtensionPath, 'package.json'), 'utf8'));
    assert.strictEqual(`${pkg.publisher}.${pkg.name}`, EXTENSION_ID);
  });

  it("the installed copy of etcd3's protos loads with the bundle's own proto loader", function () {
    // etcd3 loads `${__dirname}/../proto/rpc.proto` (dist/../proto) when its module is first used:
    // load the installed files the same way, with @grpc/proto-loader as bundled.

    const loader = require('@grpc/proto-loader') as { loadSync(f: string, o: object): Record<string, unknown> };
    const def = loader.loadSync(path.join(wb!.installedExtensionPath, 'dist', '..', 'proto', 'rpc.proto'), {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    for (const svc of ['etcdserverpb.KV', 'etcdserverpb.Cluster', 'etcdserverpb.Maintenance'])
      assert.ok(def[svc], `service ${svc} in rpc.proto`);
    const bundle = fs.readFileSync(path.join(wb!.installedExtensionPath, 'dist', 'extension.js'), 'utf8');
    assert.ok(
      !/require\(["'](ssh2|etcd3)["']\)/.test(bundle),
      'ssh2/etcd3 are bundled, not required from node_modules',
    );
  });

  it('opens the BOSH view from its activity-bar entry', async function () {
    const page = wb!.page;
    const title = await (await openBoshView(page)).innerText();
    assert.match(title, /BOSH/i, `side bar title: ${title}`);
    assert.match(title, /Environments/i, `side bar shows the Environments view: ${title}`);
    if (wb!.testbed) {
      // Configured only by the bosh CLI environment: the Director is there, with the deployment.
      const host = new URL(wb!.testbed.director.url).host;
      const env = await waitForTreeRow(page, host);
      await expandTreeRow(env);
      await waitForTreeRow(page, wb!.testbed.deployment);
    } else {
      // Without a testbed: the welcome text that says how to add an environment.
      await page.locator('.sidebar .pane-body', { hasText: 'BOSH_ENVIRONMENT' }).first().waitFor({ timeout: 30_000 });
    }
    // Opening the view activates the extension; picture it once activation has finished.
    await page
      .locator('.statusbar', { hasText: 'Activating Extensions' })
      .waitFor({ state: 'hidden', timeout: 30_000 })
      .catch(() => undefined);
    await page.waitForTimeout(500); // let the tree paint before the picture
    const file = await screenshot(page, 'foundation-bosh-view');
    assert.ok(fs.statSync(file).size > 10_000, `screenshot written: ${file}`);
  });
  it('runs "BOSH etcd: Refresh" from the command palette without an error, in the activated extension', async function () {
    const page = wb!.page;
    await page
      .locator('.monaco-workbench')
      .click({ position: { x: 700, y: 450 } })
      .catch(() => undefined);
    await runCommand(page, 'BOSH etcd: Refresh');
    // VS Code logs each activation with its reason in the extension host log.
    const line = await until('the activation of the extension in the extension host log', 30_000, () =>
      extensionHostLog(wb!)
        .split('\n')
        .find((l) => l.includes(`_doActivateExtension ${EXTENSION_ID}`)),
    );
    assert.match(line, /onCommand:boshEtcd\.refresh|onView:boshEtcd\.explorer/, `activated by the command: ${line}`);
    const log = extensionHostLog(wb!);
    assert.ok(
      !new RegExp(`Activating extension '?${EXTENSION_ID.replace('.', '\\.')}'? failed`, 'i').test(log),
      `activation failed:\n${log
        .split('\n')
        .filter((l) => /fail|error/i.test(l))
        .slice(0, 20)
        .join('\n')}`,
    );
    // A command that throws, or that activation did not register, ends in a modal error dialog
    // ("Command 'BOSH etcd: Refresh' resulted in an error"); for an unregistered command VS Code
    // waits a few seconds for the registration first. Watch for it for 10 s.
    for (let i = 0; i < 40; i++) {
      const errors = await errorsShown(page);
      assert.deepStrictEqual(errors, [], 'no error dialog or notification after running the command');
      await page.waitForTimeout(250);
    }
  });
});
