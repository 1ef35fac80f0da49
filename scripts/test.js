#!/usr/bin/env node
// `npm test` (after scripts/setup.sh): compile, build, then the four test tiers in order.
//
//   node scripts/test.js                 all tiers
//   node scripts/test.js unit e2e        some tiers (unit | testbed | extension | e2e)
//
// 1 unit       mocha in plain Node            test/unit/.mocharc.json     (out/test/unit/**/*.test.js)
// 2 testbed    mocha in plain Node + testbed  test/testbed/.mocharc.json  (its root hook brings the testbed up/down):
//              every suite on etcd 3.5 (TKGI 1.13+), and a pass on etcd 3.4 (TKGI 1.8-1.12) of the
//              recovery, diagnosis and etcd/health suites and the key quorum-restore scenario
//              (test/testbed/.mocharc.etcd-3.4.json); both with
//              etcd authentication on, as TKGI's etcd job sets it up
// 3 extension  mocha inside a VS Code extension host (code-server, or BOSH_ETCD_VSCODE_HOST=electron),
//              with a testbed on 127.0.1 (out/test/runners/extensionTier.js)
// 4 e2e        the packaged .vsix in code-server, driven by headless chromium, testbed on 127.0.9
//              (out/test/runners/e2eTier.js; screenshots in artifacts/screenshots/)
//
// Before the tiers: lint, format check and layering check (BOSH_ETCD_SKIP_STATIC=1 skips them).
// The slow tiers run in two lanes at once, each on its own testbed nets (they mostly wait on monit's
// 10 s cycle and on etcd, not on the CPU): lane 1 is the etcd 3.5 testbed pass; lane 2 the etcd 3.4
// pass (net 127.7.0), the 3.5 suites of .mocharc.etcd-3.5-lane2.json (net 127.0.7), then the
// extension tier. Lane 1 prints live, lane 2 each tier as a block when it ends (BOSH_ETCD_SERIAL=1
// runs everything one after the other). e2e runs last, alone.
// Each tier prints mocha's summary line; a table of all tiers comes last, then the title and first
// error line of every failing test. Exit 1 if compilation,
// the build or any tier failed. A tier with no spec files yet is reported as "no tests" (neither a
// pass nor a failure); a tier whose tests cannot run (missing config, build) fails.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const REPO = path.resolve(__dirname, '..');
process.chdir(REPO);
const ALL = ['unit', 'testbed', 'extension', 'e2e'];
const args = process.argv.slice(2);
const unknown = args.filter((a) => !ALL.includes(a));
if (unknown.length) {
  console.error(`Unknown tier(s): ${unknown.join(', ')}. Use any of: ${ALL.join(' ')}`);
  process.exit(2);
}
const selected = args.length ? ALL.filter((t) => args.includes(t)) : ALL;

// The testbed tier's passes: [label, etcd version, mocha config, lane, own testbed net/dir, mocha args].
// The extension and e2e tiers run on 3.5. Every pass has its own tier net and dir so that passes can
// run side by side (extra testbeds of a suite derive their nets from the tier's by adding to the
// second octet, keeping the third). The 3.5 suites are split across the lanes: lane 2 takes the files
// of .mocharc.etcd-3.5-lane2.json, lane 1 every other file of .mocharc.json.
const LANE2_CONFIG = 'test/testbed/.mocharc.etcd-3.5-lane2.json';
const lane2Specs = () => JSON.parse(fs.readFileSync(path.join(REPO, LANE2_CONFIG), 'utf8')).spec;
const tbDir = (name) => path.join(REPO, '.testbed', name);
const TESTBED_PASSES = [
  [
    'etcd 3.5',
    '3.5',
    'test/testbed/.mocharc.json',
    0,
    { BOSH_ETCD_TESTBED_DIR: tbDir('etcd-3.5') },
    () => lane2Specs().flatMap((f) => ['--ignore', f]),
  ],
  [
    'etcd 3.4',
    '3.4',
    'test/testbed/.mocharc.etcd-3.4.json',
    1,
    { BOSH_ETCD_TESTBED_NET: '127.7.0', BOSH_ETCD_TESTBED_DIR: tbDir('etcd-3.4') },
  ],
  [
    'etcd 3.5, lane 2',
    '3.5',
    LANE2_CONFIG,
    1,
    { BOSH_ETCD_TESTBED_NET: '127.0.7', BOSH_ETCD_TESTBED_DIR: tbDir('etcd-3.5-lane2') },
  ],
];
const SERIAL = process.env.BOSH_ETCD_SERIAL === '1';
const ON_ETCD_35 = { BOSH_ETCD_TESTBED_ETCD: '3.5' };

const bin = (name) => path.join(REPO, 'node_modules', '.bin', name);
const rows = [];
const children = new Set();

// Runs one command. With opts.quiet its output is kept and printed as one block when it ends (a
// lane running beside another); otherwise it is printed as it comes.
function run(label, cmd, cmdArgs, opts = {}) {
  return new Promise((resolve) => {
    const shown = cmd === process.execPath ? 'node' : cmd.startsWith(REPO + path.sep) ? path.relative(REPO, cmd) : cmd;
    const header = `\n=== ${label}: ${[shown, ...cmdArgs].join(' ')}`;
    if (opts.quiet) console.log(`${header}\n    (runs beside the other lane; its output follows when it ends)`);
    else console.log(header);
    const t0 = Date.now();
    let out = '';
    const child = spawn(cmd, cmdArgs, {
      cwd: REPO,
      env: { ...process.env, ...(opts.env || {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const tee = (stream) => (d) => {
      out += d;
      if (!opts.quiet) stream.write(d);
    };
    child.stdout.on('data', tee(process.stdout));
    child.stderr.on('data', tee(process.stderr));
    child.on('close', (code, signal) => {
      children.delete(child);
      if (opts.quiet)
        process.stdout.write(`${header}  (ended after ${((Date.now() - t0) / 1000).toFixed(0)} s)\n${out}`);
      resolve({ code: code ?? (signal ? 128 : 1), out, ms: Date.now() - t0 });
    });
    child.on('error', (e) => {
      out += String(e);
    });
  });
}

// Mocha's summary: "  12 passing (3s)", "  1 failing", "  2 pending" — take the last of each.
function summary(out) {
  const last = (re) => {
    let m, v;
    const g = new RegExp(re, 'gm');
    while ((m = g.exec(out))) v = Number(m[1]);
    return v;
  };
  return {
    passing: last('^\\s*(\\d+) passing'),
    failing: last('^\\s*(\\d+) failing'),
    pending: last('^\\s*(\\d+) pending'),
  };
}

function findFiles(dir, suffix) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findFiles(p, suffix));
    else if (e.name.endsWith(suffix)) out.push(p);
  }
  return out;
}
// Compiled specs whose TypeScript source still exists (out/ may hold files of deleted sources).
function specs(outDir, suffix) {
  return findFiles(path.join(REPO, outDir), suffix).filter((f) =>
    fs.existsSync(path.join(REPO, path.relative(path.join(REPO, 'out'), f)).replace(/\.js$/, '.ts')),
  );
}

// The failing tests of a mocha run, as mocha's spec reporter lists them after "N failing": the
// numbered title lines and the first line of the error, so that the end of a long log names them.
function failures(out) {
  const at = out.search(/^\s*\d+ failing/m);
  if (at < 0) return [];
  const found = [];
  let cur = null;
  // Each failure: "  N) title" and more indented title lines, the last ending in ':', then the error.
  for (const line of out.slice(at).split('\n').slice(1)) {
    const head = /^\s{2}(\d+)\) (.*)$/.exec(line);
    const t = line.trim();
    if (head) {
      cur = { title: [], error: '', inTitle: true };
      found.push(cur);
    }
    if (!cur || !t) continue;
    if (cur.inTitle) {
      cur.title.push((head ? head[2].trim() : t).replace(/:$/, ''));
      if (t.endsWith(':')) cur.inTitle = false;
    } else if (!cur.error) cur.error = t.slice(0, 900);
  }
  return found.map((f) => `${f.title.join(' › ')}${f.error ? `\n      ${f.error}` : ''}`);
}

// A row's place in the table is reserved when its tier starts, so the table keeps the tiers' order
// even when lanes end in another order.
function slot(tier) {
  const row = { tier };
  rows.push(row);
  return row;
}

function record(row, res, note = '') {
  const s = summary(res.out);
  let result;
  if (res.code === 0 && (s.passing || 0) > 0 && !s.failing) result = 'passed';
  else if (res.code === 0 && !s.passing) result = 'no tests';
  else result = 'FAILED';
  Object.assign(row, { result, ...s, seconds: (res.ms / 1000).toFixed(1), note, failures: failures(res.out) });
  return result;
}

async function mochaTier(tier, config, specDir, suffix, env = {}, opts = {}) {
  const row = opts.row || slot(tier);
  if (!fs.existsSync(path.join(REPO, config))) {
    Object.assign(row, { result: 'no tests', note: `${config} not present yet` });
    console.log(`\n=== ${tier}: ${config} not present yet, nothing to run`);
    return;
  }
  if (specs(specDir, suffix).length === 0) {
    Object.assign(row, { result: 'no tests', note: `no ${specDir}/**/*${suffix} yet` });
    console.log(`\n=== ${tier}: no spec files in ${specDir} yet, nothing to run`);
    return;
  }
  const res = await run(tier, bin('mocha'), ['--config', config, ...(opts.args || [])], { env, ...opts });
  record(row, res);
}

// Static checks first: lint (ESLint), format (Prettier) and the layering rules (dependency-cruiser).
// A failure fails the run, but the tiers still run so one report shows everything.
async function staticChecks() {
  const checks = [
    ['lint', bin('eslint'), ['.']],
    ['format', bin('prettier'), ['--check', '.']],
    ['layers', bin('depcruise'), ['src', '--config', '.dependency-cruiser.cjs']],
  ];
  for (const [label, cmd, args] of checks) {
    const res = await run(label, cmd, args);
    rows.push({
      tier: label,
      result: res.code === 0 ? 'ok' : 'FAILED',
      seconds: (res.ms / 1000).toFixed(1),
      note:
        res.code === 0 ? '' : `npm run ${label === 'layers' ? 'lint:layers' : label === 'format' ? 'format' : 'lint'}`,
    });
  }
}

async function main() {
  const t0 = Date.now();
  if (process.env.BOSH_ETCD_SKIP_STATIC !== '1') await staticChecks();
  const compile = await run('compile', bin('tsc'), ['-p', '.']);
  // tsc still emits JavaScript when there are type errors; the tiers run, but the run fails.
  rows.push({
    tier: 'compile',
    result: compile.code === 0 ? 'ok' : 'FAILED',
    seconds: (compile.ms / 1000).toFixed(1),
    note: compile.code === 0 ? '' : 'type errors (see above)',
  });
  let built = true;
  if (selected.some((t) => t === 'extension')) {
    const build = await run('build', process.execPath, ['esbuild.js']);
    built = build.code === 0;
    rows.push({ tier: 'build', result: built ? 'ok' : 'FAILED', seconds: (build.ms / 1000).toFixed(1) });
  }
  if (selected.includes('unit')) await mochaTier('unit', 'test/unit/.mocharc.json', 'out/test/unit', '.test.js');
  // The two lanes (see the header). Rows are reserved in the tiers' order before the lanes start.
  const lanes = [[], []];
  if (selected.includes('testbed')) {
    for (const [label, version, config, lane, env, extra] of TESTBED_PASSES) {
      const tier = `testbed (${label})`;
      const row = slot(tier);
      lanes[lane].push((opts) =>
        mochaTier(
          tier,
          config,
          'out/test/testbed',
          '.test.js',
          { BOSH_ETCD_TESTBED_ETCD: version, ...env },
          {
            ...opts,
            row,
            args: extra ? extra() : [],
          },
        ),
      );
    }
  }
  if (selected.includes('extension')) {
    const row = slot('extension');
    lanes[1].push(async (opts) => {
      if (!built) return Object.assign(row, { result: 'FAILED', note: 'build failed' });
      record(
        row,
        await run('extension', process.execPath, ['out/test/runners/extensionTier.js'], { env: ON_ETCD_35, ...opts }),
      );
    });
  }
  const runLane = async (jobs, quiet) => {
    for (const job of jobs) await job({ quiet });
  };
  if (SERIAL || !lanes[0].length || !lanes[1].length) {
    for (const lane of lanes) await runLane(lane, false);
  } else {
    await Promise.all([runLane(lanes[0], false), runLane(lanes[1], true)]);
  }
  if (selected.includes('e2e')) {
    const pkgRow = slot('package');
    const row = slot('e2e');
    const pkg = await run('package', 'npm', ['run', '--silent', 'package']);
    Object.assign(pkgRow, {
      result: pkg.code === 0 ? 'ok' : 'FAILED',
      seconds: (pkg.ms / 1000).toFixed(1),
      note: vsixNote(),
    });
    if (pkg.code !== 0) Object.assign(row, { result: 'FAILED', note: 'npm run package failed' });
    else record(row, await run('e2e', process.execPath, ['out/test/runners/e2eTier.js'], { env: ON_ETCD_35 }));
  }
  printTable(Date.now() - t0);
  const failed = rows.some((r) => r.result === 'FAILED');
  process.exit(failed ? 1 : 0);
}

function vsixNote() {
  const f = path.join(REPO, 'dist-vsix', 'bosh-etcd.vsix');
  return fs.existsSync(f) ? `${(fs.statSync(f).size / 1024).toFixed(0)} KB` : '';
}

function printTable(ms) {
  const cols = ['tier', 'result', 'passing', 'failing', 'pending', 'seconds', 'note'];
  const cell = (r, c) => (r[c] === undefined ? '' : String(r[c]));
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)));
  const line = (vals) =>
    vals
      .map((v, i) => v.padEnd(w[i]))
      .join('  ')
      .trimEnd();
  console.log('\n=== summary');
  console.log(line(cols));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of rows) console.log(line(cols.map((c) => cell(r, c))));
  const failed = rows.filter((r) => r.result === 'FAILED').map((r) => r.tier);
  for (const r of rows.filter((x) => x.failures && x.failures.length)) {
    console.log(`\nfailing in ${r.tier}:`);
    r.failures.forEach((f, i) => console.log(`  ${i + 1}) ${f}`));
  }
  console.log(`\n${failed.length ? `FAILED: ${failed.join(', ')}` : 'all passed'} (${(ms / 1000).toFixed(0)} s)`);
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    // The tier runners tear their testbed and code-server down on SIGINT/SIGTERM themselves.
    for (const child of children) child.kill(sig);
    setTimeout(() => process.exit(130), 15000).unref();
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
