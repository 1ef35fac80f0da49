// A minimal stand-alone fixture for testing the Director stand-in without the full testbed:
// a few "VM" folders laid out like the harness's (`<dir>/vcap/monit/monit.sock`,
// `<dir>/ssh/{ssh_host_rsa_key.pub,authorized_keys/<user>}`), each with a REAL monit (own
// monitrc 0700, own pid/state/id files, unix socket) supervising a sleep loop, and a REAL sshd
// listening on the VM's loopback address. No mount namespaces: sshd reads the VM folder directly
// (`StrictModes no`, because the folder lives under /tmp).
//
// The fixture's temporary sudo group (NOPASSWD) and its sudoers.d file are its own, so that it
// never touches the testbed's `bosh_sudoers`.
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type { TestbedState, TestbedVm } from '../harness/state';

export interface FixtureVm extends TestbedVm {
  monitrc?: string;
}

export interface DirectorFixture {
  root: string;
  state: Omit<TestbedState, 'director'>;
  vms: FixtureVm[];
  sudoGroup: string;
  monit(vm: FixtureVm, ...args: string[]): string;
  teardown(): Promise<void>;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`fixture: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Builds the fixture: master-0 and master-1 (monit + sshd), worker-0 whose monit socket accepts
 * connections but never answers (an unresponsive agent), and a jumpbox (not in the deployment).
 */
export async function createDirectorFixture(): Promise<DirectorFixture> {
  const net3 = process.env.BOSH_ETCD_TESTBED_NET || '127.0.3';
  const root = fs.mkdtempSync('/tmp/bosh-director-test-');
  fs.chmodSync(root, 0o755); // the temporary users' sshd must traverse it to read their authorized_keys
  // per run, so that concurrent runs (another developer, CI) never remove each other's group
  const sudoGroup = `bosh_sudoers_dt${process.pid}`;
  const SUDOERS_FILE = `/etc/sudoers.d/bosh-etcd-director-test-${process.pid}`;
  const children: ChildProcess[] = [];
  const hangServers: net.Server[] = [];
  const vms: FixtureVm[] = [];
  let createdGroup = false;

  const teardown = async () => {
    for (const vm of vms) {
      if (vm.monitrc) {
        try {
          sh('monit', ['-c', vm.monitrc, 'quit']);
        } catch {
          /* not running */
        }
        for (const pidFile of [path.join(vm.dir, 'vcap', 'monit', 'monit.pid'), path.join(vm.dir, 'sleeper.pid')]) {
          try {
            process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
    }
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    for (const s of hangServers) s.close();
    await Promise.all(
      children.map((c) =>
        c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined,
      ),
    );
    if (createdGroup) {
      fs.rmSync(SUDOERS_FILE, { force: true });
      try {
        sh('groupdel', [sudoGroup]);
      } catch {
        /* members left? reported by the tests */
      }
    }
    fs.rmSync(root, { recursive: true, force: true });
  };

  try {
    try {
      sh('getent', ['group', sudoGroup]);
    } catch {
      sh('groupadd', [sudoGroup]);
      createdGroup = true;
      fs.writeFileSync(SUDOERS_FILE, `%${sudoGroup} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
      sh('visudo', ['-cf', SUDOERS_FILE]);
    }
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

    const spec: { group: string; index: number; ip: string; monit: 'real' | 'hang' | 'none'; sshd: boolean }[] = [
      { group: 'master', index: 0, ip: `${net3}.211`, monit: 'real', sshd: true },
      { group: 'master', index: 1, ip: `${net3}.212`, monit: 'real', sshd: true },
      { group: 'worker', index: 0, ip: `${net3}.221`, monit: 'hang', sshd: false },
      { group: 'jumpbox', index: 0, ip: `${net3}.210`, monit: 'none', sshd: false },
    ];
    for (const s of spec) {
      const dir = path.join(root, `${s.group}-${s.index}`);
      const vm: FixtureVm = {
        group: s.group,
        id: crypto.randomUUID(),
        index: s.index,
        az: `az${s.index + 1}`,
        ip: s.ip,
        bootstrap: s.index === 0,
        vmCid: `vm-${crypto.randomUUID()}`,
        vmType: s.group === 'master' ? 'medium.disk' : 'large.disk',
        agentId: crypto.randomUUID(),
        dir,
        nsPid: process.pid,
      };
      vms.push(vm);
      const monitDir = path.join(dir, 'vcap', 'monit');
      const sshDir = path.join(dir, 'ssh');
      fs.mkdirSync(monitDir, { recursive: true });
      fs.mkdirSync(path.join(sshDir, 'authorized_keys'), { recursive: true, mode: 0o755 });
      sh('ssh-keygen', [
        '-q',
        '-t',
        'rsa',
        '-b',
        '2048',
        '-N',
        '',
        '-C',
        `root@${s.group}-${s.index}`,
        '-f',
        path.join(sshDir, 'ssh_host_rsa_key'),
      ]);

      if (s.monit === 'real') {
        const rc = path.join(monitDir, 'monitrc');
        const pidFile = path.join(dir, 'sleeper.pid');
        fs.writeFileSync(
          rc,
          [
            'set daemon 1',
            `set logfile ${monitDir}/monit.log`,
            `set pidfile ${monitDir}/monit.pid`,
            `set idfile ${monitDir}/monit.id`,
            `set statefile ${monitDir}/monit.state`,
            `set httpd unixsocket ${monitDir}/monit.sock`,
            '  allow localhost',
            `check process sleeper with pidfile ${pidFile}`,
            `  start program "/bin/bash -c 'sleep 100000 >/dev/null 2>&1 & echo $! > ${pidFile}'"`,
            `  stop program "/bin/bash -c 'kill $(cat ${pidFile})'"`,
            '  group vcap',
            '',
          ].join('\n'),
          { mode: 0o700 },
        );
        fs.chmodSync(rc, 0o700);
        vm.monitrc = rc;
        sh('monit', ['-c', rc]);
      } else if (s.monit === 'hang') {
        const srv = net.createServer(() => undefined); // accepts, never answers
        await new Promise<void>((r) => srv.listen(path.join(monitDir, 'monit.sock'), r));
        hangServers.push(srv);
      }

      if (s.sshd) {
        const cfg = path.join(sshDir, 'sshd_config');
        fs.writeFileSync(
          cfg,
          [
            `ListenAddress ${s.ip}:22`,
            `HostKey ${path.join(sshDir, 'ssh_host_rsa_key')}`,
            `PidFile ${path.join(dir, 'sshd.pid')}`,
            `AuthorizedKeysFile ${path.join(sshDir, 'authorized_keys')}/%u`,
            'StrictModes no',
            'PermitRootLogin no',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'UsePAM yes',
            'PrintMotd no',
            '',
          ].join('\n'),
        );
        const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfg], {
          stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'sshd.log'), 'a')],
        });
        children.push(child);
      }
    }
    for (const vm of vms) {
      const s = spec.find((x) => x.ip === vm.ip)!;
      if (s.sshd) await waitFor(`sshd on ${vm.ip}:22`, () => portOpen(vm.ip, 22));
      if (s.monit === 'real') {
        await waitFor(`monit sleeper running on ${vm.group}/${vm.index}`, () => {
          try {
            return /sleeper\s+OK/.test(sh('monit', ['-c', vm.monitrc!, 'summary']));
          } catch {
            return false;
          }
        });
      }
    }
  } catch (e) {
    await teardown();
    throw e;
  }

  const state: Omit<TestbedState, 'director'> = {
    deployment: `service-instance_${crypto.randomUUID()}`,
    jumpHost: { host: `${net3}.210`, port: 22, user: 'jumpbox', privateKeyPath: '/nonexistent' },
    staticSsh: { user: 'vcap', privateKeyPath: '/nonexistent', knownHostsPath: '/nonexistent' },
    etcd: { caCertPath: '/nonexistent', version: '3.4.23' },
    vms: vms.map(({ monitrc: _m, ...v }) => v),
    createdAt: new Date().toISOString(),
  };
  return {
    root,
    state,
    vms,
    sudoGroup,
    monit: (vm, ...args) => sh('monit', ['-c', vm.monitrc!, ...args]),
    teardown,
  };
}
