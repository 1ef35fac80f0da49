// Bundle size and load/activation time of the extension bundle.
//
// What is measured, honestly:
// - Sizes (printed in setup): dist/extension.js and dist/cli.js as `npm run package` builds them
//   (esbuild --production: minified, no maps), raw and gzip, built afresh into a temp folder; the
//   .vsix size of the last `npm run package` if there is one.
// - "load": require() of the bundle in a FRESH node process (the child measures from just before
//   require() to just after, so node's own start-up is excluded). Baseline = development bundle
//   (not minified, inline source map comment), candidate = production bundle (minified).
// - "activate()": in the same kind of child, after the load, activate(context) until its promise settles, with `vscode`
//   replaced by a permissive stub (every API call returns another stub). That is the extension's own
//   work (module init, container, registrations), NOT VS Code's: the real extension host adds its
//   own bookkeeping (and code-server's adds IPC), not included here.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import type { Benchmark } from './index';

const REPO = path.resolve(__dirname, '..', '..');
let work = '';

async function buildVariant(kind: 'dev' | 'prod'): Promise<string> {
  const esbuild = require('esbuild') as typeof import('esbuild');
  const root = path.join(work, kind);
  fs.mkdirSync(path.join(root, 'proto'), { recursive: true });
  for (const f of fs.readdirSync(path.join(REPO, 'node_modules', 'etcd3', 'proto'))) {
    fs.copyFileSync(path.join(REPO, 'node_modules', 'etcd3', 'proto', f), path.join(root, 'proto', f));
  }
  const common = {
    bundle: true,
    platform: 'node' as const,
    target: 'node20',
    format: 'cjs' as const,
    logLevel: 'error' as const,
    minify: kind === 'prod',
    sourcemap: kind === 'dev' ? ('inline' as const) : false,
    sourcesContent: false,
    external: ['vscode', 'cpu-features', '*.node'],
    absWorkingDir: REPO,
  };
  await esbuild.build({
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: path.join(root, 'dist', 'extension.js'),
  });
  if (kind === 'prod')
    await esbuild.build({ ...common, entryPoints: ['src/cli.ts'], outfile: path.join(root, 'dist', 'cli.js') });
  return path.join(root, 'dist', 'extension.js');
}

// The child: stub `vscode`, time require() and activate(), print JSON.
const CHILD = String.raw`
const Module = require('module');
const path = require('path');
const [bundle, doActivate] = [process.argv[2], process.argv[3] === '1'];
function target() { const f = function () {}; f.__c = {}; return f; }
function stub(name) {
  const fn = target();
  return new Proxy(fn, {
    get(t, p) {
      if (p === 'then') return undefined;                 // not a thenable
      if (p === Symbol.toPrimitive) return (h) => (h === 'number' ? 0 : '');
      if (p === Symbol.iterator) return function* () {};
      if (p === 'length') return 0;
      if (p === 'prototype') return {};
      if (typeof p === 'symbol') return undefined;
      if (!(p in t.__c)) t.__c[p] = stub(name + '.' + String(p));
      return t.__c[p];
    },
    set(t, p, v) { t.__c[p] = v; return true; },
    apply() { return stub(name + '()'); },
    construct() { return stub('new ' + name); },
  });
}
// A plain object with every top-level name of the real API (esbuild's __toESM copies own keys),
// each a permissive stub.
const vscode = {};
for (const n of JSON.parse(require('fs').readFileSync(path.join(__dirname, 'vscode-names.json'), 'utf8'))) vscode[n] = stub('vscode.' + n);
const origLoad = Module._load;
Module._load = function (req) { return req === 'vscode' ? vscode : origLoad.apply(this, arguments); };
const root = path.dirname(path.dirname(bundle));
const memento = { get: (k, d) => d, update: async () => {}, keys: () => [], setKeysForSync() {} };
const context = new Proxy({ subscriptions: [], extensionPath: root, asAbsolutePath: (p) => path.join(root, p),
  globalState: memento, workspaceState: memento, extensionMode: 1,
  secrets: { get: async () => undefined, store: async () => {}, delete: async () => {}, onDidChange: () => ({ dispose() {} }) } },
  { get(t, p) { return p in t ? t[p] : vscode[p]; } });
const t0 = process.hrtime.bigint();
const ext = require(bundle);
const t1 = process.hrtime.bigint();
let error = null;
(async () => {
  if (doActivate) { try { await ext.activate(context); } catch (e) { error = String(e && e.message || e); } }
  const t2 = process.hrtime.bigint();
  process.stdout.write(JSON.stringify({ loadMs: Number(t1 - t0) / 1e6, activateMs: Number(t2 - t1) / 1e6, error }));
  process.exit(0);
})();
`;

function runChild(bundle: string, activate: boolean): number {
  const r = spawnSync(process.execPath, [path.join(work, 'child.js'), bundle, activate ? '1' : '0'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`bundle load failed: ${r.stderr || r.stdout}`);
  const res = JSON.parse(r.stdout) as { loadMs: number; activateMs: number; error: string | null };
  if (res.error) throw new Error(`activate() threw with the vscode stub: ${res.error}`);
  return activate ? res.activateMs : res.loadMs;
}

let devBundle = '';
let prodBundle = '';
const kb = (n: number): string => `${(n / 1024).toFixed(0)} KB`;

async function setup(): Promise<void> {
  if (devBundle) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-etcd-bench-bundle-'));
  fs.writeFileSync(path.join(work, 'child.js'), CHILD);
  // Top-level names of the vscode API (namespaces, classes, enums, functions) for the stub.
  const dts = fs.readFileSync(path.join(REPO, 'node_modules', '@types', 'vscode', 'index.d.ts'), 'utf8');
  const names = new Set<string>();
  for (const m of dts.matchAll(/^\t?export (?:namespace|class|enum|const|function|let) (\w+)/gm)) names.add(m[1]);
  fs.writeFileSync(path.join(work, 'vscode-names.json'), JSON.stringify([...names]));
  devBundle = await buildVariant('dev');
  prodBundle = await buildVariant('prod');
  const size = (f: string): string => {
    const b = fs.readFileSync(f);
    return `${kb(b.length)} (gzip ${kb(zlib.gzipSync(b).length)})`;
  };
  console.log(
    `\n[bundle] production dist/extension.js ${size(prodBundle)}; dist/cli.js ${size(path.join(path.dirname(prodBundle), 'cli.js'))}; development dist/extension.js (inline map) ${size(devBundle)}`,
  );
  const vsix = path.join(REPO, 'dist-vsix', 'bosh-etcd.vsix');
  if (fs.existsSync(vsix))
    console.log(
      `[bundle] .vsix of the last \`npm run package\` (${fs.statSync(vsix).mtime.toISOString()}): ${kb(fs.statSync(vsix).size)}`,
    );
  console.log(
    "[bundle] load = require() of the bundle in a fresh node process (start-up excluded); activate() is timed separately after the load, with a stubbed vscode module (the extension's own work, not VS Code's). Baseline = development bundle, candidate = production bundle.",
  );
}

async function teardown(): Promise<void> {
  if (work) fs.rmSync(work, { recursive: true, force: true });
  work = '';
  devBundle = '';
  prodBundle = '';
}

export const benchmarks: Benchmark[] = [
  {
    name: 'bundle load: require(dist/extension.js), dev → prod build',
    iterations: 15,
    setup,
    teardown,
    baseline: async () => runChild(devBundle, false),
    candidate: async () => runChild(prodBundle, false),
  },
  {
    name: 'activate() after load (vscode stubbed), dev → prod build',
    iterations: 15,
    setup,
    teardown,
    baseline: async () => runChild(devBundle, true),
    candidate: async () => runChild(prodBundle, true),
  },
];
