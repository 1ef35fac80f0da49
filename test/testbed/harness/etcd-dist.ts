// Which etcd the testbed's VMs run: TKGI 1.8–1.12 ship etcd 3.4, TKGI 1.13 and later 3.5 (README.md).
// 3.4 is Debian 12's (/usr/bin); 3.5 is Debian 13's, unpacked by scripts/etcd-3.5.sh into .tools/.
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from './state';

export type TestbedEtcd = '3.4' | '3.5';
export const TESTBED_ETCD_VERSIONS: TestbedEtcd[] = ['3.4', '3.5'];
export const DEFAULT_TESTBED_ETCD: TestbedEtcd = '3.5';

export interface EtcdDist {
  version: TestbedEtcd;
  /** Host folder holding the binaries the VMs' /var/vcap/packages/etcd/bin links to. */
  binDir: string;
  /** The binaries the package ships: etcd and etcdctl; 3.5 also etcdutl. */
  binaries: string[];
}

/** `--etcd` or BOSH_ETCD_TESTBED_ETCD, default 3.5. */
export function resolveTestbedEtcd(requested?: string): TestbedEtcd {
  const v = requested ?? (process.env.BOSH_ETCD_TESTBED_ETCD || DEFAULT_TESTBED_ETCD);
  if (!TESTBED_ETCD_VERSIONS.includes(v as TestbedEtcd))
    throw new Error(`The testbed runs etcd 3.4 or 3.5 (--etcd / BOSH_ETCD_TESTBED_ETCD); got "${v}".`);
  return v as TestbedEtcd;
}

export function etcdDist(version: TestbedEtcd): EtcdDist {
  const dist: EtcdDist =
    version === '3.4'
      ? { version, binDir: '/usr/bin', binaries: ['etcd', 'etcdctl'] }
      : {
          version,
          binDir: path.join(REPO_ROOT, '.tools/etcd-3.5.16/usr/bin'),
          binaries: ['etcd', 'etcdctl', 'etcdutl'],
        };
  const missing = dist.binaries.filter((b) => !fs.existsSync(path.join(dist.binDir, b)));
  if (missing.length) {
    throw new Error(
      version === '3.4'
        ? `etcd 3.4 is missing (${missing.join(', ')} in /usr/bin): apt-get install etcd-server etcd-client (npm run setup does).`
        : `etcd 3.5 is missing (${missing.join(', ')} in ${dist.binDir}): run npm run setup (scripts/etcd-3.5.sh fetches Debian 13's etcd 3.5.16), or start the testbed with --etcd 3.4.`,
    );
  }
  return dist;
}
