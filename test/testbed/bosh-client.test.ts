// Testbed tier: the product's Director client (src/bosh/director/) and config resolution
// (src/bosh/config/) against the Director stand-in, directly and through the jump host.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as https from 'https';
import * as net from 'net';
import * as YAML from 'yaml';
import { resolveFromEnvironment } from '../../src/bosh/config';
import { createDirectorClient, DirectorClientOptions } from '../../src/bosh/director';
import { BoshError, DirectorClient, EnvironmentConfig, InstanceInfo } from '../../src/bosh/types';
import { createGatewayDialer, GatewayDialer } from '../../src/ssh/gateway';
import { boshSshUserName, generateRsaKeyPair } from '../../src/ssh/keys';
import { startDirector, RunningDirector } from './director/server';
import { userExists } from './director/ssh-users';
import { boshCliEnv } from './harness/env';
import { setInstanceState } from './harness/index';
import { tcpOpen } from './harness/sh';
import { masters, readTestbedState, TestbedState } from './harness/state';
import { etcdInstances } from '../../src/session/etcdEndpoints';

function boshError(kind: BoshError['kind'], re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof BoshError, `expected a BoshError, got ${String(e)}`);
    assert.strictEqual(e.kind, kind, `kind of: ${e.message}`);
    assert.match(e.message, re);
    return true;
  };
}

describe('BOSH Director client (src/bosh) against the stand-in', function () {
  this.timeout(90_000);
  let state: TestbedState;
  let home: string;
  let env: EnvironmentConfig;
  const clients: DirectorClient[] = [];
  const logs: string[] = [];

  const client = (e: EnvironmentConfig = env, o: DirectorClientOptions = {}) => {
    const c = createDirectorClient(e, { pollIntervalMs: 50, log: (l) => logs.push(l), ...o });
    clients.push(c);
    return c;
  };

  before(() => {
    state = readTestbedState();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-client-test-'));
    // Exactly what a bosh CLI user of this testbed exports; an empty HOME so no ~/.bosh/config interferes.
    env = resolveFromEnvironment({ env: boshCliEnv(state), home })!;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.dispose();
    logs.length = 0;
  });
  after(() => fs.rmSync(home, { recursive: true, force: true }));

  /** The direct environment: the bosh CLI env without the jump host. */
  const direct = (): EnvironmentConfig => ({ ...env, gateway: undefined });

  function checkInstances(list: InstanceInfo[]) {
    const ms = list.filter((i) => i.group === 'master');
    assert.strictEqual(ms.length, 3, 'three masters');
    const expected = masters(state);
    assert.deepStrictEqual(
      ms.map((m) => m.id),
      expected.map((v) => v.id),
      'masters by index, ids from the testbed',
    );
    for (const [i, m] of ms.entries()) {
      const vm = expected[i];
      assert.strictEqual(m.deployment, state.deployment);
      assert.strictEqual(m.index, vm.index);
      assert.strictEqual(m.az, vm.az);
      assert.deepStrictEqual(m.ips, [vm.ip]);
      assert.strictEqual(m.vmCid, vm.vmCid);
      assert.strictEqual(m.vmType, vm.vmType);
      assert.strictEqual(m.agentId, vm.agentId);
      assert.strictEqual(m.state, 'started');
      assert.strictEqual(m.processState, 'running', `master/${m.index} process state`);
      const etcd = m.processes.find((p) => p.name === 'etcd');
      assert.ok(etcd, `master/${m.index} lists its etcd process`);
      assert.strictEqual(etcd.state, 'running');
    }
    assert.strictEqual(ms.filter((m) => m.bootstrap).length, 1, 'exactly one bootstrap master');
    assert.strictEqual(ms.find((m) => m.bootstrap)!.id, expected.find((v) => v.bootstrap)!.id);
    const workers = list.filter((i) => i.group === 'worker');
    assert.ok(workers.length >= 1, 'a worker');
    const wvm = state.vms.find((v) => v.group === 'worker')!;
    assert.strictEqual(workers[0].vmCid, wvm.vmCid);
    const errand = list.find((i) => i.group === 'apply-addons');
    assert.ok(errand, 'the errand instance is listed');
    assert.strictEqual(errand.vmCid, null);
    assert.strictEqual(errand.processState, null);
    assert.deepStrictEqual(errand.ips, []);
    assert.deepStrictEqual(errand.processes, []);
  }

  it("resolves the testbed's bosh CLI environment (BOSH_ENVIRONMENT, BOSH_CA_CERT path, BOSH_CLIENT, BOSH_ALL_PROXY)", () => {
    assert.strictEqual(env.url, state.director.url);
    assert.strictEqual(env.caCert, state.director.caCert);
    assert.strictEqual(env.client, state.director.client);
    assert.strictEqual(env.clientSecret, state.director.clientSecret);
    assert.deepStrictEqual(env.gateway, {
      host: state.jumpHost.host,
      port: state.jumpHost.port,
      user: state.jumpHost.user,
      privateKeyPath: state.jumpHost.privateKeyPath,
    });
  });

  it('GET /info without credentials tells it is a UAA Director', async () => {
    const info = await client(direct()).info();
    assert.strictEqual(info.user_authentication.type, 'uaa');
    assert.strictEqual(info.user_authentication.options.url, state.director.uaaUrl);
    assert.strictEqual(info.user, null);
    assert.ok(info.uuid && info.version);
  });

  it('lists deployments with releases and stemcells', async () => {
    const ds = await client(direct()).deployments();
    const d = ds.find((x) => x.name === state.deployment);
    assert.ok(d, `deployment ${state.deployment} listed`);
    assert.ok(d.releases.length > 0 && d.releases.every((r) => r.name && r.version));
    assert.ok(d.stemcells.length > 0);
  });

  it('instances?format=full through the task: 3 masters, worker, errand without VM, one bootstrap master, processes', async () => {
    const c = client(direct());
    const list = await c.instances(state.deployment);
    checkInstances(list);
    // It went the CLI's way: a redirect, task polls, then the result output.
    assert.ok(
      logs.some((l) => /^GET \/deployments\/.*\/instances\?format=full -> 302/.test(l)),
      logs.join('\n'),
    );
    assert.ok(logs.some((l) => /^GET \/tasks\/\d+\/output\?type=result -> 200/.test(l)));
    assert.ok(logs.filter((l) => /^GET \/tasks\/\d+ -> 200/.test(l)).length >= 2, 'the task was polled until done');
    assert.ok(!logs.join('\n').includes(state.director.clientSecret), 'no secret in the log');
    assert.ok(!/bearer\s+ey/i.test(logs.join('\n')), 'no token in the log');
  });

  it('vms?format=full lists one entry per VM and no errand; the fast list has the same ids', async () => {
    const c = client(direct());
    const vms = await c.vms(state.deployment);
    const inDeployment = state.vms.filter((v) => v.group !== 'jumpbox');
    assert.deepStrictEqual(vms.map((v) => v.id).sort(), inDeployment.map((v) => v.id).sort());
    assert.ok(vms.every((v) => v.vmCid && v.group !== 'apply-addons'));
    const fast = await c.instancesFast(state.deployment);
    const m0 = fast.find((i) => i.id === masters(state)[0].id)!;
    assert.deepStrictEqual(m0, {
      group: 'master',
      id: masters(state)[0].id,
      index: 0,
      az: masters(state)[0].az,
      ips: [masters(state)[0].ip],
      vmCid: masters(state)[0].vmCid,
      agentId: masters(state)[0].agentId,
      expectsVm: true,
    });
    assert.ok(fast.some((i) => i.group === 'apply-addons' && i.vmCid === null));
  });

  it('SSH setup creates a temporary user with the VM host key; cleanup removes it', async () => {
    const c = client(direct());
    const m0 = masters(state)[0];
    const user = boshSshUserName();
    const { publicKey } = generateRsaKeyPair();
    const hosts = await c.sshSetup(state.deployment, { group: 'master', id: m0.id }, user, publicKey);
    try {
      assert.strictEqual(hosts.length, 1);
      assert.strictEqual(hosts[0].status, 'success');
      assert.strictEqual(hosts[0].ip, m0.ip);
      assert.strictEqual(hosts[0].id, m0.id);
      assert.match(hosts[0].host_public_key, /^ssh-(rsa|ed25519) AAAA/);
      assert.ok(userExists(user), `${user} exists after setup`);
    } finally {
      await c.sshCleanup(state.deployment, { group: 'master', id: m0.id }, user);
    }
    assert.ok(!userExists(user), `${user} is gone after cleanup`);
  });

  it('an SSH setup for an unknown instance fails as a task with the event log message', async () => {
    const c = client(direct());
    await assert.rejects(
      c.sshSetup(
        state.deployment,
        { group: 'master', id: '00000000-0000-4000-8000-000000000000' },
        boshSshUserName(),
        generateRsaKeyPair().publicKey,
      ),
      boshError('task', /^Expected task '\d+' to succeed but state is 'error': .*(No instance|matched)/),
    );
  });

  it('unknown deployment → not-found error naming it', async () => {
    await assert.rejects(
      client(direct()).instances('no-such-deployment'),
      boshError('not-found', /Deployment 'no-such-deployment' doesn't exist.*code 70000/),
    );
    await assert.rejects(client(direct()).task(99999999), boshError('not-found', /Task 99999999 not found/));
  });

  it('wrong CA → tls error that says to check BOSH_CA_CERT', async () => {
    const otherCa = fs.readFileSync(state.etcd.caCertPath, 'utf8'); // a real CA, just not the Director's
    await assert.rejects(
      client({ ...direct(), caCert: otherCa }).deployments(),
      boshError('tls', /TLS verification of the Director .* failed.*Check BOSH_CA_CERT/),
    );
  });

  it('wrong client secret → auth error that names the client and the variables', async () => {
    await assert.rejects(
      client({ ...direct(), clientSecret: 'wrong' }).deployments(),
      boshError(
        'auth',
        new RegExp(`rejected the client credentials of client '${state.director.client}'.*BOSH_CLIENT_SECRET`),
      ),
    );
  });

  it('no credentials → auth error that says what to set', async () => {
    await assert.rejects(
      client({ ...direct(), client: undefined, clientSecret: undefined }).deployments(),
      boshError('auth', /No credentials.*BOSH_CLIENT/),
    );
  });

  it('unreachable address → unreachable error that says what to check', async () => {
    const prefix = state.vms[0].ip.split('.').slice(0, 3).join('.');
    await assert.rejects(
      client({ ...direct(), url: `https://${prefix}.250:1` }).info(),
      boshError(
        'unreachable',
        /Director unreachable at https:\/\/.*\.250:1: .*ECONNREFUSED.*Check BOSH_ENVIRONMENT and the jump host/,
      ),
    );
  });

  it('a black-holed Director (accepts TCP, never answers) → unreachable error after the timeout, socket closed', async () => {
    const prefix = state.vms[0].ip.split('.').slice(0, 3).join('.');
    const held: net.Socket[] = [];
    let closed = 0;
    const hole = net.createServer((sock) => {
      held.push(sock);
      sock.on('error', () => undefined);
      sock.on('close', () => closed++);
      sock.resume(); // read (and ignore) the ClientHello, so the client's close is seen
    });
    await new Promise<void>((r) => hole.listen(0, `${prefix}.206`, r));
    try {
      const port = (hole.address() as net.AddressInfo).port;
      await assert.rejects(
        client({ ...direct(), url: `https://${prefix}.206:${port}` }, { timeoutMs: 500 }).info(),
        boshError('unreachable', /Director unreachable at .*: no connection within 500 ms/),
      );
      for (let i = 0; i < 50 && closed < held.length; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(held.length >= 1, 'the client connected');
      assert.strictEqual(closed, held.length, 'the client closed every connection it gave up on');
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => hole.close(r));
    }
  });

  describe('instance states left by BOSH commands (testbed `state`), seen by the client and on the VM', () => {
    const vm = () => masters(state)[2];
    const ref = () => `master/${vm().index}`;
    after(async () => {
      await setInstanceState(ref(), 'normal');
      state = readTestbedState();
    });

    async function reported() {
      const c = client(direct());
      const list = await c.instances(state.deployment);
      const fast = await c.instancesFast(state.deployment);
      const info = list.find((i) => i.id === vm().id)!;
      assert.ok(
        etcdInstances(list).some((i) => i.id === vm().id),
        'etcdInstances still lists the master, whatever its state',
      );
      return { c, info, fast: fast.find((i) => i.id === vm().id)! };
    }
    const summary = (i: InstanceInfo) => ({
      state: i.state,
      vmState: i.vmState,
      ignore: i.ignore,
      vmCid: i.vmCid,
      agentId: i.agentId,
      ips: i.ips,
      processState: i.processState,
    });

    it('ignored (bosh ignore): ignore true, VM and etcd untouched', async () => {
      await setInstanceState(ref(), 'ignored');
      const { info, fast } = await reported();
      assert.deepStrictEqual(summary(info), {
        state: 'started',
        vmState: 'present',
        ignore: true,
        vmCid: vm().vmCid,
        agentId: vm().agentId,
        ips: [vm().ip],
        processState: 'running',
      });
      assert.strictEqual(fast.expectsVm, true);
      assert.ok(await tcpOpen(vm().ip, 2379), 'etcd still serves');
    });

    it('stopped (bosh stop): state and job_state stopped, processes not monitored, etcd down, VM kept', async () => {
      await setInstanceState(ref(), 'stopped');
      const { info, fast } = await reported();
      assert.deepStrictEqual(summary(info), {
        state: 'stopped',
        vmState: 'present',
        ignore: false,
        vmCid: vm().vmCid,
        agentId: vm().agentId,
        ips: [vm().ip],
        processState: 'stopped',
      });
      assert.ok(info.processes.length > 0);
      assert.deepStrictEqual(
        info.processes.filter((p) => p.state !== 'unknown'),
        [],
        'the agent reports monit-stopped processes as unknown',
      );
      assert.strictEqual(fast.expectsVm, true);
      assert.strictEqual(await tcpOpen(vm().ip, 2379), false, 'etcd is stopped');
      assert.ok(await tcpOpen(vm().ip, 22), 'the VM is up');
    });

    it('detached (bosh stop --hard): no VM, no IPs, no job state, expects_vm false; the VM and its etcd are gone', async () => {
      await setInstanceState(ref(), 'detached');
      const { c, info, fast } = await reported();
      assert.deepStrictEqual(summary(info), {
        state: 'detached',
        vmState: 'detached',
        ignore: false,
        vmCid: null,
        agentId: null,
        ips: [],
        processState: null,
      });
      assert.deepStrictEqual(info.processes, []);
      assert.ok(info.diskCids.length > 0, 'the persistent disk stays');
      assert.deepStrictEqual([fast.expectsVm, fast.vmCid, fast.ips], [false, null, []]);
      assert.ok(!(await c.vms(state.deployment)).some((v) => v.id === vm().id), 'not among the VMs');
      assert.strictEqual(await tcpOpen(vm().ip, 2379), false);
      assert.strictEqual(await tcpOpen(vm().ip, 22), false);
      await assert.rejects(
        c.sshSetup(
          state.deployment,
          { group: 'master', id: vm().id },
          boshSshUserName(),
          generateRsaKeyPair().publicKey,
        ),
        boshError('task', /No instance with a VM/),
      );
    });

    it('deleted VM (bosh delete-vm): state started, expects_vm true, no VM, IPs or job state', async () => {
      await setInstanceState(ref(), 'deleted-vm');
      const { info, fast } = await reported();
      assert.deepStrictEqual(summary(info), {
        state: 'started',
        vmState: 'missing',
        ignore: false,
        vmCid: null,
        agentId: null,
        ips: [],
        processState: null,
      });
      assert.deepStrictEqual([fast.expectsVm, fast.vmCid, fast.ips], [true, null, []]);
      assert.strictEqual(await tcpOpen(vm().ip, 2379), false);
    });

    it('normal again: a new VM (new CID and agent) boots, etcd rejoins, every instance reads as before', async () => {
      const old = vm();
      await setInstanceState(ref(), 'normal');
      state = readTestbedState();
      assert.notStrictEqual(vm().vmCid, old.vmCid, 'a recreated VM has a new CID');
      const { info } = await reported();
      assert.deepStrictEqual(summary(info), {
        state: 'started',
        vmState: 'present',
        ignore: false,
        vmCid: vm().vmCid,
        agentId: vm().agentId,
        ips: [vm().ip],
        processState: 'running',
      });
      checkInstances(await client(direct()).instances(state.deployment));
      assert.ok(await tcpOpen(vm().ip, 2379));
    });
  });

  describe('through the jump host (BOSH_ALL_PROXY)', () => {
    let gw: GatewayDialer;
    before(async () => {
      gw = await createGatewayDialer(env.gateway, { knownHostsPath: state.staticSsh.knownHostsPath });
    });
    after(async () => {
      await gw?.dispose();
    });

    it('lists deployments and instances', async () => {
      const c = client(env, { dial: gw.dial });
      const ds = await c.deployments();
      assert.ok(ds.some((d) => d.name === state.deployment));
      checkInstances(await c.instances(state.deployment));
    });

    it('an unreachable Director through the jump host is an unreachable error', async () => {
      const prefix = state.vms[0].ip.split('.').slice(0, 3).join('.');
      await assert.rejects(
        client({ ...env, url: `https://${prefix}.250:1` }, { dial: gw.dial }).info(),
        boshError('unreachable', /Director unreachable at .* \(through the jump host\)/),
      );
    });
  });

  describe('tokens (a private stand-in with short-lived tokens)', () => {
    let d: RunningDirector;
    let dir: string;
    let host: string;
    const start = async (port: number, ttl: number) =>
      startDirector({
        state: { ...state },
        host,
        port,
        dir,
        tokenTtlSeconds: ttl,
        client: 'ops_manager',
        clientSecret: 'token-test-secret',
        agentTimeoutMs: 1000,
      });
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-client-tokens-'));
      host = `${state.vms[0].ip.split('.').slice(0, 3).join('.')}.205`;
    });
    afterEach(async () => {
      await d?.close();
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const envOf = (r: RunningDirector): EnvironmentConfig => ({
      name: 'tokens',
      url: r.url,
      caCert: r.caCert,
      client: r.client,
      clientSecret: r.clientSecret,
      source: 'testbed',
    });
    const tokenPosts = () => logs.filter((l) => /^POST https:\/\/.*\/oauth\/token -> 200/.test(l)).length;

    it('caches a token, then fetches a new one when it expires', async () => {
      d = await start(0, 2);
      const c = client(envOf(d));
      await c.deployments();
      await c.deployments();
      assert.strictEqual(tokenPosts(), 1, 'one token for two calls');
      await new Promise((r) => setTimeout(r, 2200)); // let the 2 s token expire
      const ds = await c.deployments();
      assert.ok(ds.some((x) => x.name === state.deployment));
      assert.strictEqual(tokenPosts(), 2, 'a new token after expiry');
      assert.ok(!logs.some((l) => / -> 401/.test(l)), 'renewed before the Director had to refuse it');
    });

    it('a token the Director no longer accepts is replaced once after a 401', async () => {
      d = await start(0, 600);
      const port = Number(new URL(d.url).port);
      const c = client(envOf(d));
      await c.deployments();
      // Restarting the stand-in changes its signing key: the cached token is now invalid.
      await d.close();
      d = await start(port, 600);
      const ds = await c.deployments();
      assert.ok(ds.some((x) => x.name === state.deployment));
      assert.ok(
        logs.some((l) => /^GET \/deployments\?exclude_configs=true -> 401/.test(l)),
        logs.join('\n'),
      );
      assert.strictEqual(tokenPosts(), 2);
    });

    /** A password grant as client `bosh_cli` straight from the stand-in's UAA: what `bosh log-in` does and stores. */
    function login(
      r: RunningDirector,
      username: string,
      password: string,
    ): Promise<{ access_token: string; refresh_token: string }> {
      return new Promise((resolve, reject) => {
        const req = https.request(
          `${r.uaaUrl}/oauth/token`,
          {
            method: 'POST',
            ca: r.caCert,
            agent: false,
            headers: {
              Authorization: 'Basic ' + Buffer.from('bosh_cli:').toString('base64'),
              'Content-Type': 'application/x-www-form-urlencoded',
              Accept: 'application/json',
            },
          },
          (res) => {
            let b = '';
            res.on('data', (c) => (b += c));
            res.on('end', () =>
              res.statusCode === 200 ? resolve(JSON.parse(b)) : reject(new Error(`login: ${res.statusCode} ${b}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(new URLSearchParams({ grant_type: 'password', password, username }).toString());
      });
    }

    it('a user login (stored refresh token, no client): a refused access token is refreshed with bosh_cli and written back to ~/.bosh/config', async () => {
      d = await startDirector({
        state: { ...state },
        host,
        port: 0,
        dir,
        tokenTtlSeconds: 600,
        users: [{ name: 'admin', password: 'login-test-pw' }],
        agentTimeoutMs: 1000,
      });
      const first = await login(d, 'admin', 'login-test-pw');
      const cfgHome = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-client-login-'));
      try {
        const cfg = path.join(cfgHome, '.bosh', 'config');
        fs.mkdirSync(path.dirname(cfg), { recursive: true });
        // A JWT-shaped access token that is not expired but that this Director does not accept.
        const [h, p] = first.access_token.split('.');
        const refused = `${h}.${p}.${Buffer.from('not-the-signature').toString('base64url')}`;
        fs.writeFileSync(
          cfg,
          YAML.stringify({
            environments: [
              { url: 'https://other.example:25555', alias: 'other', username: 'keep-me' },
              {
                url: d.url,
                ca_cert: d.caCert,
                alias: 'login',
                access_token_type: 'bearer',
                access_token: refused,
                refresh_token: first.refresh_token,
              },
            ],
          }),
          { mode: 0o600 },
        );
        const loginEnv = resolveFromEnvironment({ env: { BOSH_ENVIRONMENT: 'login' }, home: cfgHome })!;
        assert.strictEqual(loginEnv.client, undefined);
        // No onTokens given: an environment from ~/.bosh/config gets its refreshed tokens written back by default.
        const c = client(loginEnv);
        const ds = await c.deployments();
        assert.ok(ds.some((x) => x.name === state.deployment));
        assert.ok(
          logs.some((l) => /^GET \/deployments\?exclude_configs=true -> 401/.test(l)),
          'the stored token was tried first',
        );
        assert.strictEqual(tokenPosts(), 1, 'one refresh grant');
        const saved = YAML.parse(fs.readFileSync(cfg, 'utf8')).environments;
        assert.deepStrictEqual(
          saved[0],
          { url: 'https://other.example:25555', alias: 'other', username: 'keep-me' },
          'other entries kept',
        );
        assert.notStrictEqual(saved[1].access_token, refused, 'the new access token is stored');
        assert.strictEqual(saved[1].access_token_type, 'bearer');
        assert.ok(saved[1].refresh_token, 'a refresh token is stored');
        assert.strictEqual(fs.statSync(cfg).mode & 0o777, 0o600);
        // A new session starts from the stored (now valid) token: no token request at all.
        logs.length = 0;
        const again = resolveFromEnvironment({ env: { BOSH_ENVIRONMENT: 'login' }, home: cfgHome })!;
        await client(again).deployments();
        assert.strictEqual(tokenPosts(), 0, 'the stored access token was used as is');
      } finally {
        fs.rmSync(cfgHome, { recursive: true, force: true });
      }
    });

    it('dispose() stops a pending task poll', async () => {
      d = await start(0, 600);
      let c!: DirectorClient;
      const polled = new Promise<void>((resolve) => {
        c = client(envOf(d), {
          pollIntervalMs: 60_000,
          log: (l) => {
            logs.push(l);
            if (/^GET \/tasks\/\d+ -> 200/.test(l)) resolve();
          },
        });
      });
      const pending = c.instances(state.deployment);
      await polled;
      c.dispose();
      await assert.rejects(pending, boshError('unreachable', /disposed/));
    });
  });
});
