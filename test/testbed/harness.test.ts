// The testbed itself: VMs are isolated namespaces with real sshd/monit/etcd, the etcd job behaves
// like cfcr's, faults can be injected and healed, and teardown leaves nothing behind.
import * as assert from 'assert';
import * as crypto from 'crypto';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  boshCliEnv,
  breakInstance,
  down,
  formatStatus,
  heal,
  isDirectorOf,
  masters,
  monitStatus,
  processState,
  readTestbedState,
  status,
  TestbedState,
  up,
} from './harness/index';
import { resolveLayout } from './harness/layout';
import { ssh, sshArgs, sudo } from './harness/openssh';
import { SHARED_DIR, SUDOERS_FILE, SUDO_GROUP } from './harness/shared';
import { run, tcpOpen, waitFor } from './harness/sh';
import { vmProcesses } from './harness/vm';

const ETCDCTL = 'ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl';

function memberRows(out: string): string[][] {
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(', '));
}

async function etcdHealthyEverywhere(s: TestbedState) {
  const ms = masters(s);
  await waitFor(
    'every endpoint healthy',
    60_000,
    async () => {
      const r = await sudo(s, ms[0], `${ETCDCTL} --dial-timeout=1s --command-timeout=2s endpoint health`, {
        allowFail: true,
      });
      return r.code === 0 && (r.stdout + r.stderr).split('is healthy').length - 1 === ms.length;
    },
    500,
  );
}

/** Runs a fault test; if it fails half-way, heals the instance so the next tests find a healthy cluster. */
async function withHeal(ref: string, body: () => Promise<void>, rebuild = false) {
  let ok = false;
  try {
    await body();
    ok = true;
  } finally {
    if (!ok)
      await heal(ref, { rebuild }).catch((e) =>
        process.stderr.write(`[testbed] heal after a failed test: ${(e as Error).message}\n`),
      );
  }
}

describe('testbed harness', function () {
  let s: TestbedState;
  before(() => {
    s = readTestbedState();
  });

  it('gives every VM its own mount namespace with its own /var/vcap, /etc/ssh and /etc/hosts', async () => {
    const hostNs = fs.readlinkSync('/proc/self/ns/mnt');
    const probe = `isolation-${process.pid}-${Date.now()}`;
    const m0 = masters(s)[0];
    fs.writeFileSync(path.join(m0.dir, 'vcap/data', probe), 'only on master-0');
    try {
      const seen = new Set<string>();
      for (const vm of s.vms) {
        const r = await ssh(
          s,
          vm,
          `readlink /proc/self/ns/mnt; cat /etc/ssh/ssh_host_ed25519_key.pub; test -e /var/vcap/data/${probe} && echo PROBE; getent hosts master-1.etcd.cfcr.internal; test -d /var/vcap/jobs/etcd && grep etcd_endpoint_address= /var/vcap/jobs/etcd/bin/utils.sh; true`,
        );
        assert.strictEqual(r.code, 0, r.stderr);
        const [ns, hostKey] = r.stdout.split('\n');
        assert.notStrictEqual(ns, hostNs, `${vm.group}/${vm.index} runs in the host's mount namespace`);
        assert.ok(!seen.has(ns), `${vm.group}/${vm.index} shares a mount namespace with another VM`);
        seen.add(ns);
        assert.strictEqual(
          hostKey.trim(),
          fs.readFileSync(path.join(vm.dir, 'ssh/ssh_host_ed25519_key.pub'), 'utf8').trim(),
        );
        assert.strictEqual(r.stdout.includes('PROBE'), vm === m0, `probe file visibility on ${vm.group}/${vm.index}`);
        assert.match(
          r.stdout,
          new RegExp(`^${masters(s)[1].ip.replace(/\./g, '\\.')}\\s+master-1\\.etcd\\.cfcr\\.internal`, 'm'),
        );
        if (vm.group === 'master') {
          assert.match(
            r.stdout,
            new RegExp(`etcd_endpoint_address="https://master-${vm.index}\\.etcd\\.cfcr\\.internal:2379"`),
          );
        } else {
          assert.doesNotMatch(r.stdout, /etcd_endpoint_address/);
        }
      }
      assert.ok(!fs.existsSync(`/var/vcap/data/${probe}`), 'the probe leaked into the host /var/vcap');
    } finally {
      fs.rmSync(path.join(m0.dir, 'vcap/data', probe), { force: true });
    }
  });

  it("runs a healthy etcd cluster whose members are named by the masters' instance UUIDs, with mutual TLS", async () => {
    const ms = masters(s);
    const r = await sudo(s, ms[1], `${ETCDCTL} member list`);
    const rows = memberRows(r.stdout);
    assert.strictEqual(rows.length, ms.length);
    for (const m of ms) {
      const row = rows.find((x) => x[2] === m.id);
      assert.ok(row, `no member named ${m.id}`);
      assert.strictEqual(row[1], 'started');
      assert.strictEqual(row[3], `https://master-${m.index}.etcd.cfcr.internal:2380`);
      assert.strictEqual(row[4], `https://master-${m.index}.etcd.cfcr.internal:2379`);
    }
    const health = await sudo(s, ms[1], `${ETCDCTL} endpoint health 2>&1`);
    assert.strictEqual(health.stdout.split('is healthy').length - 1, ms.length, health.stdout);
    // client certificates are required, and the server certificate has no IP SANs
    const noCert = await sudo(
      s,
      ms[1],
      `/usr/bin/etcdctl --cacert /var/vcap/jobs/etcd/config/etcdctl-ca.crt --endpoints https://master-1.etcd.cfcr.internal:2379 --dial-timeout=2s --command-timeout=3s endpoint health`,
      { allowFail: true },
    );
    assert.notStrictEqual(noCert.code, 0, 'etcd accepted a client without certificate');
    const cert = await run('openssl', [
      'x509',
      '-noout',
      '-ext',
      'subjectAltName',
      '-in',
      path.join(ms[0].dir, 'vcap/jobs/etcd/config/etcd.crt'),
    ]);
    assert.match(cert.stdout, /DNS:\*\.etcd\.cfcr\.internal/);
    assert.doesNotMatch(cert.stdout, /IP Address/);
  });

  it('answers `monit summary` over ssh, with etcd and the job processes running as vcap', async () => {
    for (const vm of s.vms.filter((v) => v.group !== 'jumpbox')) {
      const r = await sudo(s, vm, 'monit summary');
      const expected =
        vm.group === 'master'
          ? ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']
          : ['kubelet', 'kube-proxy'];
      for (const p of expected)
        assert.match(r.stdout, new RegExp(`\\b${p}\\s+OK\\s+Process`), `${vm.group}/${vm.index}: ${r.stdout}`);
    }
    // bpm's pidfile holds the job's start script, which runs etcd from the package as a child (no exec)
    const m = masters(s)[0];
    const r = await sudo(
      s,
      m,
      'pid=$(cat /var/vcap/sys/run/bpm/etcd/etcd.pid); child=$(pgrep -P "$pid"); stat -c %U /var/vcap/store/etcd; ' +
        'ps -o user= -p "$pid"; readlink /proc/"$pid"/exe; ps -o user= -p "$child"; ps -o args= -p "$child" | cut -d" " -f1',
    );
    assert.deepStrictEqual(
      r.stdout
        .trim()
        .split('\n')
        .map((x) => x.trim()),
      ['vcap', 'vcap', '/usr/bin/bash', 'vcap', '/var/vcap/packages/etcd/bin/etcd'],
    );
  });

  it('runs the etcd of the chosen version (3.5 by default) with authentication on, and `testbed status` says so', async () => {
    const m = masters(s)[0];
    const v = (await sudo(s, m, '/var/vcap/packages/etcd/bin/etcd --version')).stdout;
    assert.match(v, new RegExp(`etcd Version: ${s.etcd.version.replace(/\./g, '\\.')}\n`));
    assert.match(
      s.etcd.version,
      new RegExp(`^${(process.env.BOSH_ETCD_TESTBED_ETCD || '3.5').replace('.', '\\.')}\\.`),
    );
    const hasEtcdutl = (
      await sudo(s, m, 'test -x /var/vcap/packages/etcd/bin/etcdutl && echo yes || echo no')
    ).stdout.trim();
    assert.strictEqual(hasEtcdutl, s.etcd.etcdutl ? 'yes' : 'no');
    const st = await status();
    assert.strictEqual(st.authEnabled, true);
    assert.match(formatStatus(st), new RegExp(`etcd ${s.etcd.version.replace(/\./g, '\\.')}\\s+authentication on`));
  });

  it('lets the jump-host user reach a master by its etcd DNS name through the jumpbox (strict host keys)', async () => {
    const m = masters(s)[1];
    const j = s.jumpHost;
    const proxy = `ssh -F /dev/null -i ${j.privateKeyPath} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${s.staticSsh.knownHostsPath} -W %h:%p -p ${j.port} ${j.user}@${j.host}`;
    const args = sshArgs(s, m);
    args[args.length - 1] = `${s.staticSsh.user}@master-1.etcd.cfcr.internal`;
    const r = await run('ssh', ['-o', `ProxyCommand=${proxy}`, ...args, 'cat /var/vcap/jobs/etcd/bin/utils.sh'], {
      allowFail: true,
    });
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /etcd_endpoint_address="https:\/\/master-1\.etcd\.cfcr\.internal:2379"/);
    const env = boshCliEnv(s);
    assert.strictEqual(env.BOSH_ALL_PROXY, `ssh+socks5://${j.user}@${j.host}:22?private-key=${j.privateKeyPath}`);
    assert.strictEqual(env.BOSH_DEPLOYMENT, s.deployment);
    assert.match(s.deployment, /^service-instance_[0-9a-f-]{36}$/);
  });

  describe('faults', function () {
    // heal may boot a VM again (new nsPid): read the state afresh
    beforeEach(() => {
      s = readTestbedState();
    });

    it('stop: monit stops etcd (not monitored, port closed); heal starts it again', async () => {
      const vm = masters(s)[2];
      await withHeal(`master/${vm.index}`, async () => {
        await breakInstance(`master/${vm.index}`, 'stop');
        const etcd = (await monitStatus(vm.dir)).find((x) => x.name === 'etcd')!;
        assert.strictEqual(processState(etcd), 'unknown');
        assert.strictEqual(await tcpOpen(vm.ip, 2379), false);
        assert.match((await sudo(s, vm, 'monit summary')).stdout, /etcd\s+Not monitored/);
        await heal(`master/${vm.index}`);
        assert.strictEqual(processState((await monitStatus(vm.dir)).find((x) => x.name === 'etcd')!), 'running');
      });
      await etcdHealthyEverywhere(s);
    });

    it('state (CLI): a worker soft-stopped by `testbed state`, then a deleted VM; status shows it; heal brings it back', async () => {
      const worker = s.vms.find((v) => v.group === 'worker')!;
      const cli = path.join(__dirname, 'harness', 'cli.js');
      const testbed = (...args: string[]) => run(process.execPath, [cli, ...args], { allowFail: true });
      await withHeal('worker/0', async () => {
        const bad = await testbed('state', 'worker/0', 'sleeping');
        assert.strictEqual(bad.code, 1);
        assert.match(bad.stderr, /Unknown state "sleeping": use one of normal, stopped, detached, deleted-vm, ignored/);
        const stopped = await testbed('state', 'worker/0', 'stopped');
        assert.strictEqual(stopped.code, 0, stopped.stderr);
        assert.ok(fs.existsSync(path.join(worker.dir, 'vcap/monit/stopped')), "the agent's stopped file");
        assert.ok(
          (await monitStatus(worker.dir)).filter((x) => x.type === 3).every((x) => processState(x) === 'unknown'),
          'monit stopped every job',
        );
        assert.strictEqual((await testbed('state', 'worker/0', 'deleted-vm')).code, 0);
        assert.strictEqual(vmProcesses([worker.dir]).size, 0, 'the VM is gone');
        const st = await testbed('status');
        assert.match(st.stdout, /worker-0 .* DOWN\s+\[BOSH: deleted-vm\]/);
        await heal('worker/0');
      });
      const after = readTestbedState();
      const w = after.vms.find((v) => v.id === worker.id)!;
      assert.notStrictEqual(w.vmCid, worker.vmCid, 'a new VM, a new CID');
      assert.ok(!fs.existsSync(path.join(w.dir, 'vcap/monit/stopped')));
      assert.ok(
        (await monitStatus(w.dir)).filter((x) => x.type === 3).every((x) => processState(x) === 'running'),
        'every job runs again',
      );
      assert.doesNotMatch((await testbed('status')).stdout, /\[BOSH:/);
      s = after;
    });

    it('slow-endpoint: the client port accepts connections but never answers; heal resumes it', async () => {
      const vm = masters(s)[1];
      await breakInstance(vm.id, 'slow-endpoint');
      try {
        assert.strictEqual(await tcpOpen(vm.ip, 2379), true, 'the black-holed port should still accept TCP');
        const r = await sudo(s, vm, `LOCAL=true ${ETCDCTL} --dial-timeout=1s --command-timeout=2s endpoint health`, {
          allowFail: true,
        });
        assert.notStrictEqual(r.code, 0, 'a frozen endpoint answered');
        const other = await sudo(s, masters(s)[0], `LOCAL=true ${ETCDCTL} --command-timeout=3s get /testbed/probe`, {
          allowFail: true,
        });
        assert.strictEqual(other.code, 0, `the other members should keep serving: ${other.stderr}`);
      } finally {
        await heal(vm.id);
      }
      await etcdHealthyEverywhere(s);
    });

    it('ssh-drop: established sessions die, the listener stays', async () => {
      const vm = masters(s)[1];
      const child = spawn('ssh', [...sshArgs(s, vm), 'echo CONNECTED; sleep 120'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 255)));
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      await waitFor('the ssh session to be established', 15_000, async () => out.includes('CONNECTED'));
      const r = await breakInstance(`master/${vm.index}`, 'ssh-drop');
      assert.match(r.detail, /^[1-9]\d* established/);
      const code = await Promise.race([
        exited,
        new Promise<string>((res) => setTimeout(() => res('still running'), 10_000)),
      ]);
      assert.strictEqual(code, 255);
      const again = await ssh(s, vm, 'echo back');
      assert.strictEqual(again.stdout.trim(), 'back');
    });

    it('vm-down: every process of the VM stops; the cluster keeps quorum; heal boots it again', async () => {
      const vm = masters(s)[2];
      await withHeal(`master/${vm.index}`, async () => {
        await breakInstance(`master/${vm.index}`, 'vm-down');
        assert.strictEqual(vmProcesses([vm.dir]).size, 0);
        assert.strictEqual(await tcpOpen(vm.ip, 22), false);
        assert.strictEqual(await tcpOpen(vm.ip, 2379), false);
        await assert.rejects(monitStatus(vm.dir));
        // 2 of 3 keep quorum (after a new election if the killed member led)
        await waitFor(
          '2 of 3 members to take a write',
          30_000,
          async () =>
            (
              await sudo(
                s,
                masters(s)[0],
                `LOCAL=true ${ETCDCTL} --command-timeout=5s put /testbed/during-vm-down yes`,
                { allowFail: true },
              )
            ).code === 0,
          500,
        );
        await heal(`master/${vm.index}`);
      });
      const after = readTestbedState();
      const vmAfter = after.vms.find((v) => v.id === vm.id)!;
      assert.notStrictEqual(vmAfter.nsPid, vm.nsPid, 'state.nsPid was not updated after the reboot');
      await etcdHealthyEverywhere(after);
      const get = await sudo(after, vmAfter, `LOCAL=true ${ETCDCTL} get /testbed/during-vm-down --print-value-only`);
      assert.strictEqual(get.stdout.trim(), 'yes');
      s = after;
    });

    it('corrupt: etcd cannot start on a damaged db; plain heal refuses, heal --rebuild replaces the member', async () => {
      const vm = masters(s)[2];
      const before = memberRows((await sudo(s, masters(s)[0], `${ETCDCTL} member list`)).stdout).find(
        (x) => x[2] === vm.id,
      )![0];
      await withHeal(
        `master/${vm.index}`,
        async () => {
          await breakInstance(`master/${vm.index}`, 'corrupt');
          await waitFor(
            'etcd to fail on the damaged db',
            30_000,
            async () => {
              const log = fs.readFileSync(path.join(vm.dir, 'vcap/sys/log/etcd/etcd.stderr.log'), 'utf8');
              return /panic|invalid database|file size too small/.test(log);
            },
            300,
          );
          const r = await sudo(s, vm, `LOCAL=true ${ETCDCTL} --dial-timeout=1s --command-timeout=2s endpoint health`, {
            allowFail: true,
          });
          assert.notStrictEqual(r.code, 0);
          await assert.rejects(heal(`master/${vm.index}`), /--rebuild/);
          await heal(`master/${vm.index}`, { rebuild: true });
        },
        true,
      );
      await etcdHealthyEverywhere(s);
      const rows = memberRows((await sudo(s, masters(s)[0], `${ETCDCTL} member list`)).stdout);
      assert.strictEqual(rows.length, masters(s).length);
      const row = rows.find((x) => x[2] === vm.id)!;
      assert.strictEqual(row[1], 'started');
      assert.notStrictEqual(row[0], before, 'the rebuilt member should have a new id');
    });
  });

  describe('a second testbed (own dir and net)', function () {
    const tier = resolveLayout();
    const [, a, b] = tier.net.split('.').map(Number);
    const net = `127.${(a + 100) % 256}.${b}`;
    // one folder per tier testbed: a run killed before its `after` hook is cleaned up by the next one
    const dir = path.join(
      os.tmpdir(),
      `tb-second-${crypto.createHash('sha1').update(tier.dir).digest('hex').slice(0, 8)}`,
    );

    before(async () => {
      await down({ dir, net });
    });

    after(async () => {
      await down({ dir, net }).catch(() => undefined);
    });

    it("down signals the recorded Director only while it is this testbed's: a pid taken by another process is left alone", async () => {
      // the tier's Director is recognised by its command line
      assert.strictEqual(isDirectorOf(s.director.pid, resolveLayout().directorDir), true);
      assert.strictEqual(isDirectorOf(s.director.pid, path.join(dir, 'director')), false);
      // a group leader (as a setsid'd CI runner is) whose pid a stale director.pid names
      const other = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
      try {
        assert.strictEqual(isDirectorOf(other.pid!, path.join(dir, 'director')), false);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'director.pid'), String(other.pid));
        await down({ dir, net });
        assert.strictEqual(other.exitCode, null, 'the other process was not killed');
        process.kill(other.pid!, 0); // throws if it is gone
      } finally {
        other.kill('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('cleans up after a failed up: no process, folder or listener is left', async () => {
      // occupy master-0's ssh address so its sshd cannot bind: up must fail and undo everything
      const net0 = await import('net');
      const blocker = net0.createServer().listen(22, `${net}.11`);
      await new Promise((r) => blocker.once('listening', r));
      try {
        await assert.rejects(up({ dir, net }), /sshd|boot/i);
      } finally {
        blocker.close();
      }
      assert.ok(!fs.existsSync(dir), `${dir} left behind`);
      for (const name of ['jumpbox', 'master-0', 'master-1', 'master-2', 'worker-0']) {
        assert.strictEqual(vmProcesses([path.join(dir, 'vms', name)]).size, 0, `processes of ${name} left behind`);
      }
      assert.strictEqual(await tcpOpen(`${net}.12`, 22), false);
    });

    it('comes up next to the tier testbed and goes down leaving nothing, while the shared users stay for the other', async () => {
      const s2 = await up({ dir, net });
      assert.strictEqual(s2.vms.find((v) => v.group === 'jumpbox')!.ip, `${net}.10`);
      const ms2 = masters(s2);
      const r = await sudo(s2, ms2[0], `${ETCDCTL} member list`);
      assert.deepStrictEqual(
        memberRows(r.stdout)
          .map((x) => x[2])
          .sort(),
        ms2.map((m) => m.id).sort(),
      );
      // the two clusters are separate
      assert.ok(!memberRows(r.stdout).some((x) => masters(s).some((m) => m.id === x[2])));
      const dirs = s2.vms.map((v) => v.dir);
      await down({ dir, net });
      assert.strictEqual(vmProcesses(dirs).size, 0, 'VM processes left behind');
      assert.ok(!fs.existsSync(dir), `${dir} left behind`);
      for (const v of s2.vms) assert.strictEqual(await tcpOpen(v.ip, 22), false, `${v.ip}:22 still listening`);
      assert.strictEqual(await tcpOpen(`${net}.11`, 2379), false);
      if (s2.director.pid) assert.throws(() => process.kill(s2.director.pid, 0), 'Director stand-in still running');
      const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
      assert.ok(!mounts.includes(dir), 'a mount of the second testbed is visible');
      // the tier testbed is still up: the shared group, sudoers file and refcount stay
      assert.strictEqual((await run('getent', ['group', SUDO_GROUP], { allowFail: true })).code, 0);
      assert.ok(fs.existsSync(SUDOERS_FILE));
      assert.ok(fs.existsSync(SHARED_DIR));
      const still = await sudo(s, masters(s)[0], 'monit summary');
      assert.match(still.stdout, /etcd\s+OK/);
    });
  });
});
