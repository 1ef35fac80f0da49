// Where everything of one testbed lives, and which addresses it uses.
import * as path from 'path';
import { REPO_ROOT } from './state';

export interface TestbedOptions {
  /** Folder holding everything of this testbed (default BOSH_ETCD_TESTBED_DIR or <repo>/.testbed). */
  dir?: string;
  /** Address prefix, e.g. 127.0.2 (default BOSH_ETCD_TESTBED_NET or 127.0.0). */
  net?: string;
}

export interface Layout {
  dir: string;
  net: string;
  stateFile: string;
  /** Marker proving the folder is a testbed's (down only deletes folders that have it). */
  marker: string;
  pki: string;
  keys: string;
  vms: string;
  logs: string;
  directorDir: string;
  /** Faults injected by `break`, so that `heal` can undo them. */
  faultsFile: string;
  directorHost: string;
  directorPort: number;
}

export function resolveLayout(opts: TestbedOptions = {}): Layout {
  const dir = path.resolve(opts.dir || process.env.BOSH_ETCD_TESTBED_DIR || path.join(REPO_ROOT, '.testbed'));
  const net = opts.net || process.env.BOSH_ETCD_TESTBED_NET || '127.0.0';
  if (
    !/^127\.\d{1,3}\.\d{1,3}$/.test(net) ||
    net
      .split('.')
      .slice(1)
      .some((n) => Number(n) > 255)
  ) {
    throw new Error(`BOSH_ETCD_TESTBED_NET must be a 127.x.y prefix such as 127.0.2 (got "${net}").`);
  }
  if (dir === '/' || dir.split(path.sep).filter(Boolean).length < 2) {
    throw new Error(`Refusing testbed dir "${dir}": use a dedicated folder such as /tmp/tb-<name>.`);
  }
  return {
    dir,
    net,
    stateFile: path.join(dir, 'testbed.json'),
    marker: path.join(dir, '.bosh-etcd-testbed'),
    pki: path.join(dir, 'pki'),
    keys: path.join(dir, 'keys'),
    vms: path.join(dir, 'vms'),
    logs: path.join(dir, 'logs'),
    directorDir: path.join(dir, 'director'),
    faultsFile: path.join(dir, 'faults.json'),
    directorHost: `${net}.2`,
    directorPort: 25555,
  };
}

export const ETCD_DOMAIN = 'etcd.cfcr.internal';
export const masterFqdn = (index: number) => `master-${index}.${ETCD_DOMAIN}`;
export const vmIp = (net: string, group: string, index: number) =>
  group === 'jumpbox' ? `${net}.10` : group === 'master' ? `${net}.${11 + index}` : `${net}.${21 + index}`;
export const vmName = (group: string, index: number) => (group === 'jumpbox' ? 'jumpbox' : `${group}-${index}`);
