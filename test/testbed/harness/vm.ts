// One testbed "VM": a private mount namespace with its own /var/vcap, /etc/hosts, /etc/ssh and
// monit control file, running a real sshd (and monit on masters and workers). The namespace lives
// as long as one of its processes does; it has no PID or network namespace of its own.
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { bootScript } from './templates';
import { run, spawnToLog, sleep, waitFor, tcpOpen } from './sh';
// One monit XML parser and one agent state mapping for the testbed: the Director stand-in's.
import { parseMonitXml, processState, type MonitService } from '../director/agent-state';
export { processState, type MonitService };

export interface VmRuntime {
  name: string;
  dir: string;
  ip: string;
  withMonit: boolean;
}

/** Boots the VM's namespace (sshd, monit); resolves with the sshd pid (the VM's nsPid). */
export async function bootVm(vm: VmRuntime, logDir: string): Promise<number> {
  fs.mkdirSync(logDir, { recursive: true });
  const pidFile = path.join(vm.dir, 'vcap/sys/run/sshd.pid');
  // A (re)boot starts with an empty /var/vcap/sys/run (tmpfs on a real stemcell) and no monit pidfile:
  // a stale pid of a killed daemon may still be an unreaped zombie, which `kill -0` reports alive,
  // and monit/bpm would then believe the old process is running.
  fs.rmSync(path.join(vm.dir, 'vcap/sys/run'), { recursive: true, force: true });
  fs.mkdirSync(path.join(vm.dir, 'vcap/sys/run'), { recursive: true, mode: 0o755 });
  fs.rmSync(path.join(vm.dir, 'vcap/monit/monit.pid'), { force: true });
  fs.rmSync(path.join(vm.dir, 'vcap/monit/monit.sock'), { force: true });
  const fd = fs.openSync(path.join(logDir, `${vm.name}.boot.log`), 'a');
  try {
    const code = await spawnToLog(
      '/usr/bin/unshare',
      ['-m', '--propagation', 'private', '/bin/bash', '-c', bootScript(vm.dir, vm.withMonit)],
      fd,
    );
    if (code !== 0) {
      throw new Error(`VM ${vm.name} failed to boot (exit ${code}): see ${path.join(logDir, `${vm.name}.boot.log`)}`);
    }
  } finally {
    fs.closeSync(fd);
  }
  const pid = await waitFor(
    `sshd pidfile of ${vm.name}`,
    5000,
    async () => {
      const n = Number(fs.readFileSync(pidFile, 'utf8').trim());
      return n > 0 ? n : undefined;
    },
    20,
  );
  return pid;
}

export async function waitSshd(vm: VmRuntime, timeoutMs = 10_000) {
  await waitFor(`sshd of ${vm.name} on ${vm.ip}:22`, timeoutMs, () => tcpOpen(vm.ip, 22), 50);
}

const HOST_MNT_NS = (() => {
  try {
    return fs.readlinkSync('/proc/1/ns/mnt');
  } catch {
    return '';
  }
})();

/**
 * Every process living in the mount namespace of one of the given VM folders. A process belongs to
 * VM `dir` when its /var/vcap is a bind mount of `<dir>/vcap` (read from its mountinfo), so this
 * finds the VM's processes without trusting pids or namespace inode numbers, which get reused.
 */
export function vmProcesses(vmDirs: string[]): Map<string, number[]> {
  const result = new Map<string, number[]>();
  const nsOwner = new Map<string, string | null>();
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const pid = Number(ent);
    if (pid === process.pid) continue;
    let ns: string;
    try {
      ns = fs.readlinkSync(`/proc/${pid}/ns/mnt`);
    } catch {
      continue;
    }
    if (ns === HOST_MNT_NS) continue;
    if (!nsOwner.has(ns)) {
      let owner: string | null = null;
      try {
        const mi = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
        for (const line of mi.split('\n')) {
          const f = line.split(' ');
          if (f[4] !== '/var/vcap') continue;
          const root = f[3];
          owner =
            vmDirs.find((d) => {
              const want = path.join(d, 'vcap');
              return root.length > 1 && (want === root || (want.endsWith(root) && devOf(want) === f[2]));
            }) ?? null;
        }
      } catch {
        continue;
      }
      nsOwner.set(ns, owner);
    }
    const owner = nsOwner.get(ns);
    if (owner) {
      if (!result.has(owner)) result.set(owner, []);
      result.get(owner)!.push(pid);
    }
  }
  return result;
}

/** "major:minor" of the filesystem holding `p`, as /proc/<pid>/mountinfo writes it. */
function devOf(p: string): string | undefined {
  try {
    const dev = fs.statSync(p).dev;
    const major = ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    return `${major}:${minor}`;
  } catch {
    return undefined;
  }
}

/** Kills every process of the given VMs (SIGKILL, repeated until none is left): a hard power-off. */
export async function killVms(vmDirs: string[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const procs = vmProcesses(vmDirs);
    const pids = [...procs.values()].flat();
    if (pids.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `Could not stop processes ${pids.join(', ')} of ${[...procs.keys()].join(', ')}: kill them by hand (kill -9 <pid>).`,
      );
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await sleep(30);
  }
}

// ---------------------------------------------------------------------------------- monit

/** monit's XML status over the VM's control socket, read from the host like the Director stand-in does. */
export function monitStatus(vmDir: string, timeoutMs = 3000): Promise<MonitService[]> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: path.join(vmDir, 'vcap/monit/monit.sock'),
        path: '/_status?format=xml',
        method: 'GET',
        headers: { Host: 'localhost' },
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`monit status HTTP ${res.statusCode}`));
          resolve(parseMonitXml(body).services);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('monit status timed out')));
    req.on('error', reject);
    req.end();
  });
}

export async function waitMonitProcess(
  vmDir: string,
  name: string,
  want: (s: MonitService) => boolean,
  what: string,
  timeoutMs = 30_000,
) {
  return waitFor(
    what,
    timeoutMs,
    async () => {
      const s = (await monitStatus(vmDir)).find((x) => x.name === name && x.type === 3);
      return s && want(s) ? s : undefined;
    },
    100,
  );
}

export async function readPid(file: string): Promise<number | undefined> {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export { run };
