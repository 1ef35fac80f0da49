// Synthetic observations for the diagnosis' unit tests (classifier, monitor, the surfaces that
// render it): three masters, their endpoints as seen from here, and VM probes parsed from text in
// the probe command's own output format.
import type { InstanceInfo } from '../../src/bosh/types';
import type { EtcdMember } from '../../src/etcd/types';
import { parseVmProbe, type ClusterObservation, type EndpointObservation, type VmProbe } from '../../src/diagnosis';

export const IDS = [
  'aaaaaaaa-0000-4000-8000-000000000000',
  'bbbbbbbb-1111-4000-8000-111111111111',
  'cccccccc-2222-4000-8000-222222222222',
];
export const MEMBER_IDS = ['a1', 'b2', 'c3'];
export const CLUSTER = 'c1c1c1';
export const url = (i: number) => `https://master-${i}.etcd.cfcr.internal:2379`;
export const peer = (i: number) => `https://master-${i}.etcd.cfcr.internal:2380`;

export function instance(i: number, over: Partial<InstanceInfo> = {}): InstanceInfo {
  return {
    deployment: 'dep',
    group: 'master',
    id: IDS[i],
    index: i,
    processState: 'running',
    state: 'started',
    az: 'z1',
    ips: [`10.0.0.${11 + i}`],
    vmCid: `vm-${i}`,
    vmType: null,
    agentId: `agent-${i}`,
    bootstrap: i === 0,
    ignore: false,
    diskCids: [],
    processes: [{ name: 'etcd', state: 'running' }],
    vmCreatedAt: null,
    ...over,
  };
}

export function member(i: number, over: Partial<EtcdMember> = {}): EtcdMember {
  return { id: MEMBER_IDS[i], name: IDS[i], peerURLs: [peer(i)], clientURLs: [url(i)], isLearner: false, ...over };
}

export const MONIT_OK = `The Monit daemon 5.2.5 uptime: 1h 0m

Process 'etcd'                      running
System 'system_localhost'           running
`;

export function probeText(
  o: {
    monit?: string;
    member?: boolean;
    pid?: string;
    log?: string[];
    health?: boolean;
    quota?: number;
    freeKb?: number;
    clusterId?: string;
  } = {},
): string {
  const health = o.health ?? true;
  return [
    '### monit',
    o.monit ?? MONIT_OK,
    '### data',
    o.member === false ? '' : 'member',
    '### member',
    o.member === false ? 'absent' : 'present',
    '### pid',
    o.pid ?? '4242',
    '### df',
    'Filesystem     1024-blocks    Used Available Capacity Mounted on',
    `/dev/sdb1          10000000  100000   ${o.freeKb ?? 9000000}       2% /var/vcap/store`,
    '### quota',
    o.quota ? `--quota-backend-bytes=${o.quota}` : '',
    '### peer',
    'https://master-1.etcd.cfcr.internal:2380',
    '### log',
    ...(o.log ?? ['(no log file)']),
    '### health',
    health
      ? '[{"endpoint":"https://master-1.etcd.cfcr.internal:2379","health":true,"took":"2.1ms"}]\nexit=0'
      : '{"level":"warn","msg":"retrying of unary invoker failed","error":"context deadline exceeded"}\n[{"endpoint":"https://master-1.etcd.cfcr.internal:2379","health":false,"took":"5s","error":"context deadline exceeded"}]\nexit=1',
    '### status',
    health
      ? `[{"Endpoint":"https://master-1.etcd.cfcr.internal:2379","Status":{"header":{"cluster_id":${BigInt('0x' + (o.clusterId ?? CLUSTER))},"member_id":178,"revision":9,"raft_term":2},"version":"3.4.23","dbSize":20480,"leader":161,"raftIndex":12,"raftTerm":2}}]`
      : '',
    '### end',
  ].join('\n');
}

export function probe(i: number, o: Parameters<typeof probeText>[0] = {}): VmProbe {
  return parseVmProbe(`master/${IDS[i]}`, probeText(o));
}

export function endpoint(
  i: number,
  over: Partial<EndpointObservation> & { down?: string; clusterId?: string; leader?: string } = {},
): EndpointObservation {
  if (over.down) {
    return {
      url: url(i),
      instanceId: IDS[i],
      status: { endpoint: url(i), ok: false, error: over.down, tookMs: 3000 },
      health: { endpoint: url(i), ok: false, error: over.down, tookMs: 3000 },
      members: null,
      hashKV: null,
      ...over,
    };
  }
  return {
    url: url(i),
    instanceId: IDS[i],
    status: {
      endpoint: url(i),
      ok: true,
      tookMs: 2,
      value: {
        endpoint: url(i),
        memberId: MEMBER_IDS[i],
        version: '3.4.23',
        dbSize: 20480,
        dbSizeInUse: 16384,
        leader: over.leader ?? MEMBER_IDS[0],
        raftTerm: '2',
        raftIndex: '100',
        raftAppliedIndex: '100',
        errors: [],
        clusterId: over.clusterId ?? CLUSTER,
      },
    },
    health: { endpoint: url(i), ok: true, tookMs: 2, value: { endpoint: url(i), healthy: true, tookMs: 2 } },
    members: { ok: true, value: [0, 1, 2].map((k) => member(k)) },
    hashKV: null,
    ...over,
  };
}

export function observation(over: Partial<ClusterObservation> = {}): ClusterObservation {
  const masters = [0, 1, 2].map((i) => instance(i));
  return {
    at: '2026-01-01T00:00:00Z',
    deployment: 'dep',
    instances: masters,
    masters,
    processStatesUnknown: false,
    endpoints: [0, 1, 2].map((i) => endpoint(i)),
    alarms: { ok: true, value: [] },
    hashRevision: null,
    probes: Object.fromEntries([0, 1, 2].map((i) => [IDS[i], probe(i)])),
    probed: true,
    unchecked: [],
    tookMs: 10,
    ...over,
  };
}

/** Observation with master i's endpoint unreachable from here and its probe replaced. */
export function downFromHere(i: number, p: VmProbe | undefined, over: Partial<ClusterObservation> = {}) {
  const o = observation(over);
  o.endpoints[i] = endpoint(i, { down: 'status of x: cannot reach the member (UNAVAILABLE)' });
  if (p) o.probes[IDS[i]] = p;
  else delete o.probes[IDS[i]];
  return o;
}
