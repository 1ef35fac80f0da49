// End-to-end recovery of a wiped master (the runbook's case), same testbed, same data size:
//   baseline:  the runbook's commands as an operator script over plain OpenSSH: snapshot on a healthy
//              master, then ONE connection to the broken master running monit stop + wait, move data aside, member remove,
//              mkdir/chown member/, source utils.sh + member add, monit start, wait for health;
//   candidate: the engine as the CLI runs it: open the deployment from the bosh env vars (Director,
//              bosh-ssh setup, certificates, tunnels), observe, pre-flight, the same commands with
//              a structured check after each, hashKV, post-checks (incl. the Director's state).
// Each iteration first breaks master-2 with `wipe` (not timed); each function returns its own
// measured time. Data: BOSH_ETCD_BENCH_RECOVERY_MB (default 30) MB written before the first run.
// Both sides stop and start etcd through the VM's own monit (the testbed's 10 s cycle, as on a
// stemcell): the baseline's plain `monit` reads the VM's monitrc, the same daemon the engine drives,
// so a start or stop waiting for monit's next cycle costs both the same. setup() checks that.
// The second benchmark: two wiped masters of five (non-bootstrap master-2 and master-4, a testbed of
// its own): the engine's "every broken member" vs the correct manual order as one script of plain ssh
// calls: snapshot, stop and move aside on both, remove both dead registrations, then master-2 back
// through its start script's self-add, then master-4 by the runbook (mkdir member/, member add, start),
// each waited for until healthy on its VM.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  breakInstance,
  boshCliEnv,
  masters,
  readTestbedState,
  TestbedState,
  TestbedVm,
} from '../test/testbed/harness/index';
import { fillEtcd } from '../test/testbed/harness/fill';
import { ssh } from '../test/testbed/harness/openssh';
import { waitFor } from '../test/testbed/harness/sh';
import { etcdctlIn } from '../test/testbed/harness/index';
import { openDeploymentFromEnv } from '../src/session/session';
import { runRecovery } from '../src/recovery';

const MB = Number(process.env.BOSH_ETCD_BENCH_RECOVERY_MB || 30);
/** Set by bench/index.ts (per testbed net). */
const TX = process.env.BOSH_ETCD_BENCH_TRANSCRIPTS || path.join(os.tmpdir(), 'bosh-etcd-bench-transcripts');

function target(s: TestbedState): { bad: TestbedVm; good: TestbedVm } {
  const ms = masters(s);
  return { bad: ms[2], good: ms[0] };
}

async function breakIt(s: TestbedState) {
  const { bad } = target(s);
  await breakInstance(`master/${bad.id}`, 'wipe');
  await waitFor(
    'master-2 to be down',
    30_000,
    async () =>
      (await etcdctlIn(bad, '--dial-timeout=1s --command-timeout=2s endpoint health', { local: true, allowFail: true }))
        .code !== 0,
    300,
  );
}

/** The runbook as one shell script over one plain ssh connection (what an operator would automate). */
function runbookScript(s: TestbedState, ts: string): string {
  const { bad } = target(s);
  const E = 'ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl';
  return `set -e
monit stop etcd
until monit summary | grep -qE 'etcd +Not monitored +Process'; do sleep 0.2; done
mkdir -p /var/vcap/store/etcd.bak-${ts}; find /var/vcap/store/etcd -mindepth 1 -maxdepth 1 -exec mv -t /var/vcap/store/etcd.bak-${ts} {} +
ID=$(${E} member list | awk -F', ' '$3=="${bad.id}"{print $1}')
${E} member remove $ID
mkdir -p /var/vcap/store/etcd/member; chown vcap:vcap /var/vcap/store/etcd/member
source /var/vcap/jobs/etcd/bin/utils.sh; ${E} member add ${bad.id} --peer-urls \${etcd_peer_address}
monit start etcd
until LOCAL=true ${E} --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1; do sleep 0.2; done
`;
}

const E = 'ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl';
const LOCAL_HEALTHY = `until LOCAL=true ${E} --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1; do sleep 0.2; done`;

function twoTargets(s: TestbedState): { bad: TestbedVm[]; good: TestbedVm } {
  const ms = masters(s);
  return { bad: [ms[2], ms[4]], good: ms[0] };
}

async function breakTwo(s: TestbedState) {
  // one after the other: the second's start script cannot add it back while the first is dead
  for (const bad of twoTargets(s).bad) {
    await breakInstance(`master/${bad.id}`, 'wipe');
    await waitFor(
      `master-${bad.index} to be down`,
      60_000,
      async () =>
        (
          await etcdctlIn(bad, '--dial-timeout=1s --command-timeout=2s endpoint health', {
            local: true,
            allowFail: true,
          })
        ).code !== 0,
      300,
    );
  }
}

async function sshOk(s: TestbedState, vm: TestbedVm, script: string, what: string): Promise<string> {
  const r = await ssh(s, vm, `sudo bash -c '${script.replace(/'/g, `'\\''`)}'`, 300_000);
  if (r.code !== 0) throw new Error(`manual procedure: ${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The correct manual order for two broken members of five, as plain ssh calls; returns its time in ms. */
async function manualTwo(s: TestbedState): Promise<number> {
  const { bad, good } = twoTargets(s);
  const ts = `${Date.now()}`;
  const t0 = Date.now();
  await sshOk(
    s,
    good,
    `mkdir -p /var/vcap/store/etcd-snapshots; LOCAL=true ${E} snapshot save /var/vcap/store/etcd-snapshots/${ts}.db >/dev/null`,
    'snapshot',
  );
  for (const b of bad)
    await sshOk(
      s,
      b,
      `set -e
monit stop etcd
until monit summary | grep -qE 'etcd +Not monitored +Process'; do sleep 0.2; done
mkdir -p /var/vcap/store/etcd.bak-${ts}; find /var/vcap/store/etcd -mindepth 1 -maxdepth 1 -exec mv -t /var/vcap/store/etcd.bak-${ts} {} +`,
      `stop and move aside on master-${b.index}`,
    );
  await sshOk(
    s,
    good,
    `set -e
for name in ${bad.map((b) => b.id).join(' ')}; do ID=$(${E} member list | awk -F', ' -v n=$name '$3==n{print $1}'); ${E} member remove $ID; done`,
    'member remove of both',
  );
  // the first back through its start script (non-bootstrap without member/: it adds itself)
  await sshOk(s, bad[0], `set -e\nmonit start etcd\n${LOCAL_HEALTHY}`, `self-add of master-${bad[0].index}`);
  // the last by the runbook: utils.sh lists all five peers, which the cluster now has once it is added
  await sshOk(
    s,
    bad[1],
    `set -e
mkdir -p /var/vcap/store/etcd/member; chown vcap:vcap /var/vcap/store/etcd/member
source /var/vcap/jobs/etcd/bin/utils.sh
# etcd refuses the add ("unhealthy cluster") until every voter has been connected for 5 s: an operator tries again
until ${E} member add ${bad[1].id} --peer-urls \${etcd_peer_address}; do sleep 1; done
monit start etcd
${LOCAL_HEALTHY}`,
    `runbook of master-${bad[1].index}`,
  );
  return Date.now() - t0;
}

export { runbookScript };
export const benchmarks = [
  {
    name: `recovery of a wiped master (${MB} MB of data): engine via bosh env vars vs the runbook over one plain ssh`,
    iterations: 3,
    needsTestbed: true,
    async setup() {
      const s = readTestbedState();
      fs.mkdirSync(TX, { recursive: true });
      if (MB > 0) await fillEtcd(s, MB);
      const monit = await ssh(s, target(s).bad, 'sudo monit summary', 30_000);
      if (monit.code !== 0 || !/^\s*etcd\s+\S/m.test(monit.stdout))
        throw new Error(
          `the runbook's monit on master-2 does not watch etcd (${monit.code}): ${monit.stdout}${monit.stderr}`,
        );
    },
    baseline: async (): Promise<number> => {
      const s = readTestbedState();
      await breakIt(s);
      const ts = `${Date.now()}`;
      const script = runbookScript(s, ts);
      const t0 = Date.now();
      // snapshot on a healthy member (the job's etcdctl: LOCAL=true talks to that member only)
      const snap = await ssh(
        s,
        target(s).good,
        `sudo bash -c 'mkdir -p /var/vcap/store/etcd-snapshots; LOCAL=true ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl snapshot save /var/vcap/store/etcd-snapshots/${ts}.db >/dev/null'`,
        300_000,
      );
      if (snap.code !== 0) throw new Error(`runbook snapshot failed (${snap.code}): ${snap.stderr}`);
      const r = await ssh(s, target(s).bad, `sudo bash -c '${script.replace(/'/g, `'\\''`)}'`, 300_000);
      const ms = Date.now() - t0;
      if (r.code !== 0) throw new Error(`runbook script failed (${r.code}): ${r.stderr}`);
      return ms;
    },
    candidate: async (): Promise<number> => {
      const s = readTestbedState();
      await breakIt(s);
      const t0 = Date.now();
      const session = openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
      try {
        const res = await runRecovery(session, `master/${target(s).bad.id}`, { yes: true, transcriptDir: TX });
        if (res.outcome !== 'recovered') throw new Error(`engine: ${res.outcome}: ${res.message}`);
      } finally {
        await session.dispose();
      }
      return Date.now() - t0;
    },
  },
  {
    name: `recovery of two wiped masters of five (${MB} MB of data): engine "every broken member" via bosh env vars vs the manual order as plain ssh calls`,
    iterations: 3,
    needsTestbed: true,
    testbedOptions: { masters: 5 },
    async setup() {
      const s = readTestbedState();
      fs.mkdirSync(TX, { recursive: true });
      if (masters(s).length !== 5) throw new Error(`needs 5 masters, the testbed has ${masters(s).length}`);
      if (MB > 0) await fillEtcd(s, MB);
    },
    baseline: async (): Promise<number> => {
      const s = readTestbedState();
      await breakTwo(s);
      return manualTwo(s);
    },
    candidate: async (): Promise<number> => {
      const s = readTestbedState();
      await breakTwo(s);
      const t0 = Date.now();
      const session = openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
      try {
        const res = await runRecovery(session, 'all-broken', { yes: true, transcriptDir: TX });
        if (res.outcome !== 'recovered') throw new Error(`engine: ${res.outcome}: ${res.message}`);
      } finally {
        await session.dispose();
      }
      return Date.now() - t0;
    },
  },
];
