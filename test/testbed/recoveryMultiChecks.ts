// Helpers of test/testbed/recovery-multi.test.ts: run options, what a refusal must leave untouched
// (member list and hashKV read with etcdctl on the VMs, independent of the product), and probes of
// one VM's etcd (process, data directory, cluster id, local health).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { etcdctlIn, etcdServerPid, TestbedState, TestbedVm } from './harness/index';
import { inVm } from './harness/sh';
import type { RecoveryOptions } from '../../src/recovery';

export const TX = fs.mkdtempSync(path.join(os.tmpdir(), 'recovery-multi-tx-'));

export function healthyOf(ms: TestbedVm[], ...broken: TestbedVm[]): TestbedVm {
  return ms.find((m) => !broken.includes(m))!;
}

export { explain } from './runChecks';

export function options(extra: Partial<RecoveryOptions> = {}): RecoveryOptions {
  return {
    transcriptDir: TX,
    yes: true,
    timeouts: { startMs: 120_000, postcheckMs: 150_000, stopMs: 40_000 },
    ...extra,
  };
}

/** Member list and hashKV of the healthy members, read with etcdctl on the VMs (independent of the product). */
export async function clusterPrint(s: TestbedState, healthy: TestbedVm[]): Promise<string> {
  const list = await etcdctlIn(healthy[0], '--command-timeout=5s member list', { local: true });
  const rows = list.stdout.trim().split('\n').sort();
  const rev = await etcdctlIn(healthy[0], '--command-timeout=5s endpoint status -w json', { local: true });
  const revision = /"revision":(\d+)/.exec(rev.stdout)?.[1];
  const hashes = await Promise.all(
    healthy.map(async (m) => {
      const r = await etcdctlIn(m, `--command-timeout=5s endpoint hashkv --rev=${revision} -w json`, { local: true });
      return /"hash":(\d+)/.exec(r.stdout)?.[1];
    }),
  );
  void s;
  return JSON.stringify({ rows, hashes });
}

/** The etcd server process runs on the VM (found from the job's pid file, independent of the product). */
export function etcdRuns(m: TestbedVm): boolean {
  try {
    return etcdServerPid(m) > 0;
  } catch {
    return false;
  }
}

/** The names in the data directory and its member/ folder, read on the VM. */
export async function dataListing(m: TestbedVm): Promise<string> {
  const r = await inVm(m.nsPid, 'cd /var/vcap/store/etcd && find . -maxdepth 2 | sort');
  return r.stdout.trim();
}

/** The cluster id the member answers for, asked on its own VM (null when it does not answer). */
export async function clusterIdOnVm(m: TestbedVm): Promise<string | null> {
  const r = await etcdctlIn(m, '--dial-timeout=1s --command-timeout=2s endpoint status -w json', {
    local: true,
    allowFail: true,
  });
  return r.code === 0 ? (/"cluster_id":(\d+)/.exec(r.stdout)?.[1] ?? null) : null;
}

export async function healthyOnVm(m: TestbedVm): Promise<boolean> {
  const r = await etcdctlIn(m, '--dial-timeout=1s --command-timeout=2s endpoint health', {
    local: true,
    allowFail: true,
  });
  return r.code === 0;
}
