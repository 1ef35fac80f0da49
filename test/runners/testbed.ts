// Bring a testbed (the simulated PKS cluster of test/testbed) up and down for the extension and
// e2e tiers, the benchmarks and the sandbox, each with its own folder and 127.0.N prefix so that
// several can run at once.
//
// It drives the testbed's CLI (`node out/test/testbed/harness/cli.js up|down|break …`, what
// `npm run testbed -- …` runs) with BOSH_ETCD_TESTBED_DIR / BOSH_ETCD_TESTBED_NET set, reads the
// state file the CLI writes (TestbedState, test/testbed/harness/state.ts), and turns it into the
// bosh CLI environment with the harness's boshCliEnv() (test/testbed/harness/env.ts).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT, TestbedState } from '../testbed/harness/state';

export const TESTBED_CLI = path.join(REPO_ROOT, 'out', 'test', 'testbed', 'harness', 'cli.js');
const ENV_MODULE = path.join(REPO_ROOT, 'out', 'test', 'testbed', 'harness', 'env.js');

export interface TestbedHandle {
  dir: string;
  net: string;
  state: TestbedState;
  /** Environment for code-server / the extension host: the bosh CLI variables plus BOSH_ETCD_TESTBED_DIR/NET. */
  env: NodeJS.ProcessEnv;
  /** VS Code user settings for the extension (testbedSettings()). */
  settings: Record<string, unknown>;
  /** Runs the testbed CLI with this testbed's dir/net (e.g. cli('break', id, '--mode', 'wipe')); throws on failure. */
  cli(...args: string[]): string;
  down(): void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether the testbed harness is built (out/test/testbed/harness/cli.js). */
export function testbedAvailable(): boolean {
  return fs.existsSync(TESTBED_CLI);
}

function runCli(dir: string, net: string, args: string[], inherit = false): string {
  const r = spawnSync(process.execPath, [TESTBED_CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, BOSH_ETCD_TESTBED_DIR: dir, BOSH_ETCD_TESTBED_NET: net },
    encoding: 'utf8',
    stdio: ['ignore', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(
      `testbed \`${args.join(' ')}\` (dir ${dir}, net ${net}) failed with exit code ${r.status}:\n${(r.stderr || '').slice(-4000)}${(r.stdout || '').slice(-2000)}`,
    );
  }
  return r.stdout ?? '';
}

/** The bosh CLI environment for a testbed (BOSH_ENVIRONMENT, BOSH_CLIENT, …, BOSH_ALL_PROXY). */
export function testbedEnv(state: TestbedState, dir: string, net?: string): NodeJS.ProcessEnv {
  const mod = fs.existsSync(ENV_MODULE)
    ? (require(ENV_MODULE) as { boshCliEnv?: (s: TestbedState) => Record<string, string> })
    : {};
  if (typeof mod.boshCliEnv !== 'function') {
    throw new Error(
      `The testbed harness has no boshCliEnv() in ${ENV_MODULE}: build it (npx tsc -p .) or update test/runners/testbed.ts.`,
    );
  }
  const env: NodeJS.ProcessEnv = { ...mod.boshCliEnv(state), BOSH_ETCD_TESTBED_DIR: dir };
  if (net) env.BOSH_ETCD_TESTBED_NET = net;
  return env;
}

/**
 * VS Code user settings that point the extension at the testbed like an operator's machine would
 * be: the jump host's (and VMs') host keys in a known_hosts file. Everything else comes from the
 * bosh CLI environment (testbedEnv).
 */
export function testbedSettings(state: TestbedState): Record<string, unknown> {
  return { 'boshEtcd.ssh.knownHostsPath': state.staticSsh.knownHostsPath };
}

export function readState(dir: string): TestbedState {
  const file = path.join(dir, 'testbed.json');
  if (!fs.existsSync(file)) throw new Error(`No testbed state at ${file}: \`up\` did not complete.`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as TestbedState;
}

/**
 * Starts a testbed in `dir` on `net` (e.g. '127.0.1'); tears down a leftover one in the same dir
 * first. `extraArgs` go to `up` (e.g. ['--masters', '5']).
 */
export function testbedUp(
  dir: string,
  net: string,
  extraArgs: string[] = [],
  log: (s: string) => void = console.log,
): TestbedHandle {
  if (!testbedAvailable()) {
    throw new Error(
      `The testbed harness is not built (${TESTBED_CLI} missing): run \`npx tsc -p .\`; it lives in test/testbed/harness.`,
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  // Several runs may share this machine (and this working tree): never tear down a testbed that a
  // live process started.
  const ownerFile = path.join(dir, '.runner-owner');
  const owner = fs.existsSync(ownerFile) ? Number(fs.readFileSync(ownerFile, 'utf8')) : 0;
  if (owner && owner !== process.pid && pidAlive(owner)) {
    throw new Error(
      `The testbed in ${dir} (net ${net}) belongs to a running process (pid ${owner}). ` +
        'Wait for it, or give this run its own folder and prefix (BOSH_ETCD_EXT_TESTBED_DIR/_NET, BOSH_ETCD_E2E_TESTBED_DIR/_NET, BOSH_ETCD_BENCH_TESTBED_DIR/_NET).',
    );
  }
  if (fs.existsSync(path.join(dir, 'testbed.json'))) {
    log(`[testbed] tearing down a leftover testbed in ${dir}`);
    try {
      runCli(dir, net, ['down']);
    } catch (e) {
      log(`[testbed] leftover down failed: ${(e as Error).message}`);
    }
  }
  const t0 = Date.now();
  try {
    runCli(dir, net, ['up', ...extraArgs]);
  } catch (e) {
    try {
      runCli(dir, net, ['down']);
    } catch {
      /* report the up failure */
    }
    throw e;
  }
  const state = readState(dir);
  fs.writeFileSync(ownerFile, String(process.pid));
  log(
    `[testbed] up in ${dir} on ${net}.x (${Date.now() - t0} ms): deployment ${state.deployment}, director ${state.director.url}`,
  );
  const handle: TestbedHandle = {
    dir,
    net,
    state,
    env: testbedEnv(state, dir, net),
    settings: testbedSettings(state),
    cli: (...args: string[]) => runCli(dir, net, args),
    down: () => {
      const t1 = Date.now();
      runCli(dir, net, ['down']);
      log(`[testbed] down (${Date.now() - t1} ms)`);
    },
  };
  return handle;
}

/** Tears down whatever testbed lives in dir (no error when there is none). */
export function testbedDown(dir: string, net: string): void {
  if (!testbedAvailable()) return;
  runCli(dir, net, ['down'], true);
}
