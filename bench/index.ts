// `npm run bench`: the single entry point for benchmarks.
//
// Loads every out/bench/*.bench.js. Each exports
//   benchmarks: {
//     name: string;
//     baseline: () => Promise<void | number>;
//     candidate: () => Promise<void | number>;
//     iterations: number;
//     needsTestbed?: boolean;
//     testbedOptions?: { quotaMb?: number };
//     setup?(): Promise<void>;
//     teardown?(): Promise<void>;
//   }[]
// Baseline and candidate run interleaved in this one process (B C, C B, B C, …) after one warm-up
// call each; the table shows the median of each, and candidate/baseline. A function that resolves
// to a number reports its own measurement in ms (e.g. time measured inside a child process,
// without the child's start-up); otherwise the wall time of the call is used.
//
// When any selected benchmark has needsTestbed, one testbed is brought up first (folder
// BOSH_ETCD_BENCH_TESTBED_DIR or <tmp>/bosh-etcd-tb-bench, net BOSH_ETCD_BENCH_TESTBED_NET or
// 127.0.8), exposed to the benchmarks as BOSH_ETCD_TESTBED_DIR / BOSH_ETCD_TESTBED_NET (so
// readTestbedState() finds it), and torn down at the end, also on Ctrl-C. Benchmarks that need a
// testbed built differently (testbedOptions, e.g. a small quota so NOSPACE is reached in seconds) run
// after the others, grouped by options, each group on a testbed of its own brought up in the same
// folder and net once the previous one is down.
// BOSH_ETCD_BENCH_ETCD=3.4|3.5 (default 3.5): the etcd the testbed's VMs run; the table's etcd
// column shows the version each testbed benchmark ran against.
// BOSH_ETCD_BENCH_FILTER=<regexp>: only benchmarks whose name matches.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface Benchmark {
  name: string;
  baseline: () => Promise<void | number>;
  candidate: () => Promise<void | number>;
  iterations: number;
  needsTestbed?: boolean;
  /** How this benchmark's testbed differs from the default one (implies needsTestbed). */
  testbedOptions?: TestbedOptions;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

export interface TestbedOptions {
  /** etcd's --quota-backend-bytes in MiB (the testbed's `up --quota-mb`). */
  quotaMb?: number;
  /** Number of masters (the testbed's `up --masters`, 3 or 5). */
  masters?: number;
}

const OUT_BENCH = __dirname; // out/bench
const REPO = path.resolve(__dirname, '..', '..');
const TB_NET = process.env.BOSH_ETCD_BENCH_TESTBED_NET || '127.0.8';
const TB_DIR = process.env.BOSH_ETCD_BENCH_TESTBED_DIR || path.join(os.tmpdir(), `bosh-etcd-tb-bench-${TB_NET}`);
// Before any module reads BOSH_ETCD_TESTBED_DIR (test/testbed/harness/state.ts does at load time).
process.env.BOSH_ETCD_TESTBED_DIR = TB_DIR;
process.env.BOSH_ETCD_TESTBED_NET = TB_NET;
// The tool's sessions record their temporary SSH users in a folder of the benchmarks' own (the
// default, ~/.bosh-etcd/temp-users, is the operator's: src/session/tempUsers.ts), kept between
// runs so that a later run cleans up what a killed one left on the same testbed net.
process.env.BOSH_ETCD_TEMP_USERS_DIR = `${TB_DIR}-temp-users`;
// The runs' transcripts, per testbed net (two benchmark runs on one machine do not mix theirs).
process.env.BOSH_ETCD_BENCH_TRANSCRIPTS = `${TB_DIR}-transcripts`;

function benchEtcd(): '3.4' | '3.5' {
  const v = process.env.BOSH_ETCD_BENCH_ETCD || '3.5';
  if (v !== '3.4' && v !== '3.5') throw new Error(`BOSH_ETCD_BENCH_ETCD must be 3.4 or 3.5 (got "${v}").`);
  return v;
}

/** `up` arguments for a benchmark's testbed, or undefined when it needs none. */
function testbedArgs(b: Benchmark, etcd: string): string[] | undefined {
  if (!b.needsTestbed && !b.testbedOptions) return undefined;
  const args = ['--etcd', etcd];
  if (b.testbedOptions?.quotaMb !== undefined) args.push('--quota-mb', String(b.testbedOptions.quotaMb));
  if (b.testbedOptions?.masters !== undefined) args.push('--masters', String(b.testbedOptions.masters));
  return args;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function measure(f: () => Promise<void | number>): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await f();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  return typeof r === 'number' ? r : wall;
}

const fmt = (ms: number): string =>
  ms < 0.1
    ? `${(ms * 1000).toFixed(1)} µs`
    : (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)) + ' ms';

async function main(): Promise<number> {
  const filter = process.env.BOSH_ETCD_BENCH_FILTER ? new RegExp(process.env.BOSH_ETCD_BENCH_FILTER) : undefined;
  const files = fs
    .readdirSync(OUT_BENCH)
    .filter((f) => f.endsWith('.bench.js'))
    .sort()
    // only compiled files whose TypeScript source still exists
    .filter((f) => fs.existsSync(path.join(REPO, 'bench', f.replace(/\.js$/, '.ts'))));
  const all: { file: string; b: Benchmark }[] = [];
  for (const f of files) {
    const mod = require(path.join(OUT_BENCH, f)) as { benchmarks?: Benchmark[] };
    if (!Array.isArray(mod.benchmarks)) {
      console.error(`[bench] ${f} exports no \`benchmarks\` array: skipped`);
      continue;
    }
    for (const b of mod.benchmarks) if (!filter || filter.test(b.name)) all.push({ file: f, b });
  }
  const etcd = benchEtcd();
  // Same testbed options next to each other (default testbed first), otherwise in file order.
  const key = (b: Benchmark) => JSON.stringify(b.testbedOptions ?? {});
  const keys = ['{}', ...new Set(all.map(({ b }) => key(b)))];
  all.sort((x, y) => keys.indexOf(key(x.b)) - keys.indexOf(key(y.b)));
  if (!all.length) {
    console.error('[bench] no benchmarks found (out/bench/*.bench.js); run `npx tsc -p .` first');
    return 1;
  }
  console.log(
    `[bench] ${all.length} benchmark(s) from ${files.join(', ')} — node ${process.versions.node}, ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}`,
  );

  const tbMod = require('../test/runners/testbed') as typeof import('../test/runners/testbed');
  let tb: ReturnType<typeof tbMod.testbedUp> | undefined;
  const down = (): void => {
    if (tb) {
      const t = tb;
      tb = undefined;
      try {
        t.down();
      } catch (e) {
        console.error(`[bench] testbed down failed: ${(e as Error).message}`);
      }
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      down();
      process.exit(130);
    });

  const rows: { name: string; n: number; etcd: string; base?: number; cand?: number; note?: string }[] = [];
  let failed = false;
  // the `up` arguments of the testbed that is up (or whose `up` failed: its benchmarks are not retried)
  let tbArgs: string | undefined;
  let tbError: string | undefined;
  try {
    for (const { file, b } of all) {
      const args = testbedArgs(b, etcd);
      let version = '';
      try {
        if (args && JSON.stringify(args) !== tbArgs) {
          down();
          tbArgs = JSON.stringify(args);
          tbError = undefined;
          console.log(`[bench] testbed: up ${args.join(' ')}`);
          try {
            tb = tbMod.testbedUp(TB_DIR, TB_NET, args, (s) => console.log(s));
          } catch (e) {
            tbError = (e as Error).message;
          }
        }
        if (args && tbError) throw new Error(tbError);
        if (args) version = tb!.state.etcd.version;
      } catch (e) {
        failed = true;
        rows.push({
          name: b.name,
          n: b.iterations,
          etcd,
          note: `FAILED: testbed: ${(e as Error).message.split('\n')[0]}`,
        });
        console.log(`[bench] ${b.name}: testbed up FAILED: ${(e as Error).message}`);
        continue;
      }
      process.stdout.write(
        `[bench] ${b.name} (${file}, ${b.iterations} iterations${version ? `, etcd ${version}` : ''}) … `,
      );
      try {
        await b.setup?.();
        await measure(b.baseline);
        await measure(b.candidate); // warm-up, not counted
        const base: number[] = [];
        const cand: number[] = [];
        for (let i = 0; i < b.iterations; i++) {
          if (i % 2 === 0) {
            base.push(await measure(b.baseline));
            cand.push(await measure(b.candidate));
          } else {
            cand.push(await measure(b.candidate));
            base.push(await measure(b.baseline));
          }
        }
        rows.push({ name: b.name, n: b.iterations, etcd: version, base: median(base), cand: median(cand) });
        console.log('done');
      } catch (e) {
        failed = true;
        rows.push({
          name: b.name,
          n: b.iterations,
          etcd: version,
          note: `FAILED: ${(e as Error).message.split('\n')[0]}`,
        });
        console.log(`FAILED: ${(e as Error).stack ?? e}`);
      } finally {
        await b.teardown?.().catch((e: Error) => console.error(`[bench] teardown of ${b.name}: ${e.message}`));
      }
    }
  } finally {
    down();
  }

  const head = ['benchmark', 'etcd', 'n', 'baseline (median)', 'candidate (median)', 'candidate/baseline'];
  const table = rows.map((r) => [
    r.name,
    r.etcd || '-',
    String(r.n),
    r.base === undefined ? '' : fmt(r.base),
    r.cand === undefined ? '' : fmt(r.cand),
    r.note ?? (r.base ? (r.cand! / r.base).toFixed(2) + 'x' : r.cand !== undefined ? 'n/a (baseline 0)' : ''),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 || i === 1 || i === 5 ? c.padEnd(w[i]) : c.padStart(w[i])))
      .join('  ')
      .trimEnd();
  console.log('\n' + line(head));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of table) console.log(line(r));
  return failed ? 1 : 0;
}

main().then(
  (c) => process.exit(c),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
