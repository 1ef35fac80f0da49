// Root hooks of the testbed tier (mocha global fixtures): ONE testbed for the whole tier, brought up
// before the first test file and torn down after the last. Tests find it with readTestbedState().
//   BOSH_ETCD_TESTBED_DIR / BOSH_ETCD_TESTBED_NET  where (default <repo>/.testbed, 127.0.0)
//   BOSH_ETCD_TESTBED_REUSE=1  use a testbed that is already up there (and leave it up afterwards)
import * as fs from 'fs';
import { down, up } from './harness/index';
import { resolveLayout } from './harness/layout';
import { readTestbedState } from './harness/state';
import { vmProcesses } from './harness/vm';

let ours = false;

function alreadyUp(): boolean {
  const L = resolveLayout();
  if (!fs.existsSync(L.stateFile)) return false;
  const s = readTestbedState(L.stateFile);
  return s.vms.every((v) => vmProcesses([v.dir]).size > 0);
}

export async function mochaGlobalSetup(this: unknown) {
  const L = resolveLayout();
  if (process.env.BOSH_ETCD_TESTBED_REUSE === '1' && alreadyUp()) {
    process.stderr.write(`[testbed] reusing the testbed in ${L.dir}\n`);
    return;
  }
  const t0 = Date.now();
  await up({ log: (l) => process.stderr.write(`[testbed] ${l}\n`) });
  ours = true;
  process.stderr.write(
    `[testbed] up for the tier in ${((Date.now() - t0) / 1000).toFixed(1)} s (${L.dir}, net ${L.net})\n`,
  );
}

export async function mochaGlobalTeardown(this: unknown) {
  if (!ours) return;
  await down({ log: (l) => process.stderr.write(`[testbed] ${l}\n`) });
}
