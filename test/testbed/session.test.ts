// Testbed tier: the session composition (src/session/session.ts) — Director stand-in, Director-
// provisioned SSH with pinned host keys, etcd through tunnels — directly and through the jump host.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { boshCliEnv } from './harness/env';
import { masters, readTestbedState, TestbedState } from './harness/state';
import { userExists } from './director/ssh-users';
import { waitFor } from './harness/sh';
import type { EnvironmentConfig } from '../../src/bosh/types';
import { openDeploymentFromEnv, openEnvironment } from '../../src/session/session';
import type { DeploymentSession, EnvironmentSession } from '../../src/session/types';
import { EtcdError } from '../../src/etcd/types';

function envOf(state: TestbedState, viaJumpHost: boolean): EnvironmentConfig {
  const j = state.jumpHost;
  return {
    name: 'testbed',
    url: state.director.url,
    caCert: state.director.caCert,
    client: state.director.client,
    clientSecret: state.director.clientSecret,
    source: 'testbed',
    gateway: viaJumpHost ? { host: j.host, port: j.port, user: j.user, privateKeyPath: j.privateKeyPath } : undefined,
  };
}

describe('session (testbed)', function () {
  this.timeout(120_000);
  let state: TestbedState;
  const logs: string[] = [];
  before(() => {
    state = readTestbedState();
  });

  it('is lazy: opening an environment and a deployment touches no network', async () => {
    const s = openEnvironment({
      name: 'nowhere',
      url: 'https://127.0.5.250:1',
      source: 'testbed',
      gateway: { host: '127.0.5.250', port: 1, user: 'x', privateKey: 'not a key' },
    });
    const d = s.deployment('dep');
    assert.strictEqual(d.deployment, 'dep');
    assert.strictEqual(s.deployment('dep'), d, 'one session per deployment');
    await s.dispose();
  });

  for (const viaJumpHost of [false, true]) {
    describe(viaJumpHost ? 'through the jump host' : 'direct', () => {
      let env: EnvironmentSession;
      let dep: DeploymentSession;
      before(() => {
        env = openEnvironment(envOf(state, viaJumpHost), {
          gatewayKnownHostsPath: state.staticSsh.knownHostsPath,
          log: (l) => logs.push(l),
        });
        dep = env.deployment(state.deployment);
      });
      after(async () => {
        await env?.dispose();
      });

      it('lists deployments and instances (masters with IPs, running)', async () => {
        const ds = await env.director.deployments();
        assert.ok(
          ds.some((d) => d.name === state.deployment),
          JSON.stringify(ds),
        );
        const inst = await dep.instances();
        for (const m of masters(state)) {
          const i = inst.find((x) => x.id === m.id);
          assert.ok(i, `instance ${m.id}`);
          assert.strictEqual(i.group, 'master');
          assert.deepStrictEqual(i.ips, [m.ip]);
          assert.strictEqual(i.processState, 'running');
        }
      });

      it('SSHes into a master with Director-provisioned credentials, runs `sudo monit summary`, reuses the connection', async () => {
        const m = masters(state)[0];
        const h = await dep.ssh(`master/${m.id}`);
        const r = await h.exec('monit summary', { sudo: true });
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /etcd\s+OK\s+Process/);
        const who = (await h.exec('whoami')).stdout.trim();
        assert.match(who, /^bosh_[0-9a-f]{15}$/);
        assert.ok(userExists(who));
        const inst = (await dep.instances()).find((i) => i.id === m.id)!;
        assert.strictEqual(await dep.ssh(inst), h, 'one reused connection per instance');
      });

      it('reads etcd status of all members through tunnels, with certificates read from a master', async () => {
        const c = await dep.etcd();
        assert.strictEqual(await dep.etcd(), c, 'cached');
        const st = await c.status();
        assert.deepStrictEqual(
          st.map((r) => r.endpoint),
          masters(state).map((m) => m.etcdClientUrl),
        );
        for (const r of st) assert.ok(r.ok, !r.ok ? r.error : '');
        const list = await c.memberList();
        assert.deepStrictEqual(
          list.map((x) => x.name).sort(),
          masters(state)
            .map((m) => m.id)
            .sort(),
        );
        assert.deepStrictEqual(
          c.endpoints.map((e) => e.name),
          masters(state).map((m) => m.id),
        );
      });

      if (viaJumpHost) {
        it('adds and removes a learner through the session', async () => {
          const c = await dep.etcd();
          const peer = 'https://master-9.etcd.cfcr.internal:2380';
          const { member } = await c.memberAdd([peer], { learner: true });
          try {
            assert.ok((await c.memberList()).some((x) => x.id === member.id && x.isLearner));
          } finally {
            await c.memberRemove(member.id);
          }
          assert.ok(!(await c.memberList()).some((x) => x.id === member.id));
        });
      }

      it('disposes everything: etcd closed, and the temporary user removed by the Director', async () => {
        const h = await dep.ssh(`master/${masters(state)[0].id}`);
        const who = (await h.exec('whoami')).stdout.trim();
        const c = await dep.etcd();
        await dep.dispose();
        // dispose() asks the Director for the cleanup and does not wait for its task (as `bosh ssh` does):
        // the Director removes the user shortly after
        await waitFor(`${who} to be removed by the Director's cleanup task`, 30_000, async () => !userExists(who), 200);
        assert.ok(!fs.existsSync(path.join(masters(state)[0].dir, 'ssh', 'authorized_keys', who)));
        await assert.rejects(c.status(), (e: unknown) => e instanceof EtcdError && e.kind === 'config');
        await assert.rejects(h.exec('true'), /closed/);
        assert.ok(!logs.join('\n').includes(state.director.clientSecret), 'the client secret never reaches the log');
        assert.ok(!/PRIVATE KEY/.test(logs.join('\n')), 'no key material in the log');
      });
    });
  }

  it('uses the static SSH user instead of the Director when configured', async () => {
    const env = openEnvironment(envOf(state, false), {
      staticSsh: {
        user: state.staticSsh.user,
        privateKeyPath: state.staticSsh.privateKeyPath,
        knownHostsPath: state.staticSsh.knownHostsPath,
      },
    });
    try {
      const dep = env.deployment(state.deployment);
      const h = await dep.ssh(`master/${masters(state)[1].id}`);
      assert.strictEqual((await h.exec('whoami')).stdout.trim(), state.staticSsh.user);
      const st = await (await dep.etcd()).status();
      assert.ok(st.every((r) => r.ok));
    } finally {
      await env.dispose();
    }
  });

  it('reads the root client certificate: hashKV and snapshots work with etcd authentication on, and no note is given', async () => {
    assert.strictEqual(state.etcd.auth, true);
    const notes: string[] = [];
    const env = openEnvironment(envOf(state, false), { onNote: (n) => notes.push(n) });
    try {
      const c = await env.deployment(state.deployment).etcd();
      const url = c.endpoints[0].url;
      assert.match((await c.hashKV(url)).revision, /^\d+$/);
      let bytes = 0;
      for await (const chunk of (await c.snapshot(url)) as AsyncIterable<Buffer>) bytes += chunk.length;
      assert.ok(bytes > 4096, `snapshot of ${bytes} bytes`);
      assert.deepStrictEqual(notes, []);
    } finally {
      await env.dispose();
    }
  });

  it('falls back to etcdctl.crt only where etcdctl-root.crt is absent, tells the operator, and etcd then refuses hashKV', async () => {
    const configDirs = masters(state).map((m) => path.join(m.dir, 'vcap/jobs/etcd/config'));
    for (const d of configDirs) fs.renameSync(path.join(d, 'etcdctl-root.crt'), path.join(d, 'etcdctl-root.crt.away'));
    const notes: string[] = [];
    const env = openEnvironment(envOf(state, false), { onNote: (n) => notes.push(n) });
    try {
      const c = await env.deployment(state.deployment).etcd();
      assert.strictEqual(notes.length, 1, notes.join('\n'));
      assert.match(notes[0], /no etcdctl-root\.crt .*using etcdctl\.crt/);
      assert.ok(
        (await c.status()).every((r) => r.ok),
        'status still works for the etcdClient user',
      );
      await assert.rejects(
        c.hashKV(c.endpoints[0].url),
        (e: unknown) => e instanceof EtcdError && e.kind === 'permission' && /etcdctl-root\.crt/.test(e.message),
      );
    } finally {
      await env.dispose();
      for (const d of configDirs)
        fs.renameSync(path.join(d, 'etcdctl-root.crt.away'), path.join(d, 'etcdctl-root.crt'));
    }
  });

  it("can tunnel the etcd client ports through the master's SSH connection instead of the network path", async () => {
    const lines: string[] = [];
    const env = openEnvironment(envOf(state, false), { etcdTunnel: 'ssh', log: (l) => lines.push(l) });
    try {
      const c = await env.deployment(state.deployment).etcd();
      const st = await c.status();
      assert.ok(
        st.every((r) => r.ok),
        JSON.stringify(st),
      );
      assert.ok(
        lines.some((l) => /tunnelling the client ports through master\//.test(l)),
        lines.join('\n'),
      );
      // Who holds the TCP connections to the client ports: sshd (tunnel), not this process.
      const ss = execFileSync('ss', ['-Htnp', 'state', 'established', 'dport', '=', ':2379'], { encoding: 'utf8' });
      assert.ok(!ss.includes(`pid=${process.pid},`), `no direct connection from this process to :2379:\n${ss}`);
      assert.ok(/"sshd"/.test(ss), `sshd holds connections to :2379:\n${ss}`);
    } finally {
      await env.dispose();
    }
  });

  it('opens a deployment from bosh CLI variables (BOSH_ENVIRONMENT, BOSH_ALL_PROXY, BOSH_DEPLOYMENT…)', async () => {
    const d = openDeploymentFromEnv(
      { ...boshCliEnv(state), HOME: '/nonexistent' },
      { gatewayKnownHostsPath: state.staticSsh.knownHostsPath },
    );
    try {
      assert.strictEqual(d.deployment, state.deployment);
      assert.ok(d.env.gateway, 'the jump host from BOSH_ALL_PROXY');
      const st = await (await d.etcd()).status();
      assert.strictEqual(st.filter((r) => r.ok).length, masters(state).length);
    } finally {
      await d.dispose();
    }
    assert.throws(
      () => openDeploymentFromEnv({ ...boshCliEnv(state), BOSH_DEPLOYMENT: '', HOME: '/nonexistent' }),
      /BOSH_DEPLOYMENT/,
    );
  });
});
