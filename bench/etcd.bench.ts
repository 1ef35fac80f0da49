// etcd reads through the extension's path (etcd3 clients over local forwards) versus what an
// operator runs today: `etcdctl endpoint status --cluster` on a master over SSH.
//   warm:  status() of all members through the tunnels, vs the etcdctl command over the same
//          (already open, Director-provisioned) SSH connection — directly and through the jump host.
//   cold:  from nothing to the first status of all members (Director instances, SSH setup, certs
//          read into memory, tunnels, TLS), vs `bosh ssh`-style setup + connect + etcdctl.
import type { EnvironmentConfig } from '../src/bosh/types';
import { openBoshSsh } from '../src/ssh/boshSsh';
import { directDial } from '../src/ssh/gateway';
import { openEnvironment } from '../src/session/session';
import type { DeploymentSession, EnvironmentSession } from '../src/session/types';
import type { EtcdCluster } from '../src/etcd/types';
import type { RemoteHost } from '../src/ssh/types';
import { masters, readTestbedState, TestbedState } from '../test/testbed/harness/state';

const ETCDCTL_STATUS = 'ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl endpoint status --cluster -w json';

function envOf(s: TestbedState, viaJumpHost: boolean): EnvironmentConfig {
  const j = s.jumpHost;
  return {
    name: 'bench',
    url: s.director.url,
    caCert: s.director.caCert,
    client: s.director.client,
    clientSecret: s.director.clientSecret,
    source: 'testbed',
    gateway: viaJumpHost ? { host: j.host, port: j.port, user: j.user, privateKeyPath: j.privateKeyPath } : undefined,
  };
}

function assertAllOk(res: Awaited<ReturnType<EtcdCluster['status']>>, n: number) {
  const ok = res.filter((r) => r.ok).length;
  if (ok !== n) throw new Error(`status: ${ok}/${n} members answered: ${JSON.stringify(res)}`);
}

async function etcdctlStatus(h: RemoteHost, n: number) {
  const r = await h.exec(ETCDCTL_STATUS, { sudo: true, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`etcdctl exited ${r.code}: ${r.stderr}`);
  const count = (r.stdout.match(/"Endpoint"/g) ?? []).length;
  if (count !== n) throw new Error(`etcdctl listed ${count}/${n} endpoints`);
}

function warm(viaJumpHost: boolean) {
  let env: EnvironmentSession;
  let dep: DeploymentSession;
  let cluster: EtcdCluster;
  let host: RemoteHost;
  let n = 0;
  return {
    name: `etcd status of all members, warm${viaJumpHost ? ', via jump host' : ''}: etcd3 through tunnels vs etcdctl over the same ssh`,
    iterations: 20,
    needsTestbed: true,
    async setup() {
      const s = readTestbedState();
      n = masters(s).length;
      env = openEnvironment(envOf(s, viaJumpHost), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
      dep = env.deployment(s.deployment);
      cluster = await dep.etcd();
      host = await dep.ssh(`master/${masters(s)[0].id}`);
    },
    baseline: () => etcdctlStatus(host, n),
    candidate: async () => assertAllOk(await cluster.status(), n),
    async teardown() {
      await env?.dispose();
    },
  };
}

function cold() {
  let s: TestbedState;
  return {
    name: 'etcd cold: nothing to first status of all members (session) vs bosh-ssh setup + etcdctl',
    iterations: 4,
    needsTestbed: true,
    async setup() {
      s = readTestbedState();
    },
    async baseline(): Promise<number> {
      const env = openEnvironment(envOf(s, false));
      const t0 = process.hrtime.bigint();
      const m = masters(s)[0];
      const h = await openBoshSsh({
        director: env.director,
        deployment: s.deployment,
        instance: { group: 'master', id: m.id },
        dial: (hh, pp) => directDial(hh, pp),
      });
      await etcdctlStatus(h, masters(s).length);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      await h.dispose();
      await env.dispose();
      return ms;
    },
    async candidate(): Promise<number> {
      const env = openEnvironment(envOf(s, false));
      const t0 = process.hrtime.bigint();
      const c = await env.deployment(s.deployment).etcd();
      assertAllOk(await c.status(), masters(s).length);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      await env.dispose();
      return ms;
    },
  };
}

export const benchmarks = [warm(false), warm(true), cold()];
