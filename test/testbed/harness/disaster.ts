// Disaster pieces of the testbed: a kube-apiserver stand-in that writes to etcd while it runs (so a
// restore that forgets to stop it is caught), and the quorum-loss fault (a majority of the masters
// wiped: two of three, three of five).
import * as fs from 'fs';
import * as path from 'path';
import { vmName } from './layout';
import { masters, type TestbedState, type TestbedVm } from './state';
import { inVm, waitFor } from './sh';

/** Where the stand-in appends one line per write etcd acknowledged: `<epoch ms> <sequence>`. */
export const API_WRITES_LOG = '/var/vcap/sys/log/kube-apiserver/writes.log';
export const apiWriterKey = (vm: TestbedVm) => `/testbed/kube-apiserver/${vm.id}`;

/**
 * The stand-in's start script: about once a second, `etcdctl put` with the job's client certificate
 * (the root certificate, as the testbed's etcdctl wrapper uses); each acknowledged write is logged.
 * The sequence continues from the log, so a restarted stand-in never reuses a number.
 */
export function apiWriterScript(vm: TestbedVm): string {
  return `#!/bin/bash
# testbed stand-in for kube-apiserver: writes to etcd about once a second while it runs
LOG=${API_WRITES_LOG}
n=$(tail -n 1 "$LOG" 2>/dev/null | cut -d' ' -f2); n=\${n:-0}
while true; do
  n=$((n + 1))
  if ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl --dial-timeout=1s --command-timeout=2s \\
      put ${apiWriterKey(vm)} "$n" >/dev/null 2>&1; then
    echo "$(date +%s%3N) $n" >> "$LOG"
  else
    n=$((n - 1))
  fi
  sleep 1
done
`;
}

/** Replaces the dummy kube-apiserver of every master by the writing stand-in and restarts it under monit. */
export async function installApiWriter(state: TestbedState): Promise<void> {
  for (const vm of masters(state)) {
    const bin = path.join(vm.dir, 'vcap/jobs/kube-apiserver/bin/kube-apiserver');
    fs.writeFileSync(bin, apiWriterScript(vm), { mode: 0o755 });
    await inVm(vm.nsPid, 'monit restart kube-apiserver');
  }
  for (const vm of masters(state))
    await waitFor(
      `the kube-apiserver stand-in of ${vmName(vm.group, vm.index)} to write to etcd`,
      90_000,
      async () => apiWrites(vm).length > 0,
      500,
    );
}

/** The writes the stand-in of a master logged as acknowledged: time (epoch ms) and sequence. */
export function apiWrites(vm: TestbedVm): { at: number; n: number }[] {
  let text = '';
  try {
    text = fs.readFileSync(path.join(vm.dir, 'vcap', API_WRITES_LOG.replace('/var/vcap/', '')), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter((p) => p.length === 2 && /^\d+$/.test(p[0]) && /^\d+$/.test(p[1]))
    .map(([at, n]) => ({ at: Number(at), n: Number(n) }));
}

/**
 * Quorum loss: etcd stopped under monit and its data wiped on `vm` and the next masters (in index
 * order, wrapping) until a majority is gone: two of three, three of five. The others keep running,
 * without quorum. Returns the wiped masters.
 */
export async function quorumLoss(state: TestbedState, vm: TestbedVm): Promise<TestbedVm[]> {
  const ms = masters(state).sort((a, b) => a.index - b.index);
  const n = Math.floor(ms.length / 2) + 1;
  const start = ms.indexOf(vm);
  const wiped = Array.from({ length: n }, (_, i) => ms[(start + i) % ms.length]);
  await Promise.all(
    wiped.map(async (w) => {
      const { etcdServerPid, waitServerExited } = await import('./index');
      let server: number | undefined;
      try {
        server = etcdServerPid(w);
      } catch {
        /* not running */
      }
      await inVm(w.nsPid, 'monit stop etcd');
      await waitFor(
        `monit to stop etcd on ${vmName(w.group, w.index)}`,
        60_000,
        async () =>
          (
            await inVm(
              w.nsPid,
              'p=$(cat /var/vcap/sys/run/bpm/etcd/etcd.pid 2>/dev/null); test -n "$p" && kill -0 $p',
              {
                allowFail: true,
              },
            )
          ).code !== 0,
        300,
      );
      await waitServerExited(w, server);
      await inVm(w.nsPid, 'rm -rf /var/vcap/store/etcd/*');
    }),
  );
  return wiped;
}
