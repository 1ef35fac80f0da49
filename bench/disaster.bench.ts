// Disaster recovery on 3 masters, same testbed, same data, interleaved in this one process:
//   quorum loss (master-0 and master-1 wiped, master-2 running without quorum), 30 MB and 300 MB:
//     baseline:  the manual procedure as plain ssh scripts (what an operator would automate): stop etcd
//                everywhere through monit and wait, run the survivor once with the job's own start
//                script and ETCD_FORCE_NEW_CLUSTER=true outside monit until it answers as a one-member
//                cluster, stop it, start it under monit; then the two re-adds in the only order that
//                works: master-1 (not bootstrap) by its start script's self-add, master-0 (bootstrap: its
//                start script would found a second cluster) by the runbook (mkdir member/, member add,
//                monit start); each waited for until healthy;
//     candidate: the engine as the CLI runs it: `restoreQuorum` from the bosh env vars (Director,
//                bosh-ssh setup, tunnels), evidence, plan, lock, stop kube-apiserver, stop etcd, copy of
//                the survivor's db, force-new-cluster, rejoin (learner first), start kube-apiserver,
//                verify (one cluster id, hashKV, Director).
//   restore of every master from a 300 MB snapshot (taken once in setup, on the workstation):
//     baseline:  what TKGI's BBR restore runs, as plain ssh scripts, each phase on every master at once
//                (OpenSSH processes through the jump host of BOSH_ALL_PROXY, as the engine's path; or
//                straight to the VMs with BOSH_ETCD_BENCH_BBR_DIRECT=1): the local file's sha256
//                checked against its metadata (BBR validates the backup first), the file copied to
//                every master (`cat >` over ssh) and its sha256 read back there and compared (BBR
//                checks every artifact it copies); bbr-kube-apiserver's lock: monit stop kube-apiserver, waited for
//                until monit reports it not monitored; bbr-etcd's restore: monit stop etcd and wait,
//                old data moved aside, `etcdctl snapshot restore … --name --initial-cluster
//                --initial-advertise-peer-urls --data-dir`, chown, monit start, waited for until
//                healthy; bbr-kube-apiserver's unlock: monit start kube-apiserver, waited for until
//                monit reports it running;
//     candidate: `runRestore` from the bosh env vars (pre-checks, upload and sha256/`snapshot status` on
//                every master, kube-apiserver stopped, restore, start, verify, kube-apiserver started).
// Breaking (quorum loss) and cleaning what a run left (old data moved aside, copies) is not timed.
// Each setup first deletes the filler keys, compacts and defragments, then writes the data once.
// Both sides drive etcd through the VM's own monit (the testbed's 10 s cycle, as on a stemcell).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFile, spawn } from 'child_process';
import {
  boshCliEnv,
  breakInstance,
  etcdctlIn,
  forgetFaults,
  masters,
  readTestbedState,
  TestbedState,
} from '../test/testbed/harness/index';
import type { TestbedVm } from '../test/testbed/harness/index';
import { fillEtcd, FILL_PREFIX } from '../test/testbed/harness/fill';
import { ssh, sshArgs } from '../test/testbed/harness/openssh';
import { inVm } from '../test/testbed/harness/sh';
import { openDeploymentFromEnv } from '../src/session/session';
import { restoreQuorum } from '../src/disaster/quorum';
import type { DisasterEvent } from '../src/disaster/context';
import { runRestore } from '../src/disaster/restore';
import { saveSnapshot, type SavedSnapshot } from '../src/snapshots';

/** Set by bench/index.ts (per testbed net). */
const TX = process.env.BOSH_ETCD_BENCH_TRANSCRIPTS || path.join(os.tmpdir(), 'bosh-etcd-bench-transcripts');
const N = Number(process.env.BOSH_ETCD_BENCH_DISASTER_N || 3);
const E = 'ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl';
const HEALTHY = `until LOCAL=true ${E} --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1; do sleep 0.2; done`;
const MONIT_STOPPED = `monit stop etcd
until monit summary | grep -qE 'etcd +Not monitored +Process'; do sleep 0.2; done
while p=$(cat /var/vcap/sys/run/bpm/etcd/etcd.pid 2>/dev/null) && [ -n "$p" ] && kill -0 $p 2>/dev/null; do sleep 0.2; done`;
/** bbr-kube-apiserver's pre-restore-lock and post-restore-unlock: kube-apiserver through monit, waited for. */
const API_STOPPED = `monit stop kube-apiserver
until monit summary | grep -qE '^ *kube-apiserver +Not monitored +Process'; do sleep 0.2; done`;
const API_STARTED = `monit start kube-apiserver
until monit summary | grep -qE '^ *kube-apiserver +OK +Process'; do sleep 0.2; done`;

const label = (vm: TestbedVm) => `master/${vm.id}`;

async function sshOk(s: TestbedState, vm: TestbedVm, script: string, what: string): Promise<string> {
  const r = await ssh(s, vm, `sudo bash -c '${script.replace(/'/g, `'\\''`)}'`, 900_000);
  if (r.code !== 0) throw new Error(`manual procedure: ${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** What a run left on the VMs (moved-aside data, db copies, uploaded files): removed, not timed. */
async function clean(s: TestbedState): Promise<void> {
  for (const vm of masters(s))
    await inVm(
      vm.nsPid,
      'rm -rf /var/vcap/store/etcd.bak-* /var/vcap/store/etcd.restore-* /var/vcap/store/etcd-snapshots/*; true',
      { allowFail: true, timeoutMs: 300_000 },
    );
}

/**
 * Exactly `mb` MB of live data and little history: the filler keys deleted, compacted, every member
 * defragmented, then written once (so a snapshot or a rejoin moves about `mb` MB).
 */
async function sized(s: TestbedState, mb: number): Promise<void> {
  const m0 = masters(s)[0];
  await etcdctlIn(m0, `del --prefix ${FILL_PREFIX}`, { local: true, timeoutMs: 120_000 });
  const rev = /"revision":(\d+)/.exec((await etcdctlIn(m0, 'endpoint status -w json', { local: true })).stdout)?.[1];
  if (rev) await etcdctlIn(m0, `compact ${rev} --physical`, { local: true, allowFail: true, timeoutMs: 120_000 });
  for (const vm of masters(s))
    await etcdctlIn(vm, '--command-timeout=300s defrag', { local: true, allowFail: true, timeoutMs: 300_000 });
  await fillEtcd(s, mb);
  const du = await inVm(m0.nsPid, 'du -m /var/vcap/store/etcd/member/snap/db', { allowFail: true });
  console.log(`\n[bench] db on master-0: ${du.stdout.split(/\s/)[0]} MB; load ${load()}`);
}

const load = () => fs.readFileSync('/proc/loadavg', 'utf8').trim();

function env(s: TestbedState) {
  return openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
}

/** master-0 (bootstrap) and master-1 wiped, master-2 running alone without quorum. */
async function loseQuorum(s: TestbedState): Promise<void> {
  const ms = masters(s);
  await clean(s);
  await breakInstance(label(ms[0]), 'quorum-loss');
  for (const vm of ms) forgetFaults(label(vm));
}

/** The manual quorum restore; returns its time in ms. */
async function manualQuorum(s: TestbedState): Promise<number> {
  const [m0, m1, m2] = masters(s);
  const t0 = Date.now();
  let last = t0;
  const split = (what: string) => {
    if (process.env.BOSH_ETCD_BENCH_PROFILE)
      console.log(`[profile] manual ${String(Date.now() - last).padStart(6)} ms  ${what}`);
    last = Date.now();
  };
  for (const vm of [m0, m1, m2]) await sshOk(s, vm, MONIT_STOPPED, `monit stop on master-${vm.index}`);
  split('monit stop etcd on the three');
  await sshOk(
    s,
    m2,
    `set -e
cd /
setsid setpriv --reuid=vcap --regid=vcap --init-groups -- env ETCD_FORCE_NEW_CLUSTER=true /var/vcap/jobs/etcd/bin/etcd >>/var/vcap/sys/log/etcd/manual-force.log 2>&1 </dev/null &
P=$!
until [ "$(LOCAL=true ${E} --dial-timeout=1s --command-timeout=2s member list 2>/dev/null | wc -l)" = 1 ]; do kill -0 $P; sleep 0.2; done
kill -TERM -- -$P
while kill -0 -- -$P 2>/dev/null; do sleep 0.2; done
monit start etcd
${HEALTHY}`,
    'force-new-cluster on master-2',
  );
  split('force-new-cluster, then monit start, healthy');
  await sshOk(s, m1, `set -e\nmonit start etcd\n${HEALTHY}`, 'self-add of master-1');
  split('self-add of master-1 until healthy');
  await sshOk(
    s,
    m0,
    `set -e
mkdir -p /var/vcap/store/etcd/member; chown vcap:vcap /var/vcap/store/etcd/member
source /var/vcap/jobs/etcd/bin/utils.sh
until ${E} member add ${m0.id} --peer-urls \${etcd_peer_address}; do sleep 1; done
monit start etcd
${HEALTHY}`,
    'runbook of master-0',
  );
  split('runbook of master-0 until healthy');
  return Date.now() - t0;
}

/**
 * BOSH_ETCD_BENCH_PROFILE=1: the engine's phases (lock and evidence, then each step) and the slowest
 * commands of each, from its own events, printed after the run (not part of the measurement).
 */
function profiler(t0: number) {
  const on = !!process.env.BOSH_ETCD_BENCH_PROFILE;
  const marks: [string, number][] = [];
  const slow = new Map<string, { ms: number; what: string }[]>();
  let step = 'lock+evidence';
  let first = true;
  return {
    onEvent: on
      ? (e: DisasterEvent) => {
          const at = Date.parse(e.time) - t0;
          if (first) marks.push(['(session, lock: first event)', at]);
          first = false;
          if (e.type === 'observed') marks.push(['evidence read', at]);
          if (e.type === 'step-start') step = e.step;
          if (e.type === 'step-done') marks.push([`step ${e.step}`, at]);
          if (e.type === 'command-done') {
            const l = slow.get(step) ?? [];
            l.push({ ms: e.durationMs, what: `${e.host.split('/')[1].slice(0, 4)}: ${e.command.slice(0, 90)}` });
            slow.set(step, l);
          }
        }
      : undefined,
    print(total: number) {
      if (!on) return;
      let prev = 0;
      for (const [m, at] of [...marks, ['end (session disposed)', total] as [string, number]]) {
        console.log(`[profile] ${String(at - prev).padStart(6)} ms  ${m} (at ${at} ms)`);
        prev = at;
      }
      for (const [st, l] of slow)
        for (const c of l.sort((a, b) => b.ms - a.ms).slice(0, 4))
          console.log(`[profile]    ${st}: ${String(c.ms).padStart(6)} ms ${c.what}`);
    },
  };
}

async function engineQuorum(s: TestbedState): Promise<number> {
  const t0 = Date.now();
  const prof = profiler(t0);
  const session = env(s);
  try {
    const res = await restoreQuorum(session, {
      survivor: label(masters(s)[2]),
      yes: true,
      transcriptDir: TX,
      onEvent: prof.onEvent,
    });
    if (res.outcome !== 'recovered') throw new Error(`engine: ${res.outcome}: ${res.message}`);
  } finally {
    await session.dispose();
  }
  const ms = Date.now() - t0;
  prof.print(ms);
  return ms;
}

function quorumBench(mb: number) {
  return {
    name: `quorum loss on 3 masters, two wiped (${mb} MB of data): engine restoreQuorum via bosh env vars vs the manual procedure over plain ssh`,
    iterations: N,
    needsTestbed: true,
    async setup() {
      const s = readTestbedState();
      fs.mkdirSync(TX, { recursive: true });
      await sized(s, mb);
    },
    baseline: async (): Promise<number> => {
      const s = readTestbedState();
      await loseQuorum(s);
      const ms = await manualQuorum(s);
      console.log(`[bench]   manual ${ms} ms, load ${load()}`);
      return ms;
    },
    candidate: async (): Promise<number> => {
      const s = readTestbedState();
      await loseQuorum(s);
      const ms = await engineQuorum(s);
      console.log(`[bench]   engine ${ms} ms, load ${load()}`);
      return ms;
    },
  };
}

/**
 * OpenSSH to a master as BBR reaches it with the bench's bosh env vars: through the jump host of
 * BOSH_ALL_PROXY (one OpenSSH process and one `ssh -W` process per connection), as the engine's own
 * connections go; BOSH_ETCD_BENCH_BBR_DIRECT=1: straight to the VM.
 */
function bbrSshArgs(s: TestbedState, vm: TestbedVm): string[] {
  if (process.env.BOSH_ETCD_BENCH_BBR_DIRECT === '1') return sshArgs(s, vm);
  const j = s.jumpHost;
  const kh = s.staticSsh.knownHostsPath;
  const proxy = `ssh -F /dev/null -i ${j.privateKeyPath} -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${kh} -o BatchMode=yes -o LogLevel=ERROR -p ${j.port} -W %h:%p ${j.user}@${j.host}`;
  return ['-o', `ProxyCommand=${proxy}`, ...sshArgs(s, vm)];
}

/** `sudo bash -c script` on the master over bbrSshArgs, stdin from a local file or none; its stdout. */
function bbrSsh(s: TestbedState, vm: TestbedVm, script: string, what: string, stdinFile?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const fd = stdinFile ? fs.openSync(stdinFile, 'r') : 'ignore';
    const child = spawn('ssh', [...bbrSshArgs(s, vm), `sudo bash -c '${script.replace(/'/g, `'\\''`)}'`], {
      stdio: [fd, 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => (out += d));
    child.stderr?.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (typeof fd === 'number') fs.closeSync(fd);
      if (code === 0) resolve(out);
      else reject(new Error(`manual procedure: ${what} failed (${code}): ${err}${out}`));
    });
  });
}

/** BBR's check of the artifact before a restore: its sha256 against the one recorded beside it. */
function sha256Local(file: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('sha256sum', [file], (e, out) => (e ? reject(e) : resolve(out.split(/\s/)[0]))),
  );
}

/** The BBR restore as plain ssh scripts; returns its time in ms. */
async function manualRestore(s: TestbedState, snap: SavedSnapshot): Promise<number> {
  const ms = masters(s);
  const ts = `${Date.now()}`;
  const remote = `/var/vcap/store/etcd-snapshots/bbr-${ts}.db`;
  const t0 = Date.now();
  const phases: string[] = [];
  let last = t0;
  const phase = (name: string) => {
    phases.push(`${name} ${((Date.now() - last) / 1000).toFixed(1)} s`);
    last = Date.now();
  };
  const local = await sha256Local(snap.file);
  if (local !== snap.metadata.sha256) throw new Error(`manual procedure: the snapshot's sha256 is ${local}`);
  phase('local sha256');
  // every master at once, as an operator's script would (`… & wait`) and as BBR runs its restore scripts
  await Promise.all(
    ms.map(async (vm) => {
      await bbrSsh(s, vm, `mkdir -p ${path.dirname(remote)}; cat > ${remote}`, `copy to master-${vm.index}`, snap.file);
      const sum = (await bbrSsh(s, vm, `sha256sum ${remote}`, `sha256 on master-${vm.index}`)).split(/\s/)[0];
      if (sum !== snap.metadata.sha256)
        throw new Error(`manual procedure: sha256 ${sum} on master-${vm.index}, ${snap.metadata.sha256} sent`);
    }),
  );
  phase('copy+sha256');
  await Promise.all(ms.map((vm) => bbrSsh(s, vm, API_STOPPED, `monit stop kube-apiserver on master-${vm.index}`)));
  phase('kube-apiserver stop');
  await Promise.all(
    ms.map((vm) =>
      bbrSsh(
        s,
        vm,
        `set -e
${MONIT_STOPPED}
source /var/vcap/jobs/etcd/bin/utils.sh
mv /var/vcap/store/etcd /var/vcap/store/etcd.bak-${ts}
${E} snapshot restore ${remote} --name ${vm.id} --initial-cluster \${etcd_peers} --initial-cluster-token etcd-cluster --initial-advertise-peer-urls \${etcd_peer_address} --data-dir /var/vcap/store/etcd >/dev/null
chown -R vcap:vcap /var/vcap/store/etcd
monit start etcd`,
        `restore on master-${vm.index}`,
      ),
    ),
  );
  phase('etcd restore');
  await Promise.all(ms.map((vm) => bbrSsh(s, vm, HEALTHY, `health of master-${vm.index}`)));
  phase('healthy');
  await Promise.all(ms.map((vm) => bbrSsh(s, vm, API_STARTED, `monit start kube-apiserver on master-${vm.index}`)));
  phase('kube-apiserver start');
  console.log(`[bench]   bbr phases: ${phases.join(', ')}`);
  return Date.now() - t0;
}

let snap: SavedSnapshot | undefined;
const SNAP_DIR = path.join(os.tmpdir(), 'bosh-etcd-bench-snapshots');

export const benchmarks = [
  quorumBench(30),
  quorumBench(300),
  {
    name: `restore of 3 masters from a 300 MB snapshot: engine runRestore via bosh env vars vs what BBR runs (copy and sha256 check, kube-apiserver stop/start, etcd restore) over OpenSSH ${process.env.BOSH_ETCD_BENCH_BBR_DIRECT === '1' ? 'straight to the VMs' : 'through the jump host'}`,
    iterations: N,
    needsTestbed: true,
    async setup() {
      const s = readTestbedState();
      fs.mkdirSync(TX, { recursive: true });
      fs.rmSync(SNAP_DIR, { recursive: true, force: true });
      await sized(s, 300);
      const session = env(s);
      try {
        snap = await saveSnapshot(session, { dir: SNAP_DIR });
      } finally {
        await session.dispose();
      }
      console.log(`\n[bench] snapshot ${snap.file}: ${Math.round(snap.metadata.size / 2 ** 20)} MB`);
    },
    async teardown() {
      fs.rmSync(SNAP_DIR, { recursive: true, force: true });
    },
    baseline: async (): Promise<number> => {
      const s = readTestbedState();
      await clean(s);
      const ms = await manualRestore(s, snap!);
      console.log(`[bench]   bbr ${ms} ms, load ${load()}`);
      return ms;
    },
    candidate: async (): Promise<number> => {
      const s = readTestbedState();
      await clean(s);
      const t0 = Date.now();
      const session = env(s);
      try {
        const res = await runRestore(session, {
          snapshot: snap!.file,
          confirmDeployment: s.deployment,
          yes: true,
          transcriptDir: TX,
        });
        if (res.outcome !== 'recovered') throw new Error(`engine: ${res.outcome}: ${res.message}`);
      } finally {
        await session.dispose();
      }
      const ms = Date.now() - t0;
      console.log(`[bench]   engine ${ms} ms, load ${load()}`);
      return ms;
    },
  },
];
