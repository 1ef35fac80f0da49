// Programmatic testbed API: up, down, breakInstance, setInstanceState, heal, status (the CLI in cli.ts wraps these).
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  INSTANCE_STATES,
  InstanceStateName,
  readInstanceStates,
  setInstanceOverride,
} from '../director/instance-states';
import { rubyIso8601 } from '../director/model';
import { buildTestbed, planVms } from './build';
import { etcdDist, EtcdDist, resolveTestbedEtcd, TestbedEtcd } from './etcd-dist';
import { STEMCELL_MONIT_CYCLE_S } from './templates';
import { Layout, resolveLayout, TestbedOptions, vmName } from './layout';
import { acquireShared, JUMP_USER, releaseShared, STATIC_USER } from './shared';
import { inVm, q, sleep, StopWaiting, waitFor } from './sh';
import { masters, readTestbedState, TestbedState, TestbedVm } from './state';
import {
  bootVm,
  killVms,
  monitStatus,
  MonitService,
  processState,
  vmProcesses,
  waitMonitProcess,
  waitSshd,
} from './vm';

export { readTestbedState, masters } from './state';
export type { TestbedState, TestbedVm } from './state';
export { boshCliEnv } from './env';
export { resolveLayout } from './layout';
export type { TestbedOptions, Layout } from './layout';
export { resolveTestbedEtcd, TESTBED_ETCD_VERSIONS } from './etcd-dist';
export type { TestbedEtcd } from './etcd-dist';
export { monitStatus, processState } from './vm';
export { INSTANCE_STATES } from '../director/instance-states';
export type { InstanceStateName } from '../director/instance-states';

export type FaultMode =
  | 'wipe'
  | 'corrupt'
  | 'stop'
  | 'vm-down'
  | 'ssh-drop'
  | 'slow-endpoint'
  | 'bootstrap-wipe'
  | 'two-down'
  | 'network-path'
  | 'near-quota'
  | 'nospace'
  | 'quorum-loss';
export const FAULT_MODES: FaultMode[] = [
  'wipe',
  'corrupt',
  'stop',
  'vm-down',
  'ssh-drop',
  'slow-endpoint',
  'bootstrap-wipe',
  'two-down',
  'network-path',
  'near-quota',
  'nospace',
  'quorum-loss',
];

export interface UpOptions extends TestbedOptions {
  masters?: number;
  fillMb?: number;
  /** The etcd job's `--quota-backend-bytes`, in MiB (default: not set, etcd's 2 GiB). */
  quotaMb?: number;
  /** etcd 3.4 or 3.5 (default BOSH_ETCD_TESTBED_ETCD, else 3.5). */
  etcd?: TestbedEtcd;
  /** monit's cycle in seconds (default BOSH_ETCD_TESTBED_MONIT_CYCLE, else the stemcell's 10). */
  monitCycleSeconds?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface UpResult {
  state: TestbedState;
  seconds: number;
}

const ETCDCTL = 'ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl';

function stateFileOf(L: Layout) {
  return L.stateFile;
}

function writeState(L: Layout, s: TestbedState) {
  fs.writeFileSync(stateFileOf(L), JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
}

/** Brings a testbed up; on any failure it tears down what it started and rethrows. */
export async function up(opts: UpOptions = {}): Promise<TestbedState> {
  if (process.getuid && process.getuid() !== 0)
    throw new Error('The testbed needs root (mount namespaces, users, sshd): run it as root.');
  const L = resolveLayout(opts);
  const log = opts.log ?? (() => {});
  const masterCount = opts.masters ?? 3;
  if (![3, 5].includes(masterCount)) throw new Error(`--masters must be 3 or 5 (got ${masterCount}).`);
  const dist = etcdDist(opts.etcd ?? resolveTestbedEtcd());
  const monitCycleSeconds = opts.monitCycleSeconds ?? resolveMonitCycle();
  if (fs.existsSync(L.dir) && fs.readdirSync(L.dir).length > 0) {
    if (!fs.existsSync(L.marker))
      throw new Error(`${L.dir} is not empty and is not a testbed folder: choose another BOSH_ETCD_TESTBED_DIR.`);
    const running = vmProcesses(vmDirsOf(L));
    if (running.size > 0) {
      throw new Error(`A testbed is already up in ${L.dir}: use it, or run \`npm run testbed -- down\` first.`);
    }
    log(`cleaning up the leftovers of an earlier testbed in ${L.dir} (nothing of it is running)`);
    await down(opts);
  }
  fs.mkdirSync(L.dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(L.marker, `bosh-etcd testbed, net ${L.net}\n`);
  const t0 = Date.now();
  try {
    await acquireShared(L.dir);
    const vms = planVms(L, masterCount);
    if (opts.quotaMb !== undefined && !(opts.quotaMb > 0))
      throw new Error(`--quota-mb must be a positive number (got ${opts.quotaMb}).`);
    const keys = await buildTestbed(L, vms, {
      etcd: dist,
      monitCycleSeconds,
      quotaBackendBytes: opts.quotaMb ? Math.round(opts.quotaMb * 1024 * 1024) : undefined,
    });
    log(`built ${vms.length} VMs in ${L.vms} (${Date.now() - t0} ms)`);
    await Promise.all(
      vms.map(async (vm) => {
        vm.nsPid = await bootVm(runtimeOf(vm), L.logs);
      }),
    );
    await Promise.all(vms.map((vm) => waitSshd(runtimeOf(vm))));
    log(`VMs booted, sshd listening (${Date.now() - t0} ms)`);
    const ms = vms.filter((v) => v.group === 'master');
    await waitClusterHealthy(ms, 60_000);
    log(`etcd ${dist.version} cluster of ${ms.length} healthy (${Date.now() - t0} ms)`);
    // the agent runs post-start after monit started the jobs: bootstrap instance first, one at a time
    for (const m of [...ms].sort((a, b) => Number(b.bootstrap) - Number(a.bootstrap))) {
      await inVm(m.nsPid, '/var/vcap/jobs/etcd/bin/post-start', { timeoutMs: 130_000 });
    }
    log(`post-start done: etcd authentication on (${Date.now() - t0} ms)`);
    await waitAllMonitRunning(vms, 30_000 + 3 * monitCycleSeconds * 1000);
    const base: Omit<TestbedState, 'director'> = {
      deployment: `service-instance_${crypto.randomUUID()}`,
      jumpHost: {
        host: vms.find((v) => v.group === 'jumpbox')!.ip,
        port: 22,
        user: JUMP_USER,
        privateKeyPath: keys.jumpKey,
      },
      staticSsh: { user: STATIC_USER, privateKeyPath: keys.staticKey, knownHostsPath: keys.knownHosts },
      etcd: {
        caCertPath: path.join(L.pki, 'etcd-ca.crt'),
        version: await etcdVersion(dist),
        auth: true,
        etcdutl: dist.binaries.includes('etcdutl'),
        monitCycleSeconds,
      },
      vms,
      createdAt: new Date().toISOString(),
    };
    const director = await startDirector(L, base, log);
    const state: TestbedState = { ...base, director };
    writeState(L, state);
    if (opts.fillMb && opts.fillMb > 0) {
      const { fillEtcd } = await import('./fill');
      const r = await fillEtcd(state, opts.fillMb);
      log(`wrote ${r.keys} keys (${opts.fillMb} MB) into etcd in ${r.ms} ms`);
    }
    log(`testbed up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return state;
  } catch (e) {
    log(`up failed: ${(e as Error).message}; tearing down`);
    try {
      await down(opts);
    } catch (e2) {
      log(`teardown after failed up also failed: ${(e2 as Error).message}`);
    }
    throw e;
  }
}

function resolveMonitCycle(): number {
  const v = process.env.BOSH_ETCD_TESTBED_MONIT_CYCLE;
  if (!v) return STEMCELL_MONIT_CYCLE_S;
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw new Error(`BOSH_ETCD_TESTBED_MONIT_CYCLE must be a whole number of seconds (got "${v}").`);
  return Number(v);
}

async function etcdVersion(dist: EtcdDist): Promise<string> {
  const { run } = await import('./sh');
  const r = await run(path.join(dist.binDir, 'etcd'), ['--version'], { allowFail: true });
  return /etcd Version: (\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
}

async function startDirector(
  L: Layout,
  base: Omit<TestbedState, 'director'>,
  log: (l: string) => void,
): Promise<TestbedState['director']> {
  const launch = path.join(__dirname, '..', 'director', 'launch.js');
  if (!fs.existsSync(launch)) {
    log(`Director stand-in not available (${launch} missing): state.director is empty`);
    return { url: '', caCertPath: '', caCert: '', uaaUrl: '', client: '', clientSecret: '', pid: 0 };
  }
  fs.mkdirSync(L.directorDir, { recursive: true, mode: 0o700 });

  const mod = require(launch) as {
    startDirectorProcess: (
      s: Omit<TestbedState, 'director'>,
      o: { dir: string; host: string; port: number },
    ) => Promise<TestbedState['director']>;
  };
  const d = await mod.startDirectorProcess(base, { dir: L.directorDir, host: L.directorHost, port: L.directorPort });
  fs.writeFileSync(path.join(L.dir, 'director.pid'), String(d.pid));
  log(`Director stand-in at ${d.url} (pid ${d.pid})`);
  return d;
}

function runtimeOf(vm: TestbedVm) {
  return { name: vmName(vm.group, vm.index), dir: vm.dir, ip: vm.ip, withMonit: vm.group !== 'jumpbox' };
}

function vmDirsOf(L: Layout): string[] {
  if (!fs.existsSync(L.vms)) return [];
  return fs.readdirSync(L.vms).map((n) => path.join(L.vms, n));
}

export async function etcdctlIn(
  vm: TestbedVm,
  args: string,
  opts: { local?: boolean; allowFail?: boolean; timeoutMs?: number } = {},
) {
  return inVm(vm.nsPid, `${opts.local ? 'LOCAL=true ' : ''}${ETCDCTL} ${args}`, {
    allowFail: opts.allowFail,
    timeoutMs: opts.timeoutMs ?? 15_000,
  });
}

class ExtraMembersError extends StopWaiting {}

/** Until every master's endpoint answers `endpoint health` and the member list has them all started. */
/** etcdctl 3.5's health answer for a member that serves but has an alarm raised. */
const ANSWERS_WITH_ALARM = /Active Alarm\(s\)/;

export async function waitClusterHealthy(ms: TestbedVm[], timeoutMs = 60_000) {
  await waitFor(
    `a healthy etcd cluster of ${ms.length} members`,
    timeoutMs,
    async () => {
      for (const m of ms) {
        const r = await etcdctlIn(m, '--dial-timeout=1s --command-timeout=2s endpoint health', {
          local: true,
          allowFail: true,
        });
        // etcd 3.5's `endpoint health` also fails for an active alarm (NOSPACE) although the member
        // serves: the member is back, the alarm is a fault of its own (maintenance tests heal with it on)
        if (r.code !== 0 && !ANSWERS_WITH_ALARM.test(`${r.stdout}\n${r.stderr}`)) return false;
      }
      const list = await etcdctlIn(ms[0], 'member list', { local: true, allowFail: true });
      if (list.code !== 0) return false;
      const rows = list.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(', '));
      if (!ms.every((m) => rows.some((r) => r[1] === 'started' && r[2] === m.id))) return false;
      const extra = rows.filter((r) => !ms.some((m) => m.id === r[2] && m.etcdPeerUrl === r[3]));
      if (extra.length) {
        // every master is back, but someone left members behind: say so instead of timing out
        throw new ExtraMembersError(
          `etcd lists members that are not the testbed's masters: ${extra.map((r) => `${r[0]} (${r[1]}, name "${r[2]}", ${r[3]})`).join('; ')}. ` +
            `Remove them (ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl member remove <id> on a master) or rebuild the testbed.`,
        );
      }
      return true;
    },
    200,
  );
}

async function waitAllMonitRunning(vms: TestbedVm[], timeoutMs: number) {
  await Promise.all(
    vms
      .filter((v) => v.group !== 'jumpbox')
      .map((vm) =>
        waitFor(
          `every monit process of ${vmName(vm.group, vm.index)} running`,
          timeoutMs,
          async () => {
            const procs = (await monitStatus(vm.dir)).filter((s) => s.type === 3);
            return procs.length > 0 && procs.every((s) => processState(s) === 'running' && s.pendingAction === 0);
          },
          100,
        ),
      ),
  );
}

// ------------------------------------------------------------------------------------ down

export interface DownResult {
  killed: number;
  removedDir: boolean;
}

/** Stops everything of the testbed and removes its folder; safe after a failed or partial `up`. */
export async function down(opts: TestbedOptions & { log?: (l: string) => void } = {}): Promise<DownResult> {
  const L = resolveLayout(opts);
  const log = opts.log ?? (() => {});
  let killed = 0;
  // Director stand-in: its own process group
  const pids = new Set<number>();
  try {
    pids.add(readTestbedState(L.stateFile).director.pid);
  } catch {
    /* no state */
  }
  try {
    pids.add(Number(fs.readFileSync(path.join(L.dir, 'director.pid'), 'utf8')));
  } catch {
    /* none */
  }
  for (const pid of pids) {
    if (!(pid > 1)) continue;
    if (!isDirectorOf(pid, L.directorDir)) {
      // gone, or its pid taken by another process (pids wrap at 32768 here): never signal that one's group
      continue;
    }
    if (await killGroup(pid)) {
      killed++;
      log(`stopped Director stand-in (pid ${pid})`);
    }
  }
  // safety net for the stand-in's temporary bosh_* users (it removes them itself on SIGTERM)
  const launch = path.join(__dirname, '..', 'director', 'launch.js');
  if (fs.existsSync(L.directorDir) && fs.existsSync(launch)) {
    try {
      const removed: string[] = require(launch).cleanupDirectorUsers?.(L.directorDir) ?? [];
      if (removed.length) log(`removed leftover Director ssh users: ${removed.join(', ')}`);
    } catch (e) {
      log(`Director user cleanup failed: ${(e as Error).message}`);
    }
  }
  const dirs = vmDirsOf(L);
  const procs = [...vmProcesses(dirs).values()].flat().length;
  await killVms(dirs);
  killed += procs;
  if (procs) log(`stopped ${procs} VM processes`);
  let removedDir = false;
  if (fs.existsSync(L.marker)) {
    await releaseShared(L.dir);
    fs.rmSync(L.dir, { recursive: true, force: true });
    removedDir = true;
    log(`removed ${L.dir}`);
  } else if (fs.existsSync(L.dir)) {
    log(`${L.dir} has no testbed marker: left in place`);
  }
  return { killed, removedDir };
}

/**
 * Whether `pid` is still the stand-in Director started for this testbed (its command line names the
 * testbed's director folder). A recorded pid outlives its process: once the Director is gone the
 * kernel hands the number to new processes, and a kill of its group would hit one of them.
 */
export function isDirectorOf(pid: number, directorDir: string): boolean {
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const at = args.indexOf('--dir');
    return at >= 0 && path.resolve(args[at + 1] ?? '') === path.resolve(directorDir);
  } catch {
    return false;
  }
}

async function killGroup(pid: number): Promise<boolean> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return false;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 100 && alive(); i++) await sleep(50);
  if (alive()) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  return true;
}

// ------------------------------------------------------------------------------------ break / heal

interface FaultRecord {
  vm: string;
  mode: FaultMode;
  etcdPid?: number;
  at: string;
  /** Files the fault rewrote, with their content before (network-path). */
  saved?: { file: string; content: string }[];
}

function readFaults(L: Layout): FaultRecord[] {
  try {
    return JSON.parse(fs.readFileSync(L.faultsFile, 'utf8'));
  } catch {
    return [];
  }
}
function writeFaults(L: Layout, f: FaultRecord[]) {
  if (f.length === 0) fs.rmSync(L.faultsFile, { force: true });
  else fs.writeFileSync(L.faultsFile, JSON.stringify(f, null, 2));
}

/**
 * Forgets the recorded faults of one instance that a test repaired by itself (the product's recovery,
 * or the runbook by hand), so that a later `heal` does not refuse a wipe that is no longer there.
 */
export function forgetFaults(ref: string, opts: { dir?: string; net?: string } = {}) {
  const L = resolveLayout(opts);
  const vm = findVm(readTestbedState(L.stateFile), ref);
  const name = vmName(vm.group, vm.index);
  writeFaults(
    L,
    readFaults(L).filter((f) => f.vm !== name),
  );
}

/** `master/<uuid>`, `<uuid>`, `master/<index>`, `worker/0`, `jumpbox`. */
export function findVm(state: TestbedState, ref: string): TestbedVm {
  const [a, b] = ref.includes('/') ? ref.split('/', 2) : [undefined, ref];
  const vm = state.vms.find(
    (v) =>
      (a === undefined && (v.id === b || vmName(v.group, v.index) === b || v.group === b)) ||
      (a === v.group && (v.id === b || String(v.index) === b)),
  );
  if (!vm) {
    throw new Error(
      `No instance "${ref}" in the testbed: use master/<uuid>, <uuid> or master/<index> (${state.vms.map((v) => `${v.group}/${v.index}`).join(', ')}).`,
    );
  }
  return vm;
}

const etcdPidFile = (vm: TestbedVm) => path.join(vm.dir, 'vcap/sys/run/bpm/etcd/etcd.pid');

/**
 * The etcd server's pid: the job's start script (bpm's pidfile) runs it as a child, without exec.
 * Should an earlier server of the same session still be exiting, the script's own child wins, then
 * the youngest: a fault aimed at a dying process would leave the serving one untouched.
 */
export function etcdServerPid(vm: TestbedVm): number {
  const scriptPid = Number(fs.readFileSync(etcdPidFile(vm), 'utf8').trim());
  const found: { pid: number; child: boolean; start: number }[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[1] is the ppid, fields[3] the session id (bpm starts the job in a session of its own),
      // fields[19] the start time in clock ticks since boot
      if (Number(fields[3]) === scriptPid && path.basename(fs.readlinkSync(`/proc/${ent}/exe`)) === 'etcd')
        found.push({ pid: Number(ent), child: Number(fields[1]) === scriptPid, start: Number(fields[19]) });
    } catch {
      /* gone */
    }
  }
  found.sort((a, b) => Number(b.child) - Number(a.child) || b.start - a.start);
  if (found.length) return found[0].pid;
  throw new Error(`No etcd process under the start script (pid ${scriptPid}) of ${vmName(vm.group, vm.index)}.`);
}

/** The etcd server's pid if it runs (see etcdServerPid), else undefined. */
function runningServerPid(vm: TestbedVm): number | undefined {
  try {
    return etcdServerPid(vm);
  } catch {
    return undefined;
  }
}

/**
 * Waits until that etcd server process has exited. monit reports etcd stopped once the start script
 * is gone; the server (its child) may still be shutting down, and data wiped under a server that still
 * runs leaves a member that keeps answering from its open files.
 */
export async function waitServerExited(vm: TestbedVm, pid: number | undefined, timeoutMs = 60_000) {
  if (pid === undefined) return;
  const alive = () => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  };
  await waitFor(
    `the etcd server (pid ${pid}) on ${vmName(vm.group, vm.index)} to exit`,
    timeoutMs,
    async () => !alive(),
    100,
  );
}

async function monitStopEtcd(vm: TestbedVm) {
  const server = runningServerPid(vm);
  await inVm(vm.nsPid, 'monit stop etcd');
  await waitMonitProcess(
    vm.dir,
    'etcd',
    (s) => s.monitor === 0 && s.pendingAction === 0,
    `monit to stop etcd on ${vmName(vm.group, vm.index)}`,
    40_000,
  );
  await waitServerExited(vm, server);
}

/**
 * monit persists which services are monitored in its state file at the end of the cycle in which
 * that changed, and a rebooted VM's monit restores it: a VM killed (vm-down) within a cycle of a
 * `monit start` would come back with etcd unmonitored. Healing waits for that save (at most one cycle
 * and a little), so a later fault starts from what the operator would have had.
 */
async function waitMonitStateSaved(vm: TestbedVm, afterMs: number) {
  const file = path.join(vm.dir, 'vcap/monit/monit.state');
  const cycleMs = (readCycleSeconds() ?? STEMCELL_MONIT_CYCLE_S) * 1000;
  const deadline = afterMs + cycleMs + 2000;
  while (Date.now() < deadline) {
    try {
      if (fs.statSync(file).mtimeMs >= afterMs) return;
    } catch {
      /* not written yet */
    }
    await sleep(200);
  }
}

function readCycleSeconds(): number | undefined {
  try {
    return readTestbedState(resolveLayout().stateFile).etcd.monitCycleSeconds;
  } catch {
    return undefined;
  }
}

async function monitStartEtcd(vm: TestbedVm) {
  await inVm(vm.nsPid, 'monit start etcd');
  // start is asynchronous: wait until monit took it on (monitored again, no pending action)
  await waitMonitProcess(
    vm.dir,
    'etcd',
    (s) => s.monitor !== 0 && s.pendingAction === 0,
    `monit to start etcd on ${vmName(vm.group, vm.index)}`,
    40_000,
  );
  await waitMonitStateSaved(vm, Date.now());
}

function requireMaster(vm: TestbedVm, mode: string) {
  if (vm.group !== 'master') throw new Error(`--mode ${mode} needs a master instance (got ${vm.group}/${vm.index}).`);
}

export interface BreakResult {
  vm: string;
  mode: FaultMode;
  detail: string;
}

export async function breakInstance(ref: string, mode: FaultMode, opts: TestbedOptions = {}): Promise<BreakResult> {
  const L = resolveLayout(opts);
  const state = readTestbedState(L.stateFile);
  const vm = findVm(state, ref);
  const name = vmName(vm.group, vm.index);
  let detail = '';
  const rec: FaultRecord = { vm: name, mode, at: new Date().toISOString() };
  switch (mode) {
    case 'wipe':
      requireMaster(vm, mode);
      await monitStopEtcd(vm);
      await inVm(vm.nsPid, 'rm -rf /var/vcap/store/etcd/*');
      await inVm(vm.nsPid, 'monit start etcd');
      detail = `etcd stopped, /var/vcap/store/etcd emptied, monit start etcd issued on ${name}`;
      break;
    case 'corrupt': {
      requireMaster(vm, mode);
      await monitStopEtcd(vm);
      // zero both bbolt meta pages and scribble over the first data pages: etcd panics opening the db
      await inVm(
        vm.nsPid,
        `set -e; db=/var/vcap/store/etcd/member/snap/db; test -f $db || { echo "no $db on ${name}" >&2; exit 1; }
        dd if=/dev/zero of=$db bs=4096 count=2 conv=notrunc status=none
        dd if=/dev/urandom of=$db bs=4096 seek=2 count=4 conv=notrunc status=none`,
      );
      await inVm(vm.nsPid, 'monit start etcd');
      detail = `member/snap/db on ${name} damaged (meta pages zeroed), monit start etcd issued`;
      break;
    }
    case 'stop':
      requireMaster(vm, mode);
      await monitStopEtcd(vm);
      detail = `monit stopped etcd on ${name}`;
      break;
    case 'vm-down':
      await killVms([vm.dir]);
      detail = `every process of ${name} killed (sshd, monit, jobs): the VM is down`;
      break;
    case 'ssh-drop': {
      const n = killSshSessions(vm.nsPid);
      detail = `${n} established ssh session(s) of ${name} killed; sshd still listens on ${vm.ip}:22`;
      break;
    }
    case 'slow-endpoint': {
      requireMaster(vm, mode);
      const pid = etcdServerPid(vm);
      process.kill(pid, 'SIGSTOP');
      rec.etcdPid = pid;
      detail = `etcd (pid ${pid}) on ${name} frozen with SIGSTOP: ${vm.ip}:2379 accepts TCP but never answers`;
      break;
    }
    case 'bootstrap-wipe':
      requireMaster(vm, mode);
      if (!vm.bootstrap)
        throw new Error(`--mode bootstrap-wipe needs the bootstrap master (${name} is not; use master/0).`);
      // the runbook's wipe, on the bootstrap instance: its start script forms a new one-member cluster
      await monitStopEtcd(vm);
      await inVm(vm.nsPid, 'rm -rf /var/vcap/store/etcd/*');
      await monitStartEtcd(vm);
      await waitFor(
        `${name} to answer as a one-member cluster`,
        60_000,
        async () =>
          (
            await etcdctlIn(vm, '--dial-timeout=1s --command-timeout=2s endpoint health', {
              local: true,
              allowFail: true,
            })
          ).code === 0,
        300,
      );
      detail = `etcd on the bootstrap master ${name} wiped the runbook's way: it formed a new one-member cluster (split brain)`;
      break;
    case 'two-down': {
      requireMaster(vm, mode);
      const ms = masters(state);
      if (ms.length < 5) throw new Error(`--mode two-down needs 5 masters for quorum to hold (up --masters 5).`);
      const second = ms[(ms.indexOf(vm) + 1) % ms.length];
      await Promise.all([monitStopEtcd(vm), monitStopEtcd(second)]);
      const other = vmName(second.group, second.index);
      writeFaults(L, [...readFaults(L), { vm: other, mode, at: rec.at }]);
      detail = `monit stopped etcd on ${name} and ${other}`;
      break;
    }
    case 'network-path': {
      requireMaster(vm, mode);
      rec.saved = await blockClientPortFromOutside(L, vm);
      detail = `etcd on ${name} serves clients on ${localClientIp(L, vm)}:2379 only (the VM's own name for itself points there): ${vm.ip}:2379 refuses connections from outside`;
      break;
    }
    case 'near-quota': {
      requireMaster(vm, mode);
      const quota = etcdQuotaBytes(vm);
      if (!quota) throw new Error(`--mode near-quota needs a testbed with a quota (up --quota-mb N).`);
      const size = await fillUntil(state, vm, (db) => db >= 0.85 * quota, false);
      detail = `filled etcd to ${size} bytes of its ${quota}-byte quota`;
      break;
    }
    case 'nospace': {
      requireMaster(vm, mode);
      if (!etcdQuotaBytes(vm)) throw new Error(`--mode nospace needs a testbed with a small quota (up --quota-mb N).`);
      await fillUntil(state, vm, () => false, true);
      detail = `filled etcd until it raised the NOSPACE alarm`;
      break;
    }
    case 'quorum-loss': {
      requireMaster(vm, mode);
      const { quorumLoss } = await import('./disaster');
      const wiped = (await quorumLoss(state, vm)).map((w) => vmName(w.group, w.index));
      writeFaults(L, [...readFaults(L), ...wiped.filter((w) => w !== name).map((w) => ({ vm: w, mode, at: rec.at }))]);
      detail = `quorum lost: etcd stopped and its data wiped on ${wiped.join(', ')}; the others run without quorum`;
      break;
    }
    default:
      throw new Error(`Unknown --mode "${mode}": use one of ${FAULT_MODES.join(', ')}.`);
  }
  if (mode !== 'ssh-drop') writeFaults(L, [...readFaults(L), rec]);
  return { vm: name, mode, detail };
}

/**
 * Children of the VM's listening sshd are the per-connection sshd processes; each has a privilege-
 * separated child holding the socket and the session's processes below it. Kill every descendant
 * (the connections drop as on a network failure); count the connections.
 */
function killSshSessions(listenerPid: number): number {
  const children = new Map<number, number[]>();
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid)!.push(Number(ent));
    } catch {
      /* gone */
    }
  }
  const connections = children.get(listenerPid) ?? [];
  const all: number[] = [];
  const walk = (pid: number) => {
    all.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  connections.forEach(walk);
  for (const pid of all) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return connections.length;
}

export interface HealOptions extends TestbedOptions {
  rebuild?: boolean;
  log?: (l: string) => void;
}

/**
 * Undoes recorded faults (all, or those of one instance): stop → monit start; vm-down → boot the VM
 * again; slow-endpoint → SIGCONT. wipe/corrupt lose data: only `rebuild` fixes them, by the runbook.
 * With `rebuild` and an instance that has no recorded fault, it rebuilds that member anyway.
 */
export async function heal(ref?: string, opts: HealOptions = {}): Promise<string[]> {
  const L = resolveLayout(opts);
  const log = opts.log ?? (() => {});
  let state = readTestbedState(L.stateFile);
  const target = ref ? vmName(findVm(state, ref).group, findVm(state, ref).index) : undefined;
  const done: string[] = [];
  // Instance states set through BOSH commands first: `bosh start` / `recreate` / `unignore`.
  const overrides = readInstanceStates(L.directorDir);
  for (const vm of state.vms) {
    const o = overrides[vm.id];
    if (!o || o.state === 'normal' || (target && vmName(vm.group, vm.index) !== target)) continue;
    await setInstanceState(vm.id, 'normal', { ...opts, wait: false });
    done.push(`${vmName(vm.group, vm.index)}: ${o.state} → normal`);
  }
  state = readTestbedState(L.stateFile);
  const faults = readFaults(L);
  const mine = faults.filter((f) => !target || f.vm === target);
  const remaining = faults.filter((f) => !mine.includes(f));
  if (target && opts.rebuild && !mine.some((f) => ['wipe', 'bootstrap-wipe', 'corrupt'].includes(f.mode))) {
    mine.push({ vm: target, mode: 'wipe', at: new Date().toISOString() });
  }
  const byVm = (name: string) => state.vms.find((v) => vmName(v.group, v.index) === name)!;
  // order: bring VMs back and unfreeze first, then restarts, then rebuilds
  const order: FaultMode[] = [
    'vm-down',
    'slow-endpoint',
    'stop',
    'two-down',
    'network-path',
    'nospace',
    'near-quota',
    'ssh-drop',
    'wipe',
    'bootstrap-wipe',
    'corrupt',
  ];
  mine.sort((a, b) => order.indexOf(a.mode) - order.indexOf(b.mode));
  const unhealed: FaultRecord[] = [];
  const rebuilt = new Set<string>();
  let shrunk = false;
  for (const f of mine) {
    const vm = byVm(f.vm);
    switch (f.mode) {
      case 'vm-down':
        if (vmProcesses([vm.dir]).size === 0) {
          vm.nsPid = await bootVm(runtimeOf(vm), L.logs);
          await waitSshd(runtimeOf(vm));
          writeState(L, state);
        }
        done.push(`${f.vm}: VM booted again (nsPid ${vm.nsPid})`);
        break;
      case 'slow-endpoint':
        try {
          process.kill(f.etcdPid!, 'SIGCONT');
        } catch {
          /* gone */
        }
        done.push(`${f.vm}: etcd (pid ${f.etcdPid}) resumed`);
        break;
      case 'stop':
      case 'two-down':
        await monitStartEtcd(vm);
        done.push(`${f.vm}: monit start etcd`);
        break;
      case 'network-path':
        for (const s of f.saved ?? []) fs.writeFileSync(s.file, s.content);
        await monitStopEtcd(vm);
        await monitStartEtcd(vm);
        done.push(`${f.vm}: etcd serves clients on ${vm.ip}:2379 again`);
        break;
      case 'near-quota':
      case 'nospace':
        if (!shrunk) {
          await shrinkEtcd(state);
          shrunk = true;
        }
        done.push(`${f.vm}: filler keys deleted, compacted, defragmented, alarms disarmed`);
        break;
      case 'ssh-drop':
        break;
      case 'quorum-loss':
        unhealed.push(f);
        break;
      case 'wipe':
      case 'bootstrap-wipe':
      case 'corrupt':
        if (!opts.rebuild) {
          unhealed.push(f);
          break;
        }
        if (!rebuilt.has(f.vm)) {
          await rebuildMember(state, vm, log);
          rebuilt.add(f.vm);
        }
        done.push(`${f.vm}: etcd member rebuilt by the runbook (was ${f.mode})`);
        break;
    }
  }
  writeFaults(L, [...remaining, ...unhealed]);
  state = readTestbedState(L.stateFile);
  const down = state.vms.filter((v) => vmProcesses([v.dir]).size === 0);
  if (unhealed.length === 0 && down.length === 0 && remaining.length === 0) {
    await waitClusterHealthy(masters(state), 90_000);
    await waitAllMonitRunning(state.vms, 60_000);
  }
  if (unhealed.length) {
    throw new Error(
      `${unhealed.map((f) => `${f.vm} (${f.mode})`).join(', ')}: the data is gone; recover the member (the wizard, or the runbook), or run \`npm run testbed -- heal ${unhealed[0].vm.replace('-', '/')} --rebuild\`.`,
    );
  }
  return done;
}

/**
 * The runbook, done by the harness through nsenter: stop etcd, empty the store, remove the member
 * (and any nameless self-added one) on a healthy master, mkdir/chown member/, member add, start.
 */
export async function rebuildMember(state: TestbedState, vm: TestbedVm, log: (l: string) => void = () => {}) {
  const name = vmName(vm.group, vm.index);
  const others = masters(state).filter((m) => m.id !== vm.id);
  await monitStopEtcd(vm);
  await inVm(vm.nsPid, 'rm -rf /var/vcap/store/etcd/*');
  const good = await waitFor(
    'a healthy master to run member remove/add on',
    30_000,
    async () => {
      for (const m of others) {
        const r = await etcdctlIn(m, '--dial-timeout=1s --command-timeout=3s endpoint health', {
          local: true,
          allowFail: true,
        });
        if (r.code === 0) return m;
      }
      return undefined;
    },
    300,
  );
  const list = (await etcdctlIn(good, 'member list', { local: true })).stdout
    .trim()
    .split('\n')
    .map((l) => l.split(', '));
  for (const row of list) {
    if (row[2] === vm.id || row[3] === vm.etcdPeerUrl) {
      log(`${name}: member remove ${row[0]}`);
      await etcdctlIn(good, `member remove ${row[0]}`, { local: true });
    }
  }
  await inVm(vm.nsPid, 'mkdir -p /var/vcap/store/etcd/member && chown -R vcap:vcap /var/vcap/store/etcd');
  await waitFor(
    `member add ${vm.id}`,
    30_000,
    async () =>
      (await etcdctlIn(good, `member add ${vm.id} --peer-urls ${q(vm.etcdPeerUrl!)}`, { local: true, allowFail: true }))
        .code === 0,
    500,
  );
  await monitStartEtcd(vm);
  await waitMonitProcess(vm.dir, 'etcd', (s) => processState(s) === 'running', `etcd running on ${name}`, 30_000);
}

// ------------------------------------------------------------------------------------ instance states

export interface SetInstanceStateOptions extends TestbedOptions {
  /** With `normal`: wait until etcd is healthy and every monit process runs again (default true). */
  wait?: boolean;
}

const vcapServicesOf = async (vm: TestbedVm) => (await monitStatus(vm.dir)).filter((s) => s.type === 3);

async function monitGroup(vm: TestbedVm, action: 'start' | 'stop') {
  await inVm(vm.nsPid, `monit -g vcap ${action}`);
  await waitFor(
    `monit to ${action} every job of ${vmName(vm.group, vm.index)}`,
    60_000,
    async () =>
      (await vcapServicesOf(vm)).every(
        (s) => s.pendingAction === 0 && (action === 'stop' ? s.monitor === 0 : s.monitor !== 0),
      ),
    200,
  );
}

/** The agent's `stopped` file: the agent reports job_state `stopped` while it exists. */
const stoppedFile = (vm: TestbedVm) => path.join(vm.dir, 'vcap', 'monit', 'stopped');

async function ensureVmUp(L: Layout, state: TestbedState, vm: TestbedVm) {
  if (vmProcesses([vm.dir]).size > 0) return;
  vm.nsPid = await bootVm(runtimeOf(vm), L.logs);
  await waitSshd(runtimeOf(vm));
  writeState(L, state);
}

/**
 * Puts one instance in the state that a BOSH command leaves it in, on both sides: the Director
 * stand-in shows it (instance-states.ts), and the VM matches, so etcd and the Director agree.
 *   stopped     `bosh stop`: monit stops every job (as the agent does) and the agent's `stopped` file is written.
 *   detached    `bosh stop --hard`: jobs stopped, then the VM deleted (every process of it ends, as vm-down).
 *   deleted-vm  `bosh delete-vm`: the VM deleted at once, without stopping the jobs.
 *   ignored     `bosh ignore`: nothing changes on the VM.
 *   normal      `bosh start` / `recreate` / `unignore`: the VM boots again if it was deleted (with a new
 *               CID and agent id, as a new VM has), the jobs start, and (by default) it waits for a
 *               healthy etcd cluster and running monit processes.
 */
export async function setInstanceState(
  ref: string,
  target: InstanceStateName,
  opts: SetInstanceStateOptions = {},
): Promise<string> {
  if (!INSTANCE_STATES.includes(target))
    throw new Error(`Unknown instance state "${target}": use one of ${INSTANCE_STATES.join(', ')}.`);
  const L = resolveLayout(opts);
  const state = readTestbedState(L.stateFile);
  const vm = findVm(state, ref);
  const name = vmName(vm.group, vm.index);
  if (vm.group === 'jumpbox') throw new Error('The jump host is not a BOSH instance: choose a master or a worker.');
  const current = readInstanceStates(L.directorDir)[vm.id];
  const hadVm = current?.state !== 'detached' && current?.state !== 'deleted-vm';
  switch (target) {
    case 'stopped':
    case 'ignored':
      if (!hadVm) throw new Error(`${name} has no VM (${current?.state}): set it to normal first.`);
      await ensureVmUp(L, state, vm);
      if (target === 'stopped') {
        await monitGroup(vm, 'stop');
        fs.writeFileSync(stoppedFile(vm), '');
      }
      setInstanceOverride(L.directorDir, vm.id, { ...current, state: target });
      return target === 'stopped'
        ? `${name}: stopped (monit stopped its jobs; the Director shows state stopped)`
        : `${name}: ignored by the Director (ignore: true)`;
    case 'detached':
    case 'deleted-vm':
      if (hadVm && vmProcesses([vm.dir]).size > 0) {
        if (target === 'detached') await monitGroup(vm, 'stop').catch(() => undefined);
        await killVms([vm.dir]);
      }
      fs.rmSync(stoppedFile(vm), { force: true });
      setInstanceOverride(L.directorDir, vm.id, { state: target });
      return `${name}: VM deleted (${target === 'detached' ? 'bosh stop --hard: state detached' : 'bosh delete-vm: state started, no VM'})`;
    case 'normal': {
      if (!hadVm) {
        // A new VM: new CID, agent id and creation time, as the Director records them.
        vm.vmCid = `vm-${crypto.randomUUID()}`;
        vm.agentId = crypto.randomUUID();
        await killVms([vm.dir]);
        await ensureVmUp(L, state, vm);
        writeState(L, state);
        setInstanceOverride(L.directorDir, vm.id, {
          state: 'normal',
          vm: { cid: vm.vmCid, agentId: vm.agentId, createdAt: rubyIso8601(new Date()) },
        });
      } else {
        await ensureVmUp(L, state, vm);
        setInstanceOverride(L.directorDir, vm.id, { state: 'normal', vm: current?.vm });
      }
      const wasStopped = fs.existsSync(stoppedFile(vm));
      fs.rmSync(stoppedFile(vm), { force: true });
      // monit keeps unmonitored services so across a reboot (its state file): start them like the agent does.
      const services = await waitFor(
        `monit of ${name} to answer`,
        30_000,
        async () => {
          const l = await vcapServicesOf(vm);
          return l.length ? l : undefined;
        },
        200,
      );
      if (wasStopped || services.some((s) => s.monitor === 0)) await monitGroup(vm, 'start');
      if (opts.wait !== false) {
        await waitClusterHealthy(masters(state), 90_000);
        await waitAllMonitRunning([vm], 60_000);
      }
      return `${name}: normal (${hadVm ? 'jobs running' : `new VM ${vm.vmCid}`})`;
    }
  }
}

/** Instance states that differ from normal, by instance name (for status). */
export function instanceStates(opts: TestbedOptions = {}): Record<string, InstanceStateName> {
  const L = resolveLayout(opts);
  const state = readTestbedState(L.stateFile);
  const all = readInstanceStates(L.directorDir);
  const out: Record<string, InstanceStateName> = {};
  for (const vm of state.vms) {
    const s = all[vm.id]?.state;
    if (s && s !== 'normal') out[vmName(vm.group, vm.index)] = s;
  }
  return out;
}

// ------------------------------------------------------------------------------------ status

/**
 * Whether etcd authentication is on, asked of one master. etcdctl 3.5 has `auth status`; 3.4's does
 * not: there a root-only request with the non-root certificate (etcdctl.crt) tells.
 */
export async function authStatus(m: TestbedVm): Promise<boolean | undefined> {
  const r = await etcdctlIn(m, '--dial-timeout=1s --command-timeout=3s auth status', { local: true, allowFail: true });
  const said = /Authentication Status:\s*(true|false)/.exec(r.stdout);
  if (said) return said[1] === 'true';
  const probe = await inVm(
    m.nsPid,
    `LOCAL=true; source /var/vcap/jobs/etcd/bin/utils.sh; ETCDCTL_API=3 /var/vcap/packages/etcd/bin/etcdctl --dial-timeout=1s --command-timeout=3s --cacert /var/vcap/jobs/etcd/config/etcdctl-ca.crt --cert /var/vcap/jobs/etcd/config/etcdctl.crt --key /var/vcap/jobs/etcd/config/etcdctl.key --endpoints "$etcd_endpoint_address" user list`,
    { allowFail: true },
  );
  if (probe.code === 0) return false;
  if (/permission denied|user name not found|invalid auth/i.test(probe.stderr)) return true;
  return undefined;
}

export interface VmStatus {
  name: string;
  ip: string;
  up: boolean;
  monit: MonitService[];
}
export interface StatusResult {
  state: TestbedState;
  vms: VmStatus[];
  memberList: string;
  endpointStatus: string;
  /** From `auth status` on a master (undefined: no master answered). */
  authEnabled?: boolean;
  faults: FaultRecord[];
  /** Instances whose BOSH state is not normal, by name (`master-1` → `detached`). */
  instanceStates: Record<string, InstanceStateName>;
}

export async function status(opts: TestbedOptions = {}): Promise<StatusResult> {
  const L = resolveLayout(opts);
  const state = readTestbedState(L.stateFile);
  const vms: VmStatus[] = [];
  for (const vm of state.vms) {
    const upNow = vmProcesses([vm.dir]).size > 0;
    let monit: MonitService[] = [];
    if (upNow && vm.group !== 'jumpbox') {
      try {
        monit = await monitStatus(vm.dir);
      } catch {
        /* monit down */
      }
    }
    vms.push({ name: vmName(vm.group, vm.index), ip: vm.ip, up: upNow, monit });
  }
  let memberList = '(no master answered)';
  let endpointStatus = '';
  let authEnabled: boolean | undefined;
  for (const m of masters(state)) {
    if (!vms.find((v) => v.ip === m.ip)?.up) continue;
    const r = await etcdctlIn(m, '--dial-timeout=1s --command-timeout=3s member list -w table', {
      local: true,
      allowFail: true,
    });
    if (r.code !== 0) continue;
    memberList = r.stdout.trim();
    const e = await etcdctlIn(m, '--dial-timeout=1s --command-timeout=3s endpoint status -w table', {
      allowFail: true,
    });
    endpointStatus = (e.stdout + e.stderr).trim();
    authEnabled = await authStatus(m);
    break;
  }
  return {
    state,
    vms,
    memberList,
    endpointStatus,
    authEnabled,
    faults: readFaults(L),
    instanceStates: instanceStates(opts),
  };
}

export function formatStatus(s: StatusResult): string {
  const e = s.state.etcd;
  const out: string[] = [
    `deployment ${s.state.deployment}   Director ${s.state.director.url || '(none)'}`,
    `etcd ${e.version}   authentication ${s.authEnabled === undefined ? 'unknown (no master answered)' : s.authEnabled ? 'on' : 'OFF'}` +
      `   etcdutl on the VMs: ${e.etcdutl ? 'yes' : 'no'}   monit cycle ${e.monitCycleSeconds ?? '?'} s`,
  ];
  for (const v of s.vms) {
    const vm = s.state.vms.find((x) => x.ip === v.ip)!;
    out.push(
      `${v.name.padEnd(10)} ${vm.group}/${vm.id}  ${v.ip.padEnd(12)} ${v.up ? 'up' : 'DOWN'}${vm.bootstrap && vm.group === 'master' ? '  (bootstrap)' : ''}${s.instanceStates[v.name] ? `  [BOSH: ${s.instanceStates[v.name]}]` : ''}`,
    );
    for (const p of v.monit.filter((m) => m.type === 3))
      out.push(`    Process '${p.name}'`.padEnd(40) + processState(p));
  }
  if (s.faults.length) out.push('', 'faults: ' + s.faults.map((f) => `${f.vm} ${f.mode}`).join(', '));
  out.push('', s.memberList, '', s.endpointStatus);
  return out.join('\n');
}

// ------------------------------------------------------------------------------------ quota, fill, network path

const etcdJobScript = (vm: TestbedVm) => path.join(vm.dir, 'vcap/jobs/etcd/bin/etcd');

/** The job's `--quota-backend-bytes`, or null when it sets none. */
export function etcdQuotaBytes(vm: TestbedVm): number | null {
  const m = /--quota-backend-bytes=(\d+)/.exec(fs.readFileSync(etcdJobScript(vm), 'utf8'));
  return m ? Number(m[1]) : null;
}

async function dbSizeOf(vm: TestbedVm): Promise<number> {
  const r = await etcdctlIn(vm, 'endpoint status -w json', { local: true });
  return Number(/"dbSize":(\d+)/.exec(r.stdout)?.[1] ?? 0);
}

async function nospaceRaised(vm: TestbedVm): Promise<boolean> {
  const r = await etcdctlIn(vm, 'alarm list', { local: true, allowFail: true });
  return /NOSPACE/.test(r.stdout);
}

/** Writes filler keys in small steps until `enough(dbSize)` (or, with `untilNospace`, until NOSPACE). */
async function fillUntil(
  state: TestbedState,
  vm: TestbedVm,
  enough: (dbSize: number) => boolean,
  untilNospace: boolean,
): Promise<number> {
  const { fillEtcd } = await import('./fill');
  for (let round = 0; round < 400; round++) {
    const size = await dbSizeOf(vm);
    if (enough(size)) return size;
    if (untilNospace && (await nospaceRaised(vm))) return size;
    try {
      await fillEtcd(state, 0.5, 16 * 1024, `${FILL_ROUND_PREFIX}${round}/`);
    } catch (e) {
      if (!untilNospace || !/space exceeded|NOSPACE/i.test((e as Error).message)) throw e;
    }
  }
  throw new Error(`etcd on ${vmName(vm.group, vm.index)} did not reach the fill target`);
}
const FILL_ROUND_PREFIX = '/testbed/fill/round-';

/** Deletes the filler keys, compacts, defragments every member and disarms the alarms. */
async function shrinkEtcd(state: TestbedState) {
  const m = masters(state)[0];
  await etcdctlIn(m, `del --prefix ${q('/testbed/fill/')}`, { local: true, timeoutMs: 60_000 });
  const st = await etcdctlIn(m, 'endpoint status -w json', { local: true });
  const rev = /"revision":(\d+)/.exec(st.stdout)?.[1];
  if (rev) await etcdctlIn(m, `compact ${rev} --physical`, { local: true, allowFail: true, timeoutMs: 60_000 });
  for (const x of masters(state)) await etcdctlIn(x, 'defrag', { local: true, timeoutMs: 60_000 });
  await etcdctlIn(m, 'alarm disarm', { local: true });
}

/** The VM-local address its etcd serves clients on during the network-path fault. */
function localClientIp(L: Layout, vm: TestbedVm): string {
  return `${L.net}.${111 + vm.index}`;
}

/**
 * The network-path fault without a firewall (the testbed shares the host's network namespace and
 * Debian's iptables/nft may be absent): etcd's client listener moves to a VM-local address, and
 * the VM's own /etc/hosts points its etcd name there. On the VM (`LOCAL=true etcdctl`) etcd is
 * healthy; from outside, <ip>:2379 refuses connections. Peers keep using <ip>:2380.
 */
async function blockClientPortFromOutside(L: Layout, vm: TestbedVm): Promise<{ file: string; content: string }[]> {
  const alt = localClientIp(L, vm);
  const script = etcdJobScript(vm);
  const hosts = path.join(vm.dir, 'hosts');
  const saved = [script, hosts].map((file) => ({ file, content: fs.readFileSync(file, 'utf8') }));
  const listen = new RegExp(`(--listen-client-urls="?)https://${vm.ip.replace(/\./g, '\\.')}:2379`);
  if (!listen.test(saved[0].content))
    throw new Error(`${script}: no --listen-client-urls=https://${vm.ip}:2379 to move.`);
  const own = new RegExp(`^${vm.ip.replace(/\./g, '\\.')}(\\s+${vm.etcdFqdn!.replace(/\./g, '\\.')})$`, 'm');
  if (!own.test(saved[1].content)) throw new Error(`${hosts}: no line "${vm.ip} ${vm.etcdFqdn}".`);
  await monitStopEtcd(vm);
  fs.writeFileSync(script, saved[0].content.replace(listen, `$1https://${alt}:2379`));
  // in place: the file is bind-mounted over the VM's /etc/hosts
  fs.writeFileSync(hosts, saved[1].content.replace(own, `${alt}$1`));
  await monitStartEtcd(vm);
  await waitFor(
    `etcd on ${vmName(vm.group, vm.index)} healthy on ${alt}`,
    60_000,
    async () =>
      (await etcdctlIn(vm, '--dial-timeout=1s --command-timeout=2s endpoint health', { local: true, allowFail: true }))
        .code === 0,
    300,
  );
  return saved;
}
