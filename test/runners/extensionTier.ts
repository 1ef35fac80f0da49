// Tier 3 of `npm test`: mocha inside a real VS Code extension host, against a testbed of its own.
//
//   node out/test/runners/extensionTier.js
//
// BOSH_ETCD_VSCODE_HOST=electron   use @vscode/test-electron (downloads VS Code) instead of code-server
// BOSH_ETCD_EXT_TESTBED_NET        testbed address prefix (default 127.0.1)
// BOSH_ETCD_EXT_TESTBED_DIR        testbed folder (default <tmp>/bosh-etcd-tb-ext-<net>)
// BOSH_ETCD_EXT_GREP               run only matching tests
// BOSH_ETCD_DELIBERATE_FAILURE=1   add a failing test (proves a failure fails `npm test`)
//
// The extension host's environment gets the testbed's bosh CLI variables (BOSH_ENVIRONMENT,
// BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT, BOSH_ALL_PROXY, … from the harness's
// boshCliEnv()) plus BOSH_ETCD_TESTBED_DIR, so tests can read the testbed state with
// readTestbedState(). Prints mocha's summary line; exit 0 pass, 1 failures, 2 infrastructure.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../testbed/harness/state';
import { runExtensionTests, ExtensionTestResult } from './extensionHost';
import { runElectronTests } from './electron';
import { TestbedHandle, testbedAvailable, testbedUp } from './testbed';

/** The etcd job's --quota-backend-bytes on the tier's testbed, in MiB. */
const EXT_TESTBED_QUOTA_MB = '24';

async function main(): Promise<number> {
  const net = process.env.BOSH_ETCD_EXT_TESTBED_NET || '127.0.1';
  const dir = process.env.BOSH_ETCD_EXT_TESTBED_DIR || path.join(os.tmpdir(), `bosh-etcd-tb-ext-${net}`);
  const testsPath = path.join(REPO_ROOT, 'out', 'test', 'extension', 'index.js');
  if (!fs.existsSync(testsPath)) {
    console.error(`No extension test runner at ${testsPath}: compile first (npx tsc -p .).`);
    return 2;
  }
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'extension.js'))) {
    console.error('No dist/extension.js: build first (node esbuild.js).');
    return 2;
  }
  const resultsDir = path.join(REPO_ROOT, 'artifacts');
  fs.mkdirSync(resultsDir, { recursive: true });
  const resultsFile = path.join(resultsDir, 'extension-results.json');
  fs.rmSync(resultsFile, { force: true });

  let tb: TestbedHandle | undefined;
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
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      cleanup();
      process.exit(130);
    });
  try {
    let env: NodeJS.ProcessEnv = {};
    let settings: Record<string, unknown> = {};
    if (process.env.BOSH_ETCD_NO_TESTBED === '1') {
      console.log('[extension] BOSH_ETCD_NO_TESTBED=1: running without a testbed.');
    } else if (testbedAvailable()) {
      // A small quota: the near-quota and NOSPACE faults fill it in seconds (test/extension/diagnosisFaults.test.ts);
      // large enough for maintenance.test.ts's 8 MB churn.
      tb = testbedUp(dir, net, ['--quota-mb', EXT_TESTBED_QUOTA_MB]);
      env = tb.env;
      settings = tb.settings;
    } else {
      console.log(
        '[extension] the testbed harness is not built (out/test/testbed/harness/cli.js): running without a testbed; tests that need one will fail.',
      );
    }
    const opts = {
      extensionDevelopmentPath: REPO_ROOT,
      extensionTestsPath: testsPath,
      env: { ...env, BOSH_ETCD_EXT_RESULTS: resultsFile },
      settings,
    };
    let res: ExtensionTestResult;
    if (process.env.BOSH_ETCD_VSCODE_HOST === 'electron') res = await runElectronTests(opts);
    else res = await runExtensionTests(opts);
    // The ext host's mocha output arrives through the browser; print the summary from the results
    // file too, so the line is there even when forwarding lost some output.
    if (fs.existsSync(resultsFile)) {
      const r = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as {
        passes: string[];
        failures: { title: string }[];
        pending: string[];
      };
      console.log(`\n[extension] results (${path.relative(REPO_ROOT, resultsFile)}):`);
      console.log(`  ${r.passes.length} passing`);
      if (r.pending.length) console.log(`  ${r.pending.length} pending`);
      if (r.failures.length) {
        console.log(`  ${r.failures.length} failing`);
        for (const f of r.failures) console.log(`    - ${f.title}`);
      }
      if (res.exitCode === 0 && r.failures.length) return 1;
    } else {
      console.log(`[extension] no results file: the test runner did not complete (exit code ${res.exitCode}).`);
      if (res.exitCode === 0) return 2;
    }
    return res.exitCode;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`[extension] ${(e as Error).stack ?? e}`);
    process.exit(2);
  },
);
