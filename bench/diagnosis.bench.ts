// The diagnosis (src/diagnosis: observe → classify → findings) against what it replaces.
//   warm: the health panel's refresh: diagnoseDeployment without VM probes, instances already known,
//         over an open session, with the monitor's poll options (health and member lists reused while
//         young and every status unchanged), vs the warm etcd benchmark's candidate (status of every
//         endpoint over the same session): the price of the diagnosis on top of the bare status. Goal ≤ 1.2×.
//   cold: `bosh-etcd status` from nothing: a new session, the Director, every master probed over SSH
//         (monit, data directory, disk, log), vs what an operator runs: a `bosh ssh`-style setup to
//         each master (in parallel, as `bosh ssh master -c` does) and `etcdctl endpoint status` of
//         that member. Goal ≤ 1×.
import type { EnvironmentConfig } from '../src/bosh/types';
import type { InstanceInfo } from '../src/bosh/types';
import { DEFAULT_QUORUM_READ_MAX_AGE_MS, diagnoseDeployment, type Diagnosis } from '../src/diagnosis';
import type { EtcdCluster } from '../src/etcd/types';
import { openEnvironment } from '../src/session/session';
import type { DeploymentSession, EnvironmentSession } from '../src/session/types';
import { openBoshSsh } from '../src/ssh/boshSsh';
import { directDial } from '../src/ssh/gateway';
import { masters, readTestbedState, type TestbedState } from '../test/testbed/harness/state';

const LOCAL_STATUS = 'LOCAL=true ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl endpoint status -w json';

function envOf(s: TestbedState): EnvironmentConfig {
  return {
    name: 'bench',
    url: s.director.url,
    caCert: s.director.caCert,
    client: s.director.client,
    clientSecret: s.director.clientSecret,
    source: 'testbed',
  };
}

/** A healthy cluster must come out healthy: a diagnosis that missed a member would be cheaper but wrong. */
function assertHealthy(d: Diagnosis, n: number, probed: boolean): void {
  if (d.summary.worst !== 'ok' || d.summary.healthyMembers !== n)
    throw new Error(
      `diagnosis: ${d.summary.line} (${d.summary.healthyMembers}/${n} healthy): ${d.findings.map((f) => f.title).join('; ')}`,
    );
  if (probed && d.unchecked.length) throw new Error(`diagnosis left unchecked: ${d.unchecked.join('; ')}`);
}

/** hashKV off: the share of the warm diagnosis that is the consistency check of every member's keyspace. */
function warm(withHashKv: boolean) {
  let env: EnvironmentSession;
  let dep: DeploymentSession;
  let cluster: EtcdCluster;
  let instances: InstanceInfo[];
  let n = 0;
  return {
    name: withHashKv
      ? 'diagnosis, warm, 3 members, no VM probes (the panel refresh): diagnoseDeployment vs etcd3 status of every endpoint over the same session'
      : 'diagnosis, warm, as above without hashKV (hashKvMaxDbBytes 0): diagnoseDeployment vs etcd3 status of every endpoint',
    iterations: 20,
    needsTestbed: true,
    async setup() {
      const s = readTestbedState();
      n = masters(s).length;
      env = openEnvironment(envOf(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
      dep = env.deployment(s.deployment);
      cluster = await dep.etcd();
      instances = await dep.instances();
    },
    async baseline() {
      const res = await cluster.status();
      const ok = res.filter((r) => r.ok).length;
      if (ok !== n) throw new Error(`status: ${ok}/${n} members answered`);
    },
    async candidate() {
      assertHealthy(
        await diagnoseDeployment(dep, {
          probeVms: false,
          instances,
          hashKvMaxDbBytes: withHashKv ? undefined : 0,
          // as the monitor's polls (src/diagnosis/monitor.ts)
          quorumReadMaxAgeMs: DEFAULT_QUORUM_READ_MAX_AGE_MS,
        }),
        n,
        false,
      );
    },
    async teardown() {
      await env?.dispose();
    },
  };
}

function cold() {
  let s: TestbedState;
  return {
    name: 'diagnosis, cold, with VM probes (bosh-etcd status): new session + diagnoseDeployment vs bosh-ssh setup + etcdctl endpoint status on each master',
    iterations: 4,
    needsTestbed: true,
    async setup() {
      s = readTestbedState();
    },
    async baseline(): Promise<number> {
      const env = openEnvironment(envOf(s));
      const t0 = process.hrtime.bigint();
      const hosts = await Promise.all(
        masters(s).map((m) =>
          openBoshSsh({
            director: env.director,
            deployment: s.deployment,
            instance: { group: 'master', id: m.id },
            dial: (h, p) => directDial(h, p),
          }).then(async (h) => {
            const r = await h.exec(LOCAL_STATUS, { sudo: true, timeoutMs: 30_000 });
            if (r.code !== 0 || !/"Endpoint"/.test(r.stdout))
              throw new Error(`etcdctl on master/${m.id} exited ${r.code}: ${r.stderr}`);
            return h;
          }),
        ),
      );
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      await Promise.all(hosts.map((h) => h.dispose()));
      await env.dispose();
      return ms;
    },
    async candidate(): Promise<number> {
      const env = openEnvironment(envOf(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
      const t0 = process.hrtime.bigint();
      assertHealthy(
        await diagnoseDeployment(env.deployment(s.deployment), { probeVms: true }),
        masters(s).length,
        true,
      );
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      await env.dispose();
      return ms;
    },
  };
}

export const benchmarks = [warm(true), warm(false), cold()];
