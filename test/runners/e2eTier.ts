// Tier 4 of `npm test`: the packaged .vsix in code-server, driven by headless chromium.
//
//   node out/test/runners/e2eTier.js            (after `npm run package`)
//
// Brings one testbed up (BOSH_ETCD_E2E_TESTBED_NET, default 127.0.9), then runs mocha (bdd ui) over
// out/test/e2e/**/*.e2e.js in plain Node with BOSH_ETCD_TESTBED_DIR/NET and BOSH_ETCD_VSIX set;
// each file starts its own code-server through test/e2e/lib.ts. Tears the testbed down after.
// BOSH_ETCD_E2E_GREP: only matching tests.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../testbed/harness/state';
import { TestbedHandle, testbedAvailable, testbedUp } from './testbed';

export const VSIX = path.join(REPO_ROOT, 'dist-vsix', 'bosh-etcd.vsix');

function e2eFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return e2eFiles(p);
      // only compiled files whose TypeScript source still exists
      const src = path.join(REPO_ROOT, path.relative(path.join(REPO_ROOT, 'out'), p)).replace(/\.js$/, '.ts');
      return e.name.endsWith('.e2e.js') && fs.existsSync(src) ? [p] : [];
    })
    .sort();
}

async function main(): Promise<number> {
  const net = process.env.BOSH_ETCD_E2E_TESTBED_NET || '127.0.9';
  const dir = process.env.BOSH_ETCD_E2E_TESTBED_DIR || path.join(os.tmpdir(), `bosh-etcd-tb-e2e-${net}`);
  if (!fs.existsSync(VSIX)) {
    console.error(`No ${VSIX}: run \`npm run package\` first.`);
    return 2;
  }
  const files = e2eFiles(path.join(REPO_ROOT, 'out', 'test', 'e2e'));
  if (!files.length) {
    console.error('No out/test/e2e/**/*.e2e.js: compile first (npx tsc -p .).');
    return 2;
  }
  fs.mkdirSync(path.join(REPO_ROOT, 'artifacts', 'screenshots'), { recursive: true });

  let tb: TestbedHandle | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  const cleanup = (): void => {
    if (tb) {
      const t = tb;
      tb = undefined;
      try {
        t.down();
      } catch (e) {
        console.error(`[testbed] down failed: ${(e as Error).message}`);
      }
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      child?.kill(sig);
      setTimeout(() => {
        cleanup();
        process.exit(130);
      }, 3000);
    });
  }
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, BOSH_ETCD_VSIX: VSIX };
    delete env.BOSH_ETCD_TESTBED_DIR;
    if (process.env.BOSH_ETCD_NO_TESTBED === '1') {
      console.log('[e2e] BOSH_ETCD_NO_TESTBED=1: running without a testbed.');
    } else if (testbedAvailable()) {
      tb = testbedUp(dir, net);
      env.BOSH_ETCD_TESTBED_DIR = dir;
      env.BOSH_ETCD_TESTBED_NET = net;
    } else {
      console.log(
        '[e2e] the testbed harness is not built (out/test/testbed/harness/cli.js): running without a testbed; tests that need one will fail.',
      );
    }
    const args = [
      '--ui',
      'bdd',
      '--timeout',
      '240000',
      '--reporter',
      'spec',
      ...(process.env.BOSH_ETCD_E2E_GREP ? ['--grep', process.env.BOSH_ETCD_E2E_GREP] : []),
      ...files,
    ];
    const code = await new Promise<number>((resolve) => {
      child = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'mocha'), args, {
        cwd: REPO_ROOT,
        env,
        stdio: 'inherit',
      });
      child.on('close', (c) => resolve(c ?? 1));
    });
    return code;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`[e2e] ${(e as Error).stack ?? e}`);
    process.exit(2);
  },
);
