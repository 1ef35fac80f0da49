// The extension manifest (package.json) is code too: a command referenced by a menu, a walkthrough
// or a view-welcome link that does not exist fails silently in VS Code. These checks fail loudly.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { REPO } from './fixture-path';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
const c = pkg.contributes;
const commandIds = new Set<string>(c.commands.map((x: { command: string }) => x.command));
/** `command:<id>` links in markdown-ish strings. */
const linkedCommands = (s: string) => [...s.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]);

describe('extension manifest', () => {
  it('asks for a VS Code the test host (1.100) satisfies', () => {
    assert.strictEqual(pkg.engines.vscode, '^1.100.0');
    const typesVersion = JSON.parse(
      fs.readFileSync(path.join(REPO, 'node_modules/@types/vscode/package.json'), 'utf8'),
    ).version;
    assert.match(typesVersion, /^1\.100\./, '@types/vscode must not be newer than the engine');
  });

  it('gives every command the "BOSH etcd" category', () => {
    for (const cmd of c.commands) assert.strictEqual(cmd.category, 'BOSH etcd', cmd.command);
  });

  it('menus only reference contributed commands', () => {
    for (const [menu, entries] of Object.entries<{ command: string }[]>(c.menus)) {
      for (const e of entries) assert.ok(commandIds.has(e.command), `${menu} references unknown ${e.command}`);
    }
  });

  it('has a first-use walkthrough (connect, look, recover) whose media and command links exist', () => {
    assert.strictEqual(c.walkthroughs.length, 1);
    const steps = c.walkthroughs[0].steps;
    assert.deepStrictEqual(
      steps.map((s: { id: string }) => s.id),
      ['connect', 'look', 'recover'],
    );
    for (const s of steps) {
      assert.ok(fs.existsSync(path.join(REPO, s.media.markdown)), `missing ${s.media.markdown}`);
      for (const id of linkedCommands(s.description)) {
        assert.ok(commandIds.has(id) || id.startsWith('workbench.'), `walkthrough ${s.id} links unknown ${id}`);
      }
    }
    // The recover step must link the wizard itself.
    assert.deepStrictEqual(linkedCommands(steps[2].description), ['boshEtcd.recoverMember']);
  });

  it('view-welcome links and settings are documented', () => {
    for (const w of c.viewsWelcome) for (const id of linkedCommands(w.contents)) assert.ok(commandIds.has(id), id);
    for (const [k, v] of Object.entries<{ description?: string; markdownDescription?: string }>(
      c.configuration.properties,
    )) {
      assert.ok((v.description || v.markdownDescription || '').length > 20, `${k} lacks a description`);
    }
  });

  it('ships the walkthrough media in the .vsix (media/** is allow-listed), the extension bundle, not the CLI bundle', () => {
    const ignore = fs.readFileSync(path.join(REPO, '.vscodeignore'), 'utf8');
    assert.match(ignore, /^!media\/\*\*$/m);
    assert.match(ignore, /^!dist\/extension\.js$/m);
    assert.match(ignore, /^!dist\/webviews\/\*\*\/\*\.js$/m);
    assert.ok(!/^!dist\/(\*\*\/\*\.js|cli\.js)$/m.test(ignore), 'dist/cli.js stays out of the .vsix');
  });
});
