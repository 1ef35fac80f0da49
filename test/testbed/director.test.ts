// Testbed tier: the BOSH Director stand-in, against real monit and real sshd (fixture.ts), driven
// the way the bosh CLI drives a Director (director/README.md).
import * as assert from 'assert';
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { aggregateJobState, parseMonitXml, processState, toAgentProcesses } from './director/agent-state';
import { createDirectorFixture, DirectorFixture } from './director/fixture';
import { writeInstanceStates } from './director/instance-states';
import { cleanupDirectorUsers, startDirectorProcess } from './director/launch';
import { parseRange, RunningDirector, startDirector } from './director/server';
import { userExists, validatePublicKey, validateUser } from './director/ssh-users';
import { readTestbedState, TestbedState } from './harness/state';

interface Resp {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function request(
  base: string,
  ca: string,
  method: string,
  p: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(p, base), { method, ca, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const form = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({
        code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 255) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
      });
    });
  });
}

describe('BOSH Director stand-in', function () {
  this.timeout(60_000);
  let fx: DirectorFixture;
  let d: RunningDirector;
  let dir: string;
  let token = '';
  const auth = () => ({ Authorization: `bearer ${token}` });
  const get = (p: string, headers: Record<string, string> = auth()) => request(d.url, d.caCert, 'GET', p, { headers });

  /** Follows a 302 to its task like the CLI: poll GET /tasks/<id> until done, then read the result. */
  async function followTask(
    r: Resp,
  ): Promise<{ states: string[]; task: Record<string, unknown>; result: string; id: number }> {
    assert.strictEqual(r.status, 302, `expected a redirect to a task, got ${r.status} ${r.body}`);
    const loc = String(r.headers.location);
    const m = /^https:\/\/[^/]+\/tasks\/(\d+)$/.exec(loc);
    assert.ok(m, `Location should be an absolute /tasks/<id> URL: ${loc}`);
    const states: string[] = [];
    for (;;) {
      const t = await get(new URL(loc).pathname);
      assert.strictEqual(t.status, 200);
      const task = JSON.parse(t.body) as Record<string, unknown>;
      states.push(String(task.state));
      if (!['queued', 'processing', 'cancelling'].includes(String(task.state))) {
        const out = await get(`/tasks/${m[1]}/output?type=result`);
        return { states, task, result: out.status === 204 ? '' : out.body, id: Number(m[1]) };
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  before(async () => {
    fx = await createDirectorFixture();
    dir = path.join(fx.root, 'director');
    d = await startDirector({
      state: fx.state,
      host: `${process.env.BOSH_ETCD_TESTBED_NET || '127.0.3'}.200`,
      port: 0,
      dir,
      sudoGroup: fx.sudoGroup,
      agentTimeoutMs: 500,
    });
    const r = await request(d.url, d.caCert, 'POST', `${d.uaaUrl}/oauth/token`, {
      headers: { ...form, Authorization: basic(d.client, d.clientSecret) },
      body: 'grant_type=client_credentials',
    });
    token = JSON.parse(r.body).access_token;
  });
  after(async () => {
    if (d) await d.close();
    if (fx) await fx.teardown();
  });

  describe('info and auth', () => {
    it('serves GET /info without auth over TLS 1.2+ with its own CA, advertising UAA', async () => {
      const r = await get('/info', {});
      assert.strictEqual(r.status, 200);
      const info = JSON.parse(r.body);
      assert.strictEqual(info.user, null);
      assert.strictEqual(info.user_authentication.type, 'uaa');
      assert.strictEqual(info.user_authentication.options.url, d.uaaUrl);
      assert.deepStrictEqual(info.user_authentication.options.urls, [d.uaaUrl]);
      // UAA on its own port at the root path, as on a Director VM (8443 unless another stand-in took it).
      const uaa = new URL(d.uaaUrl);
      assert.strictEqual(uaa.hostname, new URL(d.url).hostname);
      assert.notStrictEqual(uaa.port, new URL(d.url).port);
      assert.strictEqual(uaa.pathname, '/');
      assert.strictEqual((await get('/uaa/oauth/token', {})).status, 404, 'the Director port serves no UAA');
      assert.match(info.version, /^\d+\.\d+\.\d+ \(\w+\)$/);
      for (const k of ['name', 'uuid', 'cpi', 'stemcell_os', 'stemcell_version'])
        assert.strictEqual(typeof info[k], 'string', k);
      assert.strictEqual(typeof info.features.snapshots.status, 'boolean');
      // A client that does not trust the stand-in CA is refused.
      await assert.rejects(request(d.url, '', 'GET', '/info'), /self[- ]signed|unable to verify|certificate/i);
      // TLS 1.1 is refused.
      await assert.rejects(
        new Promise((resolve, reject) => {
          const req = https.get(
            `${d.url}/info`,
            { ca: d.caCert, maxVersion: 'TLSv1.1', minVersion: 'TLSv1', agent: false },
            resolve,
          );
          req.on('error', reject);
        }),
      );
    });

    it('fills /info user from a valid token and ignores an invalid one', async () => {
      assert.strictEqual(JSON.parse((await get('/info')).body).user, d.client);
      assert.strictEqual(JSON.parse((await get('/info', { Authorization: 'bearer nope' })).body).user, null);
    });

    it('answers 401 Not authorized with WWW-Authenticate without a valid token, 404 for unknown routes', async () => {
      for (const headers of [
        {},
        { Authorization: 'bearer x.y.z' },
        { Authorization: basic(d.client, d.clientSecret) },
      ] as Record<string, string>[]) {
        const r = await get('/deployments', headers);
        assert.strictEqual(r.status, 401);
        assert.strictEqual(r.body, "Not authorized: '/deployments'\n");
        assert.strictEqual(r.headers['www-authenticate'], 'Basic realm="BOSH Director"');
      }
      const tampered = token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA');
      assert.strictEqual((await get('/deployments', { Authorization: `bearer ${tampered}` })).status, 401);
      const nf = await get('/nothing/here');
      assert.strictEqual(nf.status, 404);
      assert.strictEqual(nf.body, "Endpoint '/nothing/here' not found.");
    });

    it('issues client-credentials tokens (JWT-shaped, expiring, no refresh token) and rejects bad clients', async () => {
      const bad = await request(d.url, d.caCert, 'POST', `${d.uaaUrl}/oauth/token`, {
        headers: { ...form, Authorization: basic(d.client, 'wrong') },
        body: 'grant_type=client_credentials',
      });
      assert.strictEqual(bad.status, 401);
      assert.strictEqual(JSON.parse(bad.body).error, 'unauthorized');
      const none = await request(d.url, d.caCert, 'POST', `${d.uaaUrl}/oauth/token`, {
        headers: form,
        body: 'grant_type=client_credentials',
      });
      assert.strictEqual(none.status, 401);

      const r = await request(d.url, d.caCert, 'POST', `${d.uaaUrl}/oauth/token`, {
        headers: { ...form, Authorization: basic(d.client, d.clientSecret) },
        body: 'grant_type=client_credentials',
      });
      assert.strictEqual(r.status, 200);
      const t = JSON.parse(r.body);
      assert.strictEqual(t.token_type, 'bearer');
      const parts = String(t.access_token).split('.');
      assert.strictEqual(parts.length, 3);
      const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
      assert.strictEqual(claims.client_id, d.client);
      assert.ok(claims.scope.includes('bosh.admin'));
      assert.ok(claims.exp > Date.now() / 1000);
      assert.strictEqual(t.expires_in, 600);
      assert.strictEqual(t.refresh_token, undefined, 'UAA gives client credentials no refresh token');
      assert.strictEqual((await get('/deployments', { Authorization: `bearer ${t.access_token}` })).status, 200);
      // an access token is not a refresh token
      const wrong = await request(d.url, d.caCert, 'POST', `${d.uaaUrl}/oauth/token`, {
        headers: { ...form, Authorization: basic(d.client, d.clientSecret) },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t.access_token }).toString(),
      });
      assert.strictEqual(wrong.status, 401);
      // login prompts
      const login = await get(`${d.uaaUrl}/login`, { Accept: 'application/json' });
      assert.deepStrictEqual(JSON.parse(login.body).prompts.password, ['password', 'Password']);
    });

    it('lets access tokens expire (then 401) while the refresh token still gets a new one', async () => {
      const short = await startDirector({
        state: fx.state,
        host: d.url.replace(/^https:\/\/|:\d+$/g, ''),
        port: 0,
        dir: path.join(fx.root, 'director-ttl'),
        userTokenTtlSeconds: 3,
        users: [{ name: 'admin', password: 'pw-ttl' }],
      });
      try {
        const post = (body: string) =>
          request(short.url, short.caCert, 'POST', `${short.uaaUrl}/oauth/token`, {
            headers: { ...form, Authorization: basic('bosh_cli', '') },
            body,
          });
        const t = JSON.parse(
          (
            await post(
              new URLSearchParams({ grant_type: 'password', username: 'admin', password: 'pw-ttl' }).toString(),
            )
          ).body,
        );
        assert.strictEqual(t.expires_in, 3);
        const call = (at: string) =>
          request(short.url, short.caCert, 'GET', '/deployments', { headers: { Authorization: `bearer ${at}` } });
        assert.strictEqual((await call(t.access_token)).status, 200);
        let expired = await call(t.access_token);
        for (let i = 0; i < 100 && expired.status === 200; i++) {
          await new Promise((res) => setTimeout(res, 100));
          expired = await call(t.access_token);
        }
        assert.strictEqual(expired.status, 401);
        assert.strictEqual(expired.body, "Not authorized: '/deployments'\n");
        const r = await post(
          new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t.refresh_token }).toString(),
        );
        assert.strictEqual(r.status, 200);
        assert.strictEqual((await call(JSON.parse(r.body).access_token)).status, 200);
        // a token from another Director (other signing key) is refused
        assert.strictEqual(
          (await get('/deployments', { Authorization: `bearer ${JSON.parse(r.body).access_token}` })).status,
          401,
        );
      } finally {
        await short.close();
      }
    });

    it('logs a user in with the password grant through bosh_cli (empty secret), like bosh log-in', async () => {
      const u = await startDirector({
        state: fx.state,
        host: d.url.replace(/^https:\/\/|:\d+$/g, ''),
        port: 0,
        dir: path.join(fx.root, 'director-users'),
        users: [{ name: 'admin', password: 'pw-123' }],
      });
      try {
        const post = (id: string, secret: string, body: Record<string, string>) =>
          request(u.url, u.caCert, 'POST', `${u.uaaUrl}/oauth/token`, {
            headers: { ...form, Authorization: basic(id, secret) },
            body: new URLSearchParams(body).toString(),
          });
        assert.strictEqual(
          (await post('bosh_cli', '', { grant_type: 'password', password: 'wrong', username: 'admin' })).status,
          401,
        );
        assert.strictEqual(
          (await post('bosh_cli', '', { grant_type: 'client_credentials' })).status,
          401,
          'bosh_cli has no client_credentials grant',
        );
        const r = await post('bosh_cli', '', { grant_type: 'password', password: 'pw-123', username: 'admin' });
        assert.strictEqual(r.status, 200);
        const t = JSON.parse(r.body);
        const claims = JSON.parse(Buffer.from(t.refresh_token.split('.')[1], 'base64url').toString());
        assert.deepStrictEqual([claims.user_name, claims.client_id], ['admin', 'bosh_cli']);
        // A Director's UAA: bosh_cli access tokens live 120 s, its refresh tokens a day.
        assert.strictEqual(t.expires_in, 120);
        const access = JSON.parse(Buffer.from(t.access_token.split('.')[1], 'base64url').toString());
        assert.ok(Math.abs(access.exp - access.iat - 120) <= 1, `access lifetime ${access.exp - access.iat}`);
        assert.ok(Math.abs(claims.exp - claims.iat - 86400) <= 1, `refresh lifetime ${claims.exp - claims.iat}`);
        const info = await request(u.url, u.caCert, 'GET', '/info', {
          headers: { Authorization: `bearer ${t.access_token}` },
        });
        assert.strictEqual(JSON.parse(info.body).user, 'admin');
        const rr = await post('bosh_cli', '', { grant_type: 'refresh_token', refresh_token: t.refresh_token });
        assert.strictEqual(rr.status, 200);
        // the refresh token is bound to its client
        assert.strictEqual(
          (await post(u.client, u.clientSecret, { grant_type: 'refresh_token', refresh_token: t.refresh_token }))
            .status,
          401,
        );
      } finally {
        await u.close();
      }
    });

    it('never writes the client secret or tokens to its request log', async () => {
      await get('/deployments');
      const log = fs.readFileSync(path.join(dir, 'director-requests.log'), 'utf8');
      assert.match(log, /GET \/deployments 200/);
      assert.match(log, /UAA POST \/oauth\/token 200/);
      assert.match(log, /GET \/deployments 401/);
      assert.ok(!log.includes(d.clientSecret));
      assert.ok(!log.includes(token.split('.')[2]));
    });
  });

  describe('deployments', () => {
    it('lists the one deployment with releases and stemcells', async () => {
      const r = await get('/deployments?exclude_configs=true');
      assert.strictEqual(r.status, 200);
      const list = JSON.parse(r.body);
      assert.strictEqual(list.length, 1);
      assert.strictEqual(list[0].name, fx.state.deployment);
      assert.match(list[0].name, /^service-instance_[0-9a-f-]{36}$/);
      assert.ok(list[0].releases.some((x: { name: string }) => x.name === 'cfcr-etcd'));
      assert.ok(list[0].releases.some((x: { name: string }) => x.name === 'kubo'));
      assert.match(list[0].stemcells[0].name, /ubuntu-jammy/);
      assert.ok(!('cloud_config' in list[0]), 'exclude_configs=true drops cloud_config');
      assert.ok('cloud_config' in JSON.parse((await get('/deployments')).body)[0]);
    });

    it('serves the manifest with master, worker and the apply-addons errand; 404/70000 for unknown', async () => {
      const r = await get(`/deployments/${fx.state.deployment}`);
      assert.strictEqual(r.status, 200);
      const { manifest } = JSON.parse(r.body);
      const YAML = (await import('yaml')).default;
      const m = YAML.parse(manifest);
      assert.strictEqual(m.name, fx.state.deployment);
      const groups = m.instance_groups.map((g: { name: string }) => g.name);
      assert.deepStrictEqual(groups, ['master', 'worker', 'apply-addons']);
      assert.strictEqual(m.instance_groups[0].instances, 2);
      assert.strictEqual(m.instance_groups[2].lifecycle, 'errand');
      for (const p of ['/deployments/nope', '/deployments/nope/instances', '/deployments/nope/vms?format=full']) {
        const nf = await get(p);
        assert.strictEqual(nf.status, 404, p);
        assert.deepStrictEqual(JSON.parse(nf.body), { code: 70000, description: "Deployment 'nope' doesn't exist" });
      }
    });

    it('lists instances fast, including the errand without VM and excluding the jump host', async () => {
      const list = JSON.parse((await get(`/deployments/${fx.state.deployment}/instances`)).body);
      assert.strictEqual(list.length, 4);
      const master0 = fx.vms.find((v) => v.group === 'master' && v.index === 0)!;
      const m0 = list.find((i: { id: string }) => i.id === master0.id);
      assert.deepStrictEqual(
        Object.keys(m0).sort(),
        ['agent_id', 'az', 'cid', 'expects_vm', 'id', 'index', 'ips', 'job', 'vm_created_at'].sort(),
      );
      assert.strictEqual(m0.cid, master0.vmCid);
      assert.deepStrictEqual(m0.ips, [master0.ip]);
      assert.strictEqual(m0.expects_vm, true);
      const errand = list.find((i: { job: string }) => i.job === 'apply-addons');
      assert.deepStrictEqual(
        [errand.cid, errand.agent_id, errand.vm_created_at, errand.ips, errand.expects_vm],
        [null, null, null, [], false],
      );
      assert.ok(!list.some((i: { job: string }) => i.job === 'jumpbox'));
      const vms = JSON.parse((await get(`/deployments/${fx.state.deployment}/vms`)).body);
      assert.strictEqual(vms.length, 3);
      assert.ok(vms.every((v: { active: boolean; cid: string }) => v.active === true && v.cid));
    });
  });

  describe('instances?format=full through a task', () => {
    const KEYS = [
      'vm_cid',
      'active',
      'vm_created_at',
      'cloud_properties',
      'disk_cid',
      'disk_cids',
      'ips',
      'agent_id',
      'job_name',
      'index',
      'job_state',
      'state',
      'vm_type',
      'vitals',
      'processes',
      'az',
      'id',
      'bootstrap',
      'ignore',
      'stemcell',
    ];

    async function full(kind: 'instances' | 'vms') {
      const r = await get(`/deployments/${fx.state.deployment}/${kind}?format=full`);
      const t = await followTask(r);
      assert.strictEqual(t.task.state, 'done');
      return {
        ...t,
        lines: t.result
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      };
    }

    it('redirects 302 to a task that is queued, then processing, then done, with one NDJSON line per instance', async () => {
      const t = await full('instances');
      assert.deepStrictEqual(t.states.slice(0, 2), ['queued', 'processing']);
      assert.strictEqual(t.states[t.states.length - 1], 'done');
      assert.strictEqual(t.task.description, 'retrieve vm-stats');
      assert.strictEqual(t.task.deployment, fx.state.deployment);
      assert.strictEqual(typeof t.task.timestamp, 'number');
      assert.ok(t.result.endsWith('\n'));
      assert.strictEqual(t.lines.length, 4);
      for (const l of t.lines) assert.deepStrictEqual(Object.keys(l), KEYS);

      const byId = new Map(t.lines.map((l) => [l.id, l]));
      for (const vm of fx.vms.filter((v) => v.group === 'master')) {
        const l = byId.get(vm.id)!;
        assert.strictEqual(l.job_state, 'running');
        assert.strictEqual(l.vm_cid, vm.vmCid);
        assert.strictEqual(l.agent_id, vm.agentId);
        assert.strictEqual(l.job_name, 'master');
        assert.strictEqual(l.index, vm.index);
        assert.strictEqual(l.bootstrap, vm.bootstrap);
        assert.strictEqual(l.state, 'started');
        const procs = l.processes as { name: string; state: string; uptime: { secs?: number }; mem: { kb?: number } }[];
        assert.deepStrictEqual(
          procs.map((p) => [p.name, p.state]),
          [['sleeper', 'running']],
        );
        assert.ok(Number.isInteger(procs[0].mem.kb ?? 0) && (procs[0].mem.kb ?? 0) >= 0);
        const vitals = l.vitals as {
          cpu: Record<string, unknown>;
          load: unknown[];
          mem: Record<string, unknown>;
          disk: { system: Record<string, unknown> };
          uptime: { secs: unknown };
        };
        for (const v of [
          ...Object.values(vitals.cpu),
          ...vitals.load,
          ...Object.values(vitals.mem),
          ...Object.values(vitals.disk.system),
        ])
          assert.strictEqual(typeof v, 'string');
        assert.strictEqual(typeof vitals.uptime.secs, 'number');
      }
      const worker = byId.get(fx.vms.find((v) => v.group === 'worker')!.id)!;
      assert.strictEqual(worker.job_state, 'unresponsive agent', 'a monit that never answers is an unresponsive agent');
      assert.deepStrictEqual(worker.processes, []);
      assert.strictEqual(worker.vitals, null);
      const errand = t.lines.find((l) => l.job_name === 'apply-addons')!;
      assert.deepStrictEqual(
        [errand.job_state, errand.vm_cid, errand.ips, errand.active, errand.agent_id],
        [null, null, [], null, null],
      );
    });

    it('vms?format=full has one line per VM and no errand', async () => {
      const t = await full('vms');
      assert.strictEqual(t.lines.length, 3);
      assert.ok(!t.lines.some((l) => l.job_name === 'apply-addons'));
      for (const l of t.lines) assert.deepStrictEqual(Object.keys(l), KEYS);
    });

    it('shows the states BOSH commands leave: detached (stop --hard), deleted VM, ignored, stopped, a recreated VM', async () => {
      const [m0, m1] = [0, 1].map((n) => fx.vms.find((v) => v.group === 'master' && v.index === n)!);
      const fast = async () =>
        new Map<string, Record<string, unknown>>(
          JSON.parse((await get(`/deployments/${fx.state.deployment}/instances`)).body).map(
            (i: Record<string, unknown>) => [i.id, i],
          ),
        );
      const fullById = async (kind: 'instances' | 'vms') => new Map((await full(kind)).lines.map((l) => [l.id, l]));
      const stoppedFile = path.join(m1.dir, 'vcap', 'monit', 'stopped');
      try {
        writeInstanceStates(dir, { [m0.id]: { state: 'detached' }, [m1.id]: { state: 'deleted-vm' } });
        let f = await fast();
        const noVm = (i: Record<string, unknown>) => [i.cid, i.agent_id, i.vm_created_at, i.ips];
        assert.deepStrictEqual([...noVm(f.get(m0.id)!), f.get(m0.id)!.expects_vm], [null, null, null, [], false]);
        assert.deepStrictEqual([...noVm(f.get(m1.id)!), f.get(m1.id)!.expects_vm], [null, null, null, [], true]);
        const vmsFast = JSON.parse((await get(`/deployments/${fx.state.deployment}/vms`)).body);
        assert.deepStrictEqual(
          vmsFast.map((v: { job: string }) => v.job),
          ['worker'],
          'only instances with a VM are VMs',
        );
        let full1 = await fullById('instances');
        for (const [vm, st] of [
          [m0, 'detached'],
          [m1, 'started'],
        ] as const) {
          const l = full1.get(vm.id)!;
          assert.deepStrictEqual(Object.keys(l), KEYS);
          assert.deepStrictEqual(
            [l.state, l.vm_cid, l.agent_id, l.active, l.ips, l.job_state, l.vitals, l.processes, l.disk_cid !== null],
            [st, null, null, null, [], null, null, [], true],
            `${vm.group}/${vm.index} (${st}) keeps its disk and shows no VM`,
          );
        }
        assert.deepStrictEqual([...(await fullById('vms')).keys()], [fx.vms.find((v) => v.group === 'worker')!.id]);

        // bosh ignore on master 0; bosh stop on master 1 (the agent stops its jobs and writes its stopped file).
        fx.monit(m1, 'stop', 'sleeper');
        fs.writeFileSync(stoppedFile, '');
        writeInstanceStates(dir, { [m0.id]: { state: 'ignored' }, [m1.id]: { state: 'stopped' } });
        // monit stops asynchronously: wait until the agent (monit) no longer monitors the process.
        full1 = await fullById('instances');
        const unmonitored = () =>
          (full1.get(m1.id)!.processes as { state: string }[]).every((p) => p.state === 'unknown');
        for (let i = 0; i < 100 && !unmonitored(); i++) full1 = await fullById('instances');
        const ign = full1.get(m0.id)!;
        assert.deepStrictEqual(
          [ign.ignore, ign.state, ign.job_state, ign.vm_cid],
          [true, 'started', 'running', m0.vmCid],
        );
        const stp = full1.get(m1.id)!;
        assert.deepStrictEqual(
          [stp.ignore, stp.state, stp.job_state, stp.vm_cid],
          [false, 'stopped', 'stopped', m1.vmCid],
        );
        assert.deepStrictEqual(
          (stp.processes as { name: string; state: string }[]).map((p) => [p.name, p.state]),
          [['sleeper', 'unknown']],
          'monit-stopped processes are not monitored: the agent says unknown',
        );
        assert.strictEqual((await fast()).get(m1.id)!.expects_vm, true, 'a stopped instance keeps its VM');

        // A VM created again (bosh start after stop --hard) has a new CID and agent.
        writeInstanceStates(dir, {
          [m0.id]: {
            state: 'normal',
            vm: { cid: 'vm-recreated', agentId: 'agent-recreated', createdAt: '2026-01-02T03:04:05Z' },
          },
        });
        f = await fast();
        assert.deepStrictEqual(
          [f.get(m0.id)!.cid, f.get(m0.id)!.agent_id, f.get(m0.id)!.vm_created_at, f.get(m0.id)!.ips],
          ['vm-recreated', 'agent-recreated', '2026-01-02T03:04:05Z', [m0.ip]],
        );
      } finally {
        writeInstanceStates(dir, {});
        fs.rmSync(stoppedFile, { force: true });
        fx.monit(m1, 'start', 'sleeper');
      }
    });

    it('derives job_state live from monit: a stopped process makes the instance failing, starting it again running', async () => {
      const vm = fx.vms.find((v) => v.group === 'master' && v.index === 1)!;
      const other = fx.vms.find((v) => v.group === 'master' && v.index === 0)!;
      const stateOf = async () => {
        const lines = (await full('instances')).lines;
        return { mine: lines.find((l) => l.id === vm.id)!, other: lines.find((l) => l.id === other.id)! };
      };
      fx.monit(vm, 'stop', 'sleeper');
      let s = await stateOf();
      for (let i = 0; i < 100 && s.mine.job_state !== 'failing'; i++) s = await stateOf();
      assert.strictEqual(s.mine.job_state, 'failing');
      assert.deepStrictEqual(
        (s.mine.processes as { name: string; state: string }[]).map((p) => [p.name, p.state]),
        [['sleeper', 'unknown']],
      );
      assert.strictEqual(s.other.job_state, 'running', 'only the stopped VM fails');
      fx.monit(vm, 'start', 'sleeper');
      for (let i = 0; i < 100 && s.mine.job_state !== 'running'; i++) s = await stateOf();
      assert.strictEqual(s.mine.job_state, 'running');
    });

    it('serves task output with Range semantics (206 / 416 / 200) and 204 for empty output', async () => {
      const t = await full('vms');
      const whole = await get(`/tasks/${t.id}/output?type=result`);
      assert.strictEqual(whole.status, 200);
      const size = Buffer.byteLength(whole.body);
      const part = await get(`/tasks/${t.id}/output?type=result`, { ...auth(), Range: 'bytes=5-' });
      assert.strictEqual(part.status, 206);
      assert.strictEqual(part.body, Buffer.from(whole.body).subarray(5).toString());
      assert.strictEqual(part.headers['content-range'], `bytes 5-${size - 1}/${size}`);
      const mid = await get(`/tasks/${t.id}/output?type=result`, { ...auth(), Range: 'bytes=2-9' });
      assert.strictEqual(mid.status, 206);
      assert.strictEqual(mid.body, Buffer.from(whole.body).subarray(2, 10).toString());
      const past = await get(`/tasks/${t.id}/output?type=result`, { ...auth(), Range: `bytes=${size}-` });
      assert.strictEqual(past.status, 416);
      assert.strictEqual(past.headers['content-range'], `bytes */${size}`);
      const multi = await get(`/tasks/${t.id}/output?type=result`, { ...auth(), Range: 'bytes=0-1,3-4' });
      assert.strictEqual(multi.status, 200);
      assert.strictEqual(multi.body, whole.body);
      const ev = await get(`/tasks/${t.id}/output?type=event`, { ...auth(), Range: 'bytes=0-' });
      assert.strictEqual(ev.status, 204, 'a vm_state task writes no events');
      const missing = await get('/tasks/999999');
      assert.strictEqual(missing.status, 404);
      assert.deepStrictEqual(JSON.parse(missing.body), { code: 10000, description: 'Task 999999 not found' });
      // task listing: vms tasks only with verbose=2
      assert.deepStrictEqual(JSON.parse((await get('/tasks?verbose=1')).body), []);
      const all = JSON.parse((await get('/tasks?verbose=2&limit=1')).body);
      assert.strictEqual(all.length, 1);
      assert.ok(all[0].id >= t.id);
      // a finished task cannot be cancelled
      const del = await request(d.url, d.caCert, 'DELETE', `/task/${t.id}`, { headers: auth() });
      assert.strictEqual(del.status, 400);
      assert.strictEqual(del.body, `Cannot cancel task ${t.id}: invalid state (done)`);
    });
  });

  describe('ssh setup and cleanup', () => {
    let keyDir: string;
    let user: string;
    const sshPath = () => `/deployments/${fx.state.deployment}/ssh`;
    const post = (body: unknown, headers: Record<string, string> = { ...auth(), 'Content-Type': 'application/json' }) =>
      request(d.url, d.caCert, 'POST', sshPath(), {
        headers,
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });

    before(() => {
      keyDir = fs.mkdtempSync(path.join(fx.root, 'keys-'));
      execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', path.join(keyDir, 'id_rsa')]);
      user = `bosh_${require('crypto').randomBytes(8).toString('hex').slice(0, 15)}`;
    });

    const sshTo = (ip: string, knownHosts: string, cmd: string) =>
      run('ssh', [
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        `IdentityFile=${path.join(keyDir, 'id_rsa')}`,
        '-o',
        'PasswordAuthentication=no',
        '-o',
        'ConnectTimeout=10',
        '-l',
        user,
        '--',
        ip,
        cmd,
      ]);

    it('creates a user that can ssh (pinned host key) and sudo on the targeted VM only, and cleanup removes it', async () => {
      const m0 = fx.vms.find((v) => v.group === 'master' && v.index === 0)!;
      const m1 = fx.vms.find((v) => v.group === 'master' && v.index === 1)!;
      const pub = fs.readFileSync(path.join(keyDir, 'id_rsa.pub'), 'utf8');
      const target = { job: 'master', indexes: [m0.id], ids: [m0.id] };
      const setup = await followTask(
        await post({
          command: 'setup',
          deployment_name: fx.state.deployment,
          target,
          params: { user, public_key: pub },
        }),
      );
      assert.strictEqual(setup.task.state, 'done', setup.result);
      assert.match(String(setup.task.description), /^ssh: setup:/);
      const hosts = JSON.parse(setup.result.trim());
      assert.strictEqual(hosts.length, 1);
      assert.deepStrictEqual(
        Object.keys(hosts[0]).sort(),
        ['command', 'host_public_key', 'id', 'index', 'ip', 'job', 'status'].sort(),
      );
      assert.deepStrictEqual(
        [hosts[0].command, hosts[0].status, hosts[0].ip, hosts[0].id, hosts[0].index, hosts[0].job],
        ['setup', 'success', m0.ip, m0.id, 0, 'master'],
      );
      assert.strictEqual(
        hosts[0].host_public_key,
        fs.readFileSync(path.join(m0.dir, 'ssh', 'ssh_host_rsa_key.pub'), 'utf8'),
      );
      assert.ok(userExists(user));
      assert.deepStrictEqual(d.sshUsers(), [user]);

      // known_hosts exactly like the CLI: "<ip> <host_public_key>"; the other VM's key too, so a refusal there is about auth
      const kh = path.join(keyDir, 'known_hosts');
      const m1key = fs.readFileSync(path.join(m1.dir, 'ssh', 'ssh_host_rsa_key.pub'), 'utf8');
      fs.writeFileSync(kh, `${hosts[0].ip} ${hosts[0].host_public_key}${m1.ip} ${m1key}`);
      const ok = await sshTo(m0.ip, kh, 'sudo -n true && echo sudo-ok && id -un');
      assert.strictEqual(ok.code, 0, ok.stderr);
      assert.deepStrictEqual(ok.stdout.trim().split('\n'), ['sudo-ok', user]);
      const other = await sshTo(m1.ip, kh, 'true');
      assert.notStrictEqual(other.code, 0);
      assert.match(other.stderr, /Permission denied/);

      // a wrong pinned host key fails hard
      const badKh = path.join(keyDir, 'known_hosts_bad');
      fs.writeFileSync(badKh, `${m0.ip} ${m1key}`);
      const bad = await sshTo(m0.ip, badKh, 'true');
      assert.notStrictEqual(bad.code, 0);
      assert.match(bad.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);

      const cleanup = await followTask(
        await post({
          command: 'cleanup',
          deployment_name: fx.state.deployment,
          target,
          params: { user_regex: `^${user}` },
        }),
      );
      assert.strictEqual(cleanup.task.state, 'done', cleanup.result);
      assert.ok(!userExists(user), 'cleanup deletes the user once no VM holds a key for it');
      assert.ok(!fs.existsSync(path.join(m0.dir, 'ssh', 'authorized_keys', user)));
      assert.deepStrictEqual(d.sshUsers(), []);
      const after = await sshTo(m0.ip, kh, 'true');
      assert.notStrictEqual(after.code, 0);
    });

    it('targets by index, job and all-instances like the Director, keeping the user until its last key is gone', async () => {
      const pub = fs.readFileSync(path.join(keyDir, 'id_rsa.pub'), 'utf8');
      const u2 = `${user.slice(0, 17)}x2`;
      const all = await followTask(
        await post({
          command: 'setup',
          target: { job: 'master', indexes: [], ids: [] },
          params: { user: u2, public_key: pub },
        }),
      );
      assert.strictEqual(all.task.state, 'done', all.result);
      assert.deepStrictEqual(
        JSON.parse(all.result)
          .map((h: { index: number }) => h.index)
          .sort(),
        [0, 1],
      );
      const m1 = fx.vms.find((v) => v.group === 'master' && v.index === 1)!;
      // cleanup on index 1 only (ids all digits → index): the user survives (key left on master/0)
      const c1 = await followTask(
        await post({
          command: 'cleanup',
          target: { job: 'master', indexes: ['1'], ids: ['1'] },
          params: { user_regex: `^${u2}$` },
        }),
      );
      assert.strictEqual(c1.task.state, 'done');
      assert.deepStrictEqual(
        JSON.parse(c1.result).map((h: { id: string }) => h.id),
        [m1.id],
      );
      assert.ok(userExists(u2));
      assert.ok(!fs.existsSync(path.join(m1.dir, 'ssh', 'authorized_keys', u2)));
      const c0 = await followTask(
        await post({
          command: 'cleanup',
          target: { job: 'master', indexes: ['0'], ids: ['0'] },
          params: { user_regex: `^${u2}$` },
        }),
      );
      assert.strictEqual(c0.task.state, 'done');
      assert.ok(!userExists(u2));
      // an unresponsive agent (the worker's monit never answers): RpcTimeout, no user created
      const down = await followTask(
        await post({
          command: 'setup',
          target: { job: 'worker', indexes: [], ids: [] },
          params: { user: u2, public_key: pub },
        }),
      );
      assert.strictEqual(down.task.state, 'error');
      const downEv = JSON.parse((await get(`/tasks/${down.id}/output?type=event`)).body.trim());
      assert.strictEqual(downEv.error.code, 450002);
      assert.match(downEv.error.message, /^Timed out sending 'ssh' to instance: 'worker\//);
      assert.ok(!userExists(u2));
      // no match: the task errors with an event-log error line
      const none = await followTask(
        await post({
          command: 'setup',
          target: { job: 'nope', indexes: [], ids: [] },
          params: { user: u2, public_key: pub },
        }),
      );
      assert.strictEqual(none.task.state, 'error');
      const ev = JSON.parse((await get(`/tasks/${none.id}/output?type=event`)).body.trim());
      assert.match(ev.error.message, /No instance with a VM in deployment .* matched filter/);
      assert.ok(!userExists(u2));
    });

    it('rejects unsafe user names and keys, existing system users, bad bodies — without crashing', async () => {
      const pub = fs.readFileSync(path.join(keyDir, 'id_rsa.pub'), 'utf8');
      const target = { job: 'master', indexes: [], ids: [] };
      for (const [u, k] of [
        ['root', pub],
        ['x; touch /tmp/pwned', pub],
        ['bosh_$(id)', pub],
        ['bosh_okname', 'command="rm -rf /" ' + pub],
        ['bosh_okname', pub.trim() + '\nssh-rsa AAAA second'],
        ['bosh_okname', 'ssh-rsa AAAAnotakey'],
      ]) {
        const t = await followTask(await post({ command: 'setup', target, params: { user: u, public_key: k } }));
        assert.strictEqual(t.task.state, 'error', `${u} / ${k.slice(0, 30)}`);
      }
      assert.ok(!userExists('bosh_okname'));
      assert.ok(!fs.existsSync(path.join(fx.vms[0].dir, 'ssh', 'authorized_keys', 'root')));
      const notJson = await post('{nope');
      assert.strictEqual(notJson.status, 400);
      assert.strictEqual(JSON.parse(notJson.body).code, 40000);
      const wrongType = await post({ command: 'setup' }, { ...auth(), 'Content-Type': 'text/plain' });
      assert.strictEqual(wrongType.status, 404, 'the route consumes JSON only');
      const badCmd = await post({ command: 'rm', target, params: {} });
      assert.strictEqual(badCmd.status, 400);
      const badRe = await followTask(await post({ command: 'cleanup', target, params: { user_regex: '(' } }));
      assert.strictEqual(badRe.task.state, 'error');
      const weird = await get('/deployments/%ZZ/instances');
      assert.strictEqual(weird.status, 404);
      assert.strictEqual(JSON.parse(weird.body).code, 70000);
      const noForm = await request(d.url, d.caCert, 'POST', `${d.uaaUrl}/oauth/token`, {
        headers: { Authorization: basic(d.client, d.clientSecret) },
        body: 'grant_type=client_credentials',
      });
      assert.strictEqual(noForm.status, 400);
      const longCtx = await get('/deployments', { ...auth(), 'X-Bosh-Context-Id': 'x'.repeat(65) });
      assert.deepStrictEqual([longCtx.status, JSON.parse(longCtx.body).code], [400, 70010]);
      assert.strictEqual((await get('/info', {})).status, 200, 'still serving');
    });
  });

  describe('pure parts', () => {
    it('maps monit XML to agent process states and job_state as the agent does', () => {
      const svc = (name: string, monitor: number, status: number, pending = 0) =>
        `<service name="${name}"><type>3</type><status>${status}</status><monitor>${monitor}</monitor><pendingaction>${pending}</pendingaction><uptime>5</uptime><memory><percenttotal>1.5</percenttotal><kilobytetotal>100</kilobytetotal></memory><cpu><percenttotal>2.0</percenttotal></cpu></service>`;
      const xml = `<monit><services>${svc('unmonitored-start-pending', 0, 0, 6)}${svc('initializing', 2, 0)}${svc('running-stop-pending', 1, 0, 3)}${svc('failing', 1, 512)}${svc('other-group', 1, 512)}</services><servicegroups><servicegroup name="vcap"><service>unmonitored-start-pending</service><service>initializing</service><service>running-stop-pending</service><service>failing</service></servicegroup></servicegroups></monit>`;
      const procs = toAgentProcesses(parseMonitXml(xml));
      assert.deepStrictEqual(
        procs.map((p) => [p.name, p.state]),
        [
          ['unmonitored-start-pending', 'unknown'],
          ['initializing', 'starting'],
          ['running-stop-pending', 'running'],
          ['failing', 'failing'],
        ],
      );
      assert.deepStrictEqual(procs[2], {
        name: 'running-stop-pending',
        state: 'running',
        uptime: { secs: 5 },
        mem: { kb: 100, percent: 1.5 },
        cpu: { total: 2 },
      });
      assert.strictEqual(aggregateJobState(procs), 'starting', 'first starting wins even after a failing one');
      assert.strictEqual(aggregateJobState(procs.filter((p) => p.state !== 'starting')), 'failing');
      assert.strictEqual(aggregateJobState([{ state: 'running' }]), 'running');
      assert.strictEqual(aggregateJobState([]), 'running');
      assert.strictEqual(processState({ monitor: 1, status: 0 }), 'running');
    });

    it('parses Range headers like Rack', () => {
      assert.deepStrictEqual(parseRange('bytes=5-', 11), { kind: 'range', start: 5, end: 10 });
      assert.deepStrictEqual(parseRange('bytes=-3', 11), { kind: 'range', start: 8, end: 10 });
      assert.deepStrictEqual(parseRange('bytes=11-', 11), { kind: 'unsatisfiable' });
      assert.deepStrictEqual(parseRange('bytes=0-1,2-3', 11), { kind: 'none' });
      assert.deepStrictEqual(parseRange('lines=1-', 11), { kind: 'none' });
      assert.deepStrictEqual(parseRange(undefined, 11), { kind: 'none' });
    });

    it('validates user names and public keys strictly', () => {
      assert.strictEqual(validateUser('bosh_1a2b3c4d5e6f7a8'), 'bosh_1a2b3c4d5e6f7a8');
      for (const u of ['', 'Root', '-x', 'a b', 'a;b', 'x'.repeat(40), 12]) assert.throws(() => validateUser(u));
      assert.throws(
        () => validatePublicKey('ssh-ed25519 ' + Buffer.from('\x00\x00\x00\x07ssh-rsa').toString('base64')),
        /does not match/,
      );
    });
  });

  describe('as a process (startDirectorProcess)', () => {
    it('leaves no user behind even when SIGKILLed: cleanupDirectorUsers(dir) removes what it recorded', async () => {
      const pdir = path.join(fx.root, 'director-killed');
      const sec = await startDirectorProcess(fx.state, {
        dir: pdir,
        host: `${process.env.BOSH_ETCD_TESTBED_NET || '127.0.3'}.202`,
        port: 0,
        env: { ...process.env, BOSH_ETCD_DIRECTOR_SUDO_GROUP: fx.sudoGroup },
      });
      const u4 = `bosh_k${process.pid}`.slice(0, 20);
      try {
        const tok = await request(sec.url, sec.caCert, 'POST', `${sec.uaaUrl}/oauth/token`, {
          headers: { ...form, Authorization: basic(sec.client, sec.clientSecret) },
          body: 'grant_type=client_credentials',
        });
        const kd = fs.mkdtempSync(path.join(fx.root, 'kkeys-'));
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(kd, 'id')]);
        const r = await request(sec.url, sec.caCert, 'POST', `/deployments/${fx.state.deployment}/ssh`, {
          headers: { Authorization: `bearer ${JSON.parse(tok.body).access_token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({
            command: 'setup',
            target: { job: 'master', indexes: ['1'], ids: ['1'] },
            params: { user: u4, public_key: fs.readFileSync(path.join(kd, 'id.pub'), 'utf8') },
          }),
        });
        assert.strictEqual(r.status, 302);
        const m1 = fx.vms.find((v) => v.group === 'master' && v.index === 1)!;
        const keyFile = path.join(m1.dir, 'ssh', 'authorized_keys', u4);
        for (let i = 0; i < 200 && !(userExists(u4) && fs.existsSync(keyFile)); i++)
          await new Promise((res) => setTimeout(res, 50));
        assert.ok(userExists(u4) && fs.existsSync(keyFile));
      } finally {
        process.kill(sec.pid, 'SIGKILL');
      }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(sec.pid, 0);
          await new Promise((res) => setTimeout(res, 50));
        } catch {
          break;
        }
      }
      assert.ok(userExists(u4), 'a SIGKILLed stand-in cannot clean up by itself');
      assert.deepStrictEqual(cleanupDirectorUsers(pdir), [u4]);
      assert.ok(!userExists(u4));
      assert.ok(
        !fs.existsSync(
          path.join(fx.vms.find((v) => v.group === 'master' && v.index === 1)!.dir, 'ssh', 'authorized_keys', u4),
        ),
      );
      assert.deepStrictEqual(cleanupDirectorUsers(pdir), [], 'idempotent');
    });

    it('starts detached, hands over the credentials over IPC (not on disk), serves, and removes its users on SIGTERM', async () => {
      const pdir = path.join(fx.root, 'director-proc');
      const sec = await startDirectorProcess(fx.state, {
        dir: pdir,
        host: `${process.env.BOSH_ETCD_TESTBED_NET || '127.0.3'}.201`,
        port: 0,
        env: { ...process.env, BOSH_ETCD_DIRECTOR_SUDO_GROUP: fx.sudoGroup },
      });
      let alive = true;
      try {
        assert.ok(sec.pid > 0 && sec.pid !== process.pid);
        assert.match(sec.url, /^https:\/\/[\d.]+:\d+$/);
        assert.strictEqual(sec.caCert, fs.readFileSync(sec.caCertPath, 'utf8'));
        for (const f of fs.readdirSync(pdir, { recursive: true }) as string[]) {
          const p = path.join(pdir, f);
          if (fs.statSync(p).isFile())
            assert.ok(!fs.readFileSync(p, 'utf8').includes(sec.clientSecret), `secret found in ${f}`);
        }
        const tok = await request(sec.url, sec.caCert, 'POST', `${sec.uaaUrl}/oauth/token`, {
          headers: { ...form, Authorization: basic(sec.client, sec.clientSecret) },
          body: 'grant_type=client_credentials',
        });
        const at = JSON.parse(tok.body).access_token;
        const kd = fs.mkdtempSync(path.join(fx.root, 'pkeys-'));
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(kd, 'id')]);
        const pub = fs.readFileSync(path.join(kd, 'id.pub'), 'utf8');
        const u3 = `bosh_p${process.pid}`.slice(0, 20);
        const r = await request(sec.url, sec.caCert, 'POST', `/deployments/${fx.state.deployment}/ssh`, {
          headers: { Authorization: `bearer ${at}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({
            command: 'setup',
            target: { job: 'master', indexes: [], ids: [] },
            params: { user: u3, public_key: pub },
          }),
        });
        assert.strictEqual(r.status, 302);
        const loc = new URL(String(r.headers.location)).pathname;
        for (let i = 0; i < 200 && !userExists(u3); i++) await new Promise((res) => setTimeout(res, 50));
        for (let i = 0; i < 10; i++)
          await request(sec.url, sec.caCert, 'GET', loc, { headers: { Authorization: `bearer ${at}` } });
        assert.ok(userExists(u3));
        process.kill(sec.pid, 'SIGTERM');
        for (let i = 0; i < 200 && alive; i++) {
          await new Promise((res) => setTimeout(res, 50));
          try {
            process.kill(sec.pid, 0);
          } catch {
            alive = false;
          }
        }
        assert.strictEqual(alive, false, 'the stand-in exits on SIGTERM');
        assert.ok(!userExists(u3), 'and removes the users it created');
      } finally {
        if (alive) {
          try {
            process.kill(sec.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
    });
  });
});

// The same Director, as the harness runs it for the whole tier (hooks.ts brings the testbed up):
// real etcd under monit in mount-namespace VMs, sshd reading /etc/ssh inside each VM.
describe('BOSH Director stand-in in the tier testbed', function () {
  this.timeout(120_000);
  let s: TestbedState;
  let token = '';
  const get = (p: string) =>
    request(s.director.url, s.director.caCert, 'GET', p, { headers: { Authorization: `bearer ${token}` } });
  async function task(r: Resp): Promise<{ state: string; result: string }> {
    assert.strictEqual(r.status, 302, r.body);
    const loc = new URL(String(r.headers.location)).pathname;
    for (;;) {
      const t = JSON.parse((await get(loc)).body);
      if (!['queued', 'processing', 'cancelling'].includes(t.state)) {
        const out = await get(`${loc}/output?type=result`);
        return { state: t.state, result: out.status === 204 ? '' : out.body };
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  const instances = async () =>
    (await task(await get(`/deployments/${s.deployment}/instances?format=full`))).result
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  const nsMonit = (nsPid: number, ...args: string[]) =>
    execFileSync('/usr/bin/nsenter', ['-m', '-t', String(nsPid), 'monit', ...args], { encoding: 'utf8' });

  before(async () => {
    s = readTestbedState();
    const r = await request(s.director.url, s.director.caCert, 'POST', `${s.director.uaaUrl}/oauth/token`, {
      headers: { ...form, Authorization: basic(s.director.client, s.director.clientSecret) },
      body: 'grant_type=client_credentials',
    });
    assert.strictEqual(r.status, 200, r.body);
    token = JSON.parse(r.body).access_token;
  });

  it('reports every master and worker of the testbed running, with etcd among the master processes', async () => {
    const info = JSON.parse((await request(s.director.url, s.director.caCert, 'GET', '/info')).body);
    assert.strictEqual(info.user_authentication.options.url, s.director.uaaUrl);
    const lines = await instances();
    const deployed = s.vms.filter((v) => v.group !== 'jumpbox');
    assert.strictEqual(lines.length, deployed.length + 1, 'every VM but the jump host, plus the errand');
    for (const vm of deployed) {
      const l = lines.find((x) => x.id === vm.id);
      assert.ok(l, `${vm.group}/${vm.id} listed`);
      assert.deepStrictEqual(
        [l.job_name, l.index, l.vm_cid, l.agent_id, l.bootstrap, l.ips],
        [vm.group, vm.index, vm.vmCid, vm.agentId, vm.bootstrap, [vm.ip]],
      );
      assert.strictEqual(l.job_state, 'running', `${vm.group}/${vm.index}: ${JSON.stringify(l.processes)}`);
      if (vm.group === 'master')
        assert.ok(l.processes.some((p: { name: string; state: string }) => p.name === 'etcd' && p.state === 'running'));
    }
    assert.strictEqual(lines.find((l) => l.job_name === 'apply-addons').job_state, null);
  });

  it('shows a worker process stopped through monit inside the VM as failing, and running again after start', async () => {
    const worker = s.vms.find((v) => v.group === 'worker')!;
    const names = (await instances())
      .find((l) => l.id === worker.id)
      .processes.map((p: { name: string }) => p.name) as string[];
    assert.ok(names.length > 0, 'the worker runs monit jobs');
    const job = names[0];
    nsMonit(worker.nsPid, 'stop', job);
    try {
      let l = (await instances()).find((x) => x.id === worker.id);
      for (let i = 0; i < 100 && l.job_state !== 'failing'; i++)
        l = (await instances()).find((x) => x.id === worker.id);
      assert.strictEqual(l.job_state, 'failing');
      assert.strictEqual(l.processes.find((p: { name: string }) => p.name === job).state, 'unknown');
    } finally {
      nsMonit(worker.nsPid, 'start', job);
    }
    let l = (await instances()).find((x) => x.id === worker.id);
    for (let i = 0; i < 100 && l.job_state !== 'running'; i++) l = (await instances()).find((x) => x.id === worker.id);
    assert.strictEqual(l.job_state, 'running');
  });

  it('sets up a temporary user that logs in to that master only (pinned host key), sudoes inside the VM, and is removed by cleanup', async () => {
    const [m0, m1] = s.vms.filter((v) => v.group === 'master').sort((a, b) => a.index - b.index);
    const kd = fs.mkdtempSync('/tmp/director-tier-keys-');
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', path.join(kd, 'id')]);
      const user = `bosh_${require('crypto').randomBytes(8).toString('hex').slice(0, 15)}`;
      const target = { job: 'master', indexes: [m1.id], ids: [m1.id] };
      const post = (body: unknown) =>
        request(s.director.url, s.director.caCert, 'POST', `/deployments/${s.deployment}/ssh`, {
          headers: { Authorization: `bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
      const setup = await task(
        await post({
          command: 'setup',
          deployment_name: s.deployment,
          target,
          params: { user, public_key: fs.readFileSync(path.join(kd, 'id.pub'), 'utf8') },
        }),
      );
      assert.strictEqual(setup.state, 'done', setup.result);
      const [host] = JSON.parse(setup.result);
      assert.deepStrictEqual(
        [host.ip, host.id, host.index, host.job, host.status],
        [m1.ip, m1.id, m1.index, 'master', 'success'],
      );
      const kh = path.join(kd, 'known_hosts');
      fs.writeFileSync(kh, `${host.ip} ${host.host_public_key}`);
      const ssh = (ip: string, cmd: string) =>
        run('ssh', [
          '-o',
          'BatchMode=yes',
          '-o',
          'StrictHostKeyChecking=yes',
          '-o',
          `UserKnownHostsFile=${kh}`,
          '-o',
          'IdentitiesOnly=yes',
          '-o',
          `IdentityFile=${path.join(kd, 'id')}`,
          '-o',
          'ConnectTimeout=10',
          '-l',
          user,
          '--',
          ip,
          cmd,
        ]);
      const ok = await ssh(
        m1.ip,
        'sudo -n true && echo sudo-ok && sudo -n test -f /var/vcap/jobs/etcd/bin/utils.sh && echo in-vm',
      );
      assert.strictEqual(ok.code, 0, ok.stderr);
      assert.deepStrictEqual(ok.stdout.trim().split('\n'), ['sudo-ok', 'in-vm']);
      fs.appendFileSync(kh, `${m0.ip} ${fs.readFileSync(path.join(m0.dir, 'ssh', 'ssh_host_rsa_key.pub'), 'utf8')}`);
      const other = await ssh(m0.ip, 'true');
      assert.notStrictEqual(other.code, 0);
      assert.match(other.stderr, /Permission denied/);
      const cleanup = await task(
        await post({ command: 'cleanup', deployment_name: s.deployment, target, params: { user_regex: `^${user}$` } }),
      );
      assert.strictEqual(cleanup.state, 'done');
      assert.ok(!userExists(user));
      assert.notStrictEqual((await ssh(m1.ip, 'true')).code, 0);
    } finally {
      fs.rmSync(kd, { recursive: true, force: true });
    }
  });
});
