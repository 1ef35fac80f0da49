// Testbed tier: the SSH layer (src/ssh) against the testbed's real sshd VMs and jump host.
import * as assert from 'assert';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { masters, readTestbedState, TestbedState, TestbedVm } from './harness/state';
import { connectVm, ConnectVmOptions } from '../../src/ssh/connection';
import { createGatewayDialer, directDial, GatewayDialer } from '../../src/ssh/gateway';
import { generateRsaKeyPair, parsePublicKeyLine, sha256Fingerprint } from '../../src/ssh/keys';
import { RemoteHost, SshError } from '../../src/ssh/types';

function rejectsWith(kind: SshError['kind'], re?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof SshError, `expected an SshError, got ${String(e)}`);
    assert.strictEqual(e.kind, kind, e.message);
    if (re) assert.match(e.message, re);
    return true;
  };
}

/**
 * Kills every sshd session process of a VM (the children of its sshd listener and their
 * descendants), so the TCP connections die at once: a real drop. (The harness's `ssh-drop` kills
 * only the [priv] monitors; the session's network child then lives until its command ends.)
 */
function killSshSessionTrees(listenerPid: number): number {
  const parent = new Map<number, number>();
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8');
      parent.set(Number(ent), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const victims: number[] = [];
  const under = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === listenerPid) return true;
    return false;
  };
  for (const pid of parent.keys()) if (under(pid)) victims.push(pid);
  for (const pid of victims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return victims.length;
}

function hostKeyLine(vm: TestbedVm, type: 'ed25519' | 'rsa'): string {
  return fs.readFileSync(path.join(vm.dir, 'ssh', `ssh_host_${type}_key.pub`), 'utf8').trim();
}

describe('ssh (testbed)', function () {
  this.timeout(60_000);
  let state: TestbedState;
  let m0: TestbedVm;
  let tmp: string;
  const opened: RemoteHost[] = [];

  function staticOpts(vm: TestbedVm, extra: Partial<ConnectVmOptions> = {}): ConnectVmOptions {
    return {
      label: `${vm.group}/${vm.id}`,
      host: vm.ip,
      user: state.staticSsh.user,
      privateKey: fs.readFileSync(state.staticSsh.privateKeyPath),
      knownHostsPath: state.staticSsh.knownHostsPath,
      dial: (h, p) => directDial(h, p),
      ...extra,
    };
  }
  async function open(o: ConnectVmOptions): Promise<RemoteHost> {
    const h = await connectVm(o);
    opened.push(h);
    return h;
  }

  before(() => {
    state = readTestbedState();
    m0 = masters(state)[0];
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tb-'));
  });
  after(async () => {
    await Promise.all(opened.map((h) => h.dispose()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('exec on a master (static user, known_hosts)', () => {
    let vm: RemoteHost;
    before(async () => {
      vm = await open(staticOpts(m0));
    });

    it('runs `sudo monit summary` in the VM and sees its etcd job', async () => {
      const r = await vm.exec('monit summary', { sudo: true });
      assert.strictEqual(r.code, 0, r.stderr);
      assert.match(r.stdout, /etcd\s+OK\s+Process/);
      const who = await vm.exec('id -u', { sudo: true });
      assert.strictEqual(who.stdout.trim(), '0');
    });

    it('reports a failing command with its exit code and stderr (no exception)', async () => {
      const r = await vm.exec('echo out; echo "no such thing" >&2; exit 3');
      assert.strictEqual(r.code, 3);
      assert.strictEqual(r.signal, null);
      assert.strictEqual(r.stdout, 'out\n');
      assert.strictEqual(r.stderr, 'no such thing\n');
    });

    it('reports a command killed by a signal', async () => {
      const r = await vm.exec('kill -TERM $$');
      assert.strictEqual(r.code, null);
      assert.strictEqual(r.signal, 'SIGTERM');
    });

    it('streams stdout/stderr as it arrives, passes stdin and env literally', async () => {
      const chunks: string[] = [];
      const errs: string[] = [];
      const r = await vm.exec('echo one; sleep 0.3; echo two; echo e >&2; cat; printf "%s" "$X"', {
        stdin: 'from-stdin\n',
        env: { X: "it's $(not) run" },
        onStdout: (c) => chunks.push(c),
        onStderr: (c) => errs.push(c),
      });
      assert.strictEqual(r.stdout, `one\ntwo\nfrom-stdin\nit's $(not) run`);
      assert.strictEqual(chunks.join(''), r.stdout);
      assert.ok(chunks.length >= 2, 'output arrived in more than one piece');
      assert.strictEqual(chunks[0], 'one\n');
      assert.strictEqual(errs.join(''), 'e\n');
    });

    it('times out a command, closes its channel, and stays usable', async () => {
      await assert.rejects(vm.exec('sleep 30', { timeoutMs: 500 }), rejectsWith('timeout', /sleep 30.*did not finish/));
      const r = await vm.exec('echo still-here');
      assert.strictEqual(r.stdout, 'still-here\n');
    });

    it('reads a root-only file (etcdctl.key, root:vcap 0640) through SFTP or the sudo fallback', async () => {
      const onHost = fs.readFileSync(path.join(m0.dir, 'vcap', 'jobs', 'etcd', 'config', 'etcdctl.key'));
      const got = await vm.readFile('/var/vcap/jobs/etcd/config/etcdctl.key');
      assert.ok(got.equals(onHost));
      const viaSudo = await vm.readFile('/var/vcap/jobs/etcd/config/etcdctl.key', { sudo: true });
      assert.ok(viaSudo.equals(onHost));
      await assert.rejects(vm.readFile('/var/vcap/does/not/exist'), rejectsWith('exec', /does not exist|Cannot read/));
    });

    it('forwards a local port to a remote port (reads sshd banner of another master through it)', async () => {
      const m1 = masters(state)[1];
      const fwd = await vm.forward(m1.ip, 22);
      const banner = await new Promise<string>((resolve, reject) => {
        const s = net.connect(fwd.localPort, '127.0.0.1');
        s.once('data', (d) => {
          resolve(d.toString());
          s.destroy();
        });
        s.once('error', reject);
      });
      assert.match(banner, /^SSH-2\.0-OpenSSH/);
      await fwd.close();
      await assert.rejects(
        new Promise((resolve, reject) => {
          const s = net.connect(fwd.localPort, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        }),
      );
      const st = await vm.openStream(m1.ip, 22);
      const b2 = await new Promise<string>((resolve) => st.once('data', (d: Buffer) => resolve(d.toString())));
      st.destroy();
      assert.match(b2, /^SSH-2\.0-OpenSSH/);
      await assert.rejects(
        vm.openStream('127.0.0.1', 1),
        rejectsWith('forward', /cannot open a connection to 127\.0\.0\.1:1/),
      );
    });

    it('opens a PTY shell that echoes, resizes and reports its exit code', async () => {
      const sh = await vm.shell({ cols: 80, rows: 24 });
      let out = '';
      sh.onData((d) => {
        out += d;
      });
      const closed = new Promise<number | null>((resolve) => sh.onClose(resolve));
      sh.resize(132, 40);
      sh.write('stty size; echo $((6*7))x; exit 7\n');
      const code = await closed;
      assert.strictEqual(code, 7);
      assert.match(out, /40 132/);
      assert.match(out, /42x/);
    });
  });

  describe('host keys', () => {
    it("connects when the pinned key is the VM's RSA key (the one the Director reports), although sshd prefers ed25519", async () => {
      const vm = await open(staticOpts(m0, { knownHostsPath: undefined, pinnedHostKey: hostKeyLine(m0, 'rsa') }));
      assert.strictEqual((await vm.exec('true')).code, 0);
    });

    it("fails hard when the pinned key is not the VM's key, and names both fingerprints", async () => {
      const other = generateRsaKeyPair().publicKey;
      const real = sha256Fingerprint(parsePublicKeyLine(hostKeyLine(m0, 'rsa')).blob);
      let prompted = false;
      await assert.rejects(
        connectVm(
          staticOpts(m0, {
            pinnedHostKey: other,
            hostKeyPrompt: async () => {
              prompted = true;
              return true;
            },
          }),
        ),
        rejectsWith('hostkey-changed', new RegExp(real.replace(/[+/]/g, '\\$&'))),
      );
      assert.strictEqual(prompted, false, 'a pinned key mismatch is never offered to the operator');
    });

    it('fails hard when known_hosts holds a different key for the host', async () => {
      const kh = path.join(tmp, 'kh_changed');
      const otherVm = masters(state)[1];
      fs.writeFileSync(kh, `${m0.ip} ${hostKeyLine(otherVm, 'ed25519')}\n${m0.ip} ${hostKeyLine(otherVm, 'rsa')}\n`);
      await assert.rejects(
        connectVm(staticOpts(m0, { knownHostsPath: kh, hostKeyPrompt: async () => true })),
        rejectsWith('hostkey-changed', /ssh-keygen -R/),
      );
    });

    it('asks about an unknown key with its SHA256 fingerprint; refusing stops, accepting connects', async () => {
      const kh = path.join(tmp, 'kh_empty');
      fs.writeFileSync(kh, '');
      const asked: string[][] = [];
      await assert.rejects(
        connectVm(
          staticOpts(m0, {
            knownHostsPath: kh,
            hostKeyPrompt: async (h, t, fp) => {
              asked.push([h, t, fp]);
              return false;
            },
          }),
        ),
        rejectsWith('hostkey-unknown'),
      );
      assert.strictEqual(asked.length, 1);
      const [h, t, fp] = asked[0];
      assert.strictEqual(h, m0.ip);
      const expected = sha256Fingerprint(parsePublicKeyLine(hostKeyLine(m0, t === 'ssh-rsa' ? 'rsa' : 'ed25519')).blob);
      assert.strictEqual(fp, expected);
      const vm = await open(staticOpts(m0, { knownHostsPath: kh, hostKeyPrompt: async () => true }));
      assert.strictEqual((await vm.exec('echo ok')).stdout, 'ok\n');
      await assert.rejects(
        connectVm(staticOpts(m0, { knownHostsPath: kh })),
        rejectsWith('hostkey-unknown', /unknown/),
      );
    });

    it('reports a refused login as auth', async () => {
      await assert.rejects(
        connectVm(staticOpts(m0, { privateKey: generateRsaKeyPair().privateKey })),
        rejectsWith('auth', /refused/),
      );
    });

    it('reports an address where nothing listens as connect', async () => {
      await assert.rejects(connectVm(staticOpts(m0, { host: m0.ip, port: 1 })), rejectsWith('connect', /Cannot reach/));
    });
  });

  describe('dropped connection', () => {
    it('fails the running command with "dropped", then reconnects for the next one', async () => {
      const vm = await open(staticOpts(m0, { keepaliveIntervalMs: 1000 }));
      const running = vm.exec('echo started; sleep 20; echo finished', { timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 700));
      assert.ok(killSshSessionTrees(m0.nsPid) > 0, 'an ssh session process was killed');
      await assert.rejects(running, rejectsWith('dropped', /dropped while 'echo started; sleep 20/));
      const r = await vm.exec('echo again');
      assert.strictEqual(r.stdout, 'again\n');
    });
  });

  describe('jump host', () => {
    let gw: GatewayDialer;
    before(async () => {
      const j = state.jumpHost;
      gw = await createGatewayDialer(
        { host: j.host, port: j.port, user: j.user, privateKeyPath: j.privateKeyPath },
        { knownHostsPath: state.staticSsh.knownHostsPath },
      );
    });
    after(async () => {
      await gw?.dispose();
    });

    it('reaches a VM by a name only the jump host can resolve, and runs a command there', async () => {
      const fqdn = m0.etcdFqdn!;
      await assert.rejects(directDial(fqdn, 22, 3000), rejectsWith('connect'));
      const vm = await open(staticOpts(m0, { host: fqdn, dial: gw.dial }));
      const r = await vm.exec('monit summary', { sudo: true });
      assert.match(r.stdout, /etcd\s+OK\s+Process/);
    });

    it('reconnects to the jump host at the next dial after the connection dropped', async () => {
      const jumpbox = state.vms.find((v) => v.group === 'jumpbox')!;
      const st1 = await gw.dial(m0.ip, 22);
      st1.destroy();
      assert.ok(killSshSessionTrees(jumpbox.nsPid) > 0, 'the jump host session was killed');
      await new Promise((r) => setTimeout(r, 300));
      const st2 = await gw.dial(m0.ip, 22);
      const banner = await new Promise<string>((resolve) => st2.once('data', (d: Buffer) => resolve(d.toString())));
      st2.destroy();
      assert.match(banner, /^SSH-2\.0-OpenSSH/);
    });

    it('checks the jump host key against known_hosts too', async () => {
      const kh = path.join(tmp, 'kh_jump_changed');
      const j = state.jumpHost;
      fs.writeFileSync(kh, `${j.host} ${hostKeyLine(m0, 'ed25519')}\n${j.host} ${hostKeyLine(m0, 'rsa')}\n`);
      await assert.rejects(
        createGatewayDialer(
          { host: j.host, port: j.port, user: j.user, privateKeyPath: j.privateKeyPath },
          { knownHostsPath: kh },
        ),
        rejectsWith('hostkey-changed'),
      );
    });
  });
});
