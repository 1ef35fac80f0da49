// The contract between the testbed harness (`npm run testbed -- up`), the Director stand-in,
// the tests, the benchmarks and the sandbox. `up` writes it to `.testbed/testbed.json`
// (git-ignored) and prints it; everything else reads it through `readTestbedState()`.
import * as fs from 'fs';
import * as path from 'path';

/** The repository root: the nearest folder above this file with a package.json (works from src and out). */
export const REPO_ROOT = (() => {
  let d = __dirname;
  while (!fs.existsSync(path.join(d, 'package.json')) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
})();
export const TESTBED_DIR = process.env.BOSH_ETCD_TESTBED_DIR || path.join(REPO_ROOT, '.testbed');
export const STATE_FILE = path.join(TESTBED_DIR, 'testbed.json');

export interface TestbedVm {
  /** 'master' | 'worker' | 'jumpbox' */
  group: string;
  /** BOSH instance UUID (also the etcd member name on masters). */
  id: string;
  index: number;
  az: string;
  /** Loopback address the VM's sshd (and etcd) listen on, e.g. 127.0.0.11 */
  ip: string;
  bootstrap: boolean;
  /** Fake IaaS VM CID shown by the Director, e.g. vm-1f2e… */
  vmCid: string;
  vmType: string;
  agentId: string;
  /** masters only: https://master-<index>.etcd.cfcr.internal:2379 / :2380 */
  etcdClientUrl?: string;
  etcdPeerUrl?: string;
  /** masters only: master-<index>.etcd.cfcr.internal */
  etcdFqdn?: string;
  /** Host-side folder of this VM (mounted over /var/vcap etc. inside its namespace). */
  dir: string;
  /** PID of a process that lives in the VM's mount namespace (sshd); `nsenter -m -t <pid>` enters it. */
  nsPid: number;
}

export interface TestbedState {
  deployment: string;
  director: {
    url: string; // https://127.0.0.1:<port>
    caCertPath: string; // PEM of the Director/UAA CA
    caCert: string; // same, inline
    uaaUrl: string;
    client: string; // UAA client id with bosh.admin, e.g. ops_manager
    clientSecret: string;
    pid: number;
  };
  jumpHost: { host: string; port: number; user: string; privateKeyPath: string };
  /** Static fallback SSH user present on every VM (bosh ssh --private-key style). */
  staticSsh: { user: string; privateKeyPath: string; knownHostsPath: string };
  etcd: {
    caCertPath: string;
    /** etcd --version of the VMs' binaries, e.g. 3.5.16 */
    version: string;
    /** authentication-setup ran in post-start (as on TKGI): only the root certificate may HashKV/snapshot. */
    auth?: boolean;
    /** The VMs' etcd package ships etcdutl (3.5). */
    etcdutl?: boolean;
    monitCycleSeconds?: number;
  };
  vms: TestbedVm[];
  createdAt: string;
}

export function readTestbedState(file = STATE_FILE): TestbedState {
  if (!fs.existsSync(file)) {
    throw new Error(`No testbed state at ${file}: start the testbed with \`npm run testbed -- up\` (as root).`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as TestbedState;
}

export function masters(s: TestbedState): TestbedVm[] {
  return s.vms.filter((v) => v.group === 'master').sort((a, b) => a.index - b.index);
}
