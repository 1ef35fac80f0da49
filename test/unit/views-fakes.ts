// In-memory stand-ins for the unit tests of the VS Code layer's plain-TS modules and for
// bench/tree.bench.ts: a DirectorClient with N deployments × M instances and an EtcdCluster with
// scriptable member states. (The testbed tiers use the real services.)
import type { DeploymentSummary, DirectorClient, EnvironmentConfig, InstanceInfo } from '../../src/bosh/types';
import type {
  EndpointHealth,
  EndpointResult,
  EndpointStatus,
  EtcdAlarm,
  EtcdCluster,
  EtcdEndpoint,
  EtcdMember,
} from '../../src/etcd/types';
import type { DeploymentSession, EnvironmentSession } from '../../src/session/types';

export function uuid(n: number, salt = 0): string {
  const h = (n * 2654435761 + salt * 97).toString(16).padStart(8, '0').slice(-8);
  return `${h}-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

export function fakeInstance(
  dep: string,
  group: string,
  index: number,
  opts: Partial<InstanceInfo> = {},
): InstanceInfo {
  const etcd = group === 'master';
  const names = etcd
    ? ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd', 'blackbox', 'bosh-dns']
    : ['kubelet', 'kube-proxy', 'docker', 'bosh-dns'];
  return {
    deployment: dep,
    group,
    id: uuid(index + (group === 'master' ? 0 : 100), dep.length),
    index,
    processState: 'running',
    state: 'started',
    az: `pks-az${(index % 3) + 1}`,
    ips: [`10.0.${group === 'master' ? 1 : 2}.${10 + index}`],
    vmCid: `vm-${dep}-${group}-${index}`,
    vmType: group === 'master' ? 'medium.disk' : 'large',
    agentId: `agent-${index}`,
    bootstrap: index === 0,
    ignore: false,
    diskCids: [],
    processes: names.map((name) => ({ name, state: 'running', uptime: { secs: 3600 } })),
    vmCreatedAt: null,
    ...opts,
  };
}

export interface FakeWorld {
  deployments: DeploymentSummary[];
  instances: Map<string, InstanceInfo[]>;
  /** Member ids by instance id; absent = no member. */
  members: Map<string, EtcdMember[]>;
  /** Endpoint urls that do not answer. */
  down: Set<string>;
  alarms: EtcdAlarm[];
  calls: string[];
  /** Artificial API latency (ms). */
  latencyMs: number;
}

export function makeWorld(nDeployments: number, instancesPerDeployment: number, masters = 3): FakeWorld {
  const w: FakeWorld = {
    deployments: [],
    instances: new Map(),
    members: new Map(),
    down: new Set(),
    alarms: [],
    calls: [],
    latencyMs: 0,
  };
  for (let d = 0; d < nDeployments; d++) {
    const name = `service-instance_${uuid(d, 7)}`;
    w.deployments.push({
      name,
      releases: [
        { name: 'kubo', version: '1.20.0' },
        { name: 'cfcr-etcd', version: '1.11.0' },
      ],
      stemcells: [{ name: 'ubuntu-jammy', version: '1.406' }],
      teams: [],
    });
    const list: InstanceInfo[] = [];
    for (let i = 0; i < instancesPerDeployment; i++)
      list.push(i < masters ? fakeInstance(name, 'master', i) : fakeInstance(name, 'worker', i - masters));
    w.instances.set(name, list);
    w.members.set(
      name,
      list
        .filter((i) => i.group === 'master')
        .map((i, k) => ({
          id: (BigInt('0x53658d99a737925a') + BigInt(k * 7919)).toString(16),
          name: i.id,
          peerURLs: [`https://master-${k}.etcd.cfcr.internal:2380`],
          clientURLs: [`https://master-${k}.etcd.cfcr.internal:2379`],
          isLearner: false,
        })),
    );
  }
  return w;
}

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export function fakeCluster(w: FakeWorld, dep: string): EtcdCluster {
  const masters = (w.instances.get(dep) ?? []).filter((i) => i.group === 'master');
  const endpoints: EtcdEndpoint[] = masters.map((m, k) => ({
    name: m.id,
    url: `https://master-${k}.etcd.cfcr.internal:2379`,
  }));
  const members = () => w.members.get(dep) ?? [];
  const leader = () => members().find((m) => !m.isLearner && !w.down.has(m.clientURLs[0]))?.id ?? '';
  const per = <T>(f: (ep: EtcdEndpoint, m: EtcdMember | undefined) => T): Promise<EndpointResult<T>[]> =>
    sleep(w.latencyMs).then(() =>
      endpoints.map((ep) => {
        const m = members().find((x) => x.clientURLs.includes(ep.url));
        if (w.down.has(ep.url) || !m)
          return { endpoint: ep.url, ok: false as const, error: 'connection refused (etcd not running)', tookMs: 1 };
        return { endpoint: ep.url, ok: true as const, value: f(ep, m), tookMs: 2 };
      }),
    );
  let raft = 100;
  const notImpl = (what: string) => () => Promise.reject(new Error(`fake cluster: ${what} not implemented`));
  return {
    endpoints,
    clusterId: async () => 'cdf818194e3a8c32',
    status: () => {
      raft += 3;
      return per((ep, m): EndpointStatus => ({
        endpoint: ep.url,
        memberId: m!.id,
        version: '3.4.23',
        dbSize: 20480 + raft * 10,
        dbSizeInUse: 16384,
        leader: leader(),
        isLearner: m!.isLearner,
        raftTerm: '2',
        raftIndex: String(raft),
        raftAppliedIndex: String(raft),
        // as etcd's Status: every active alarm, "memberID:<decimal> alarm:<NAME> "
        errors: w.alarms.map((a) => `memberID:${BigInt('0x' + a.memberId)} alarm:${a.alarm} `),
        clusterId: 'cdf818194e3a8c32',
      }));
    },
    health: () => per((ep): EndpointHealth => ({ endpoint: ep.url, healthy: true, tookMs: 3 })),
    memberList: async (opts) => {
      await sleep(w.latencyMs);
      if (opts?.endpointUrl && w.down.has(opts.endpointUrl))
        throw new Error(`member list of ${opts.endpointUrl}: connection refused (etcd not running)`);
      return members();
    },
    memberAdd: notImpl('memberAdd'),
    memberRemove: notImpl('memberRemove'),
    memberPromote: notImpl('memberPromote'),
    alarms: async () => w.alarms,
    alarmDisarm: notImpl('alarmDisarm'),
    hashKV: notImpl('hashKV'),
    snapshot: notImpl('snapshot'),
    put: notImpl('put'),
    get: notImpl('get'),
    dispose: async () => undefined,
  };
}

export function fakeDirector(w: FakeWorld, env: EnvironmentConfig): DirectorClient {
  const notImpl = (what: string) => () => Promise.reject(new Error(`fake director: ${what} not implemented`));
  return {
    env,
    info: async () => ({
      name: 'fake-bosh',
      uuid: 'fake-uuid',
      version: '282.0.0',
      user: null,
      user_authentication: { type: 'uaa', options: { url: 'https://10.0.0.6:8443' } },
    }),
    deployments: async () => {
      w.calls.push('deployments');
      await sleep(w.latencyMs);
      return w.deployments;
    },
    instances: async (d) => {
      w.calls.push(`instances ${d}`);
      await sleep(w.latencyMs);
      const l = w.instances.get(d);
      if (!l) throw Object.assign(new Error(`deployment ${d} not found`), { name: 'BoshError', kind: 'not-found' });
      return l;
    },
    vms: notImpl('vms') as DirectorClient['vms'],
    instancesFast: notImpl('instancesFast') as DirectorClient['instancesFast'],
    task: notImpl('task') as DirectorClient['task'],
    sshSetup: notImpl('sshSetup') as DirectorClient['sshSetup'],
    sshCleanup: notImpl('sshCleanup') as DirectorClient['sshCleanup'],
    dispose: () => undefined,
  };
}

export function fakeSession(w: FakeWorld, env: EnvironmentConfig): EnvironmentSession {
  const director = fakeDirector(w, env);
  const deps = new Map<string, DeploymentSession>();
  return {
    env,
    director,
    deployment(name) {
      let d = deps.get(name);
      if (!d) {
        let cluster: EtcdCluster | undefined;
        d = {
          env,
          deployment: name,
          director,
          instances: () => director.instances(name),
          ssh: () => Promise.reject(new Error('fake session: no ssh')),
          etcd: async () => (cluster ??= fakeCluster(w, name)),
          dispose: async () => undefined,
        };
        deps.set(name, d);
      }
      return d;
    },
    dispose: async () => undefined,
  };
}

export const FAKE_ENV: EnvironmentConfig = { name: 'fake-director', url: 'https://10.0.0.6:25555', source: 'testbed' };
