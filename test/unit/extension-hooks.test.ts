// The test hooks activate() returns (the model, setUi, the extension context …) exist only under
// the test runners: a production activation exports nothing another extension could use. Loads the
// compiled extension (out/src/extension.js) with a permissive stand-in for the `vscode` module, the
// way bench/bundle.bench.ts does, since VS Code itself is not available in this tier.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import Module = require('module');

const REPO = path.resolve(__dirname, '..', '..', '..');
const EXTENSION = path.resolve(__dirname, '..', '..', 'src', 'extension.js');

/** Every API call answers another stub; numbers read as 0, so no timer starts. */
function stub(name: string): unknown {
  const cache: Record<string | symbol, unknown> = {};
  return new Proxy(function () {}, {
    get(_t, p) {
      if (p === 'then') return undefined;
      if (p === Symbol.toPrimitive) return (hint: string) => (hint === 'number' ? 0 : '');
      if (p === Symbol.iterator)
        return function* () {
          /* empty */
        };
      if (p === 'prototype') return {};
      if (typeof p === 'symbol') return undefined;
      if (!(p in cache)) cache[p] = stub(`${name}.${p}`);
      return cache[p];
    },
    set(_t, p, v) {
      cache[p] = v;
      return true;
    },
    apply: () => stub(`${name}()`),
    construct: () => stub(`new ${name}`) as object,
  });
}

/** A plain object with the real API's top-level names (the compiled import copies own keys). */
function vscodeStub(): Record<string, unknown> {
  const dts = fs.readFileSync(path.join(REPO, 'node_modules', '@types', 'vscode', 'index.d.ts'), 'utf8');
  const api: Record<string, unknown> = {};
  for (const m of dts.matchAll(/^\t?export (?:namespace|class|enum|const|function|let) (\w+)/gm))
    api[m[1]] = stub(`vscode.${m[1]}`);
  return api;
}

function context(): { subscriptions: { dispose(): unknown }[] } & Record<string, unknown> {
  const memento = { get: (_k: string, d: unknown) => d, update: async () => undefined, keys: () => [] };
  return {
    subscriptions: [],
    extensionPath: REPO,
    extensionUri: stub('extensionUri'),
    globalStorageUri: { fsPath: path.join(REPO, '.no-such-storage') },
    globalState: memento,
    workspaceState: memento,
    secrets: { get: async () => undefined, store: async () => undefined },
  };
}

type Activate = (ctx: unknown) => unknown;

describe('extension: test hooks only under the test runners', () => {
  const loader = Module as unknown as { _load: (req: string, ...rest: unknown[]) => unknown };
  const originalLoad = loader._load;
  const saved = process.env.BOSH_ETCD_TEST_HOOKS;
  let activate: Activate;

  before(() => {
    const api = vscodeStub();
    loader._load = function (req: string, ...rest: unknown[]) {
      return req === 'vscode' ? api : originalLoad.call(this, req, ...rest);
    };
    delete require.cache[EXTENSION];
    activate = (require(EXTENSION) as { activate: Activate }).activate;
  });

  after(() => {
    loader._load = originalLoad;
    if (saved === undefined) delete process.env.BOSH_ETCD_TEST_HOOKS;
    else process.env.BOSH_ETCD_TEST_HOOKS = saved;
  });

  function run(hooks: string | undefined): { exported: unknown; registered: number } {
    if (hooks === undefined) delete process.env.BOSH_ETCD_TEST_HOOKS;
    else process.env.BOSH_ETCD_TEST_HOOKS = hooks;
    const ctx = context();
    const exported = activate(ctx);
    const registered = ctx.subscriptions.length;
    for (const s of ctx.subscriptions) s.dispose();
    return { exported, registered };
  }

  it('a production activation registers everything and exports nothing', () => {
    const { exported, registered } = run(undefined);
    assert.strictEqual(exported, undefined);
    assert.ok(registered > 10, `activate() registered ${registered} disposables`);
    assert.strictEqual(run('0').exported, undefined, 'only the value 1 turns the hooks on');
  });

  it('with BOSH_ETCD_TEST_HOOKS=1 (set by test/runners for the extension host) it exports the hooks', () => {
    const { exported } = run('1');
    const api = exported as Record<string, unknown>;
    assert.ok(api, 'activate() returned the hooks');
    assert.strictEqual(typeof api.setUi, 'function');
    for (const k of ['container', 'model', 'panels', 'statusBar', 'wizard', 'maintenance', 'treeView'])
      assert.ok(api[k], `hooks include ${k}`);
  });
});
