// Programmatic testbed API: up, down, breakInstance, heal, status (the CLI in cli.ts wraps these).
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
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

export type FaultMode = 'wipe' | 'corrupt' | 'stop' | 'vm-down' | 'ssh-drop' | 'slow-endpoint';
export const FAULT_MODES: FaultMode[] = ['wipe', 'corrupt', 'stop', 'vm-down', 'ssh-drop', 'slow-endpoint'];

export interface UpOptions extends TestbedOptions {
  masters?: number;
  fillMb?: number;
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
    const keys = await buildTestbed(L, vms, { etcd: dist, monitCycleSeconds });
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
        if (r.code !== 0) return false;
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

/** The etcd server's pid: the job's start script (bpm's pidfile) runs it as a child, without exec. */
export function etcdServerPid(vm: TestbedVm): number {
  const scriptPid = Number(fs.readFileSync(etcdPidFile(vm), 'utf8').trim());
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[1] is the ppid, fields[3] the session id (bpm starts the job in a session of its own)
      if (Number(fields[3]) === scriptPid && path.basename(fs.readlinkSync(`/proc/${ent}/exe`)) === 'etcd')
        return Number(ent);
    } catch {
      /* gone */
    }
  }
  throw new Error(`No etcd process under the start script (pid ${scriptPid}) of ${vmName(vm.group, vm.index)}.`);
}

async function monitStopEtcd(vm: TestbedVm) {
  await inVm(vm.nsPid, 'monit stop etcd');
  await waitMonitProcess(
    vm.dir,
    'etcd',
    (s) => s.monitor === 0 && s.pendingAction === 0,
    `monit to stop etcd on ${vmName(vm.group, vm.index)}`,
    40_000,
  );
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
  const faults = readFaults(L);
  const mine = faults.filter((f) => !target || f.vm === target);
  const done: string[] = [];
  const remaining = faults.filter((f) => !mine.includes(f));
  if (target && opts.rebuild && !mine.some((f) => f.mode === 'wipe' || f.mode === 'corrupt')) {
    mine.push({ vm: target, mode: 'wipe', at: new Date().toISOString() });
  }
  const byVm = (name: string) => state.vms.find((v) => vmName(v.group, v.index) === name)!;
  // order: bring VMs back and unfreeze first, then restarts, then rebuilds
  const order: FaultMode[] = ['vm-down', 'slow-endpoint', 'stop', 'ssh-drop', 'wipe', 'corrupt'];
  mine.sort((a, b) => order.indexOf(a.mode) - order.indexOf(b.mode));
  const unhealed: FaultRecord[] = [];
  const rebuilt = new Set<string>();
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
        await monitStartEtcd(vm);
        done.push(`${f.vm}: monit start etcd`);
        break;
      case 'ssh-drop':
        break;
      case 'wipe':
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
  return { state, vms, memberList, endpointStatus, authEnabled, faults: readFaults(L) };
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
      `${v.name.padEnd(10)} ${vm.group}/${vm.id}  ${v.ip.padEnd(12)} ${v.up ? 'up' : 'DOWN'}${vm.bootstrap && vm.group === 'master' ? '  (bootstrap)' : ''}`,
    );
    for (const p of v.monit.filter((m) => m.type === 3))
      out.push(`    Process '${p.name}'`.padEnd(40) + processState(p));
  }
  if (s.faults.length) out.push('', 'faults: ' + s.faults.map((f) => `${f.vm} ${f.mode}`).join(', '));
  out.push('', s.memberList, '', s.endpointStatus);
  return out.join('\n');
}
