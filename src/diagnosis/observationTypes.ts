// The shape of one observation of a deployment's etcd cluster (what observe.ts produces and
// classify.ts judges) and the names it uses for masters and their URLs. Plain Node, no `vscode`.
import type { InstanceInfo } from '../bosh/types';
import type { MonitService } from '../bosh/monit';
import type { EndpointHealth, EndpointResult, EndpointStatus, EtcdAlarm, EtcdMember, HashKV } from '../etcd/types';

/** A result that may have failed; the failure is a value with the reason in words. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** What a read-only probe found on one master VM over SSH. */
export interface VmProbe {
  /** `master/<uuid>` */
  label: string;
  /** false: SSH or the probe command failed (`error` says why); every other field is then empty. */
  reachable: boolean;
  error?: string;
  /** monit's view of etcd (undefined: monit has no etcd process or `monit summary` failed). */
  monitEtcd?: MonitService;
  /** Every process monit lists (for the Director / VM comparison). */
  monitProcesses: MonitService[];
  /** `monit summary` could not be read (its output, shortened). */
  monitError?: string;
  /** /var/vcap/store/etcd/member exists. */
  memberDirExists: boolean;
  /** /var/vcap/store/etcd exists and has entries. */
  dataDirEntries: string[] | null;
  /** pid from the job's pidfile whose process is alive, else null. */
  etcdPid: number | null;
  /** The last lines of etcd.stderr.log (tail only; empty when the file is missing). */
  logTail: string[];
  logMissing: boolean;
  /** Free space on /var/vcap/store, bytes. */
  storeFreeBytes: number | null;
  storeSizeBytes: number | null;
  /** `--quota-backend-bytes` of the running etcd (or of the job's start script); null: not set (2 GiB). */
  quotaBytes: number | null;
  /** `${etcd_peer_address}` as the job's utils.sh computes it. */
  peerAddress: string | null;
  /** `LOCAL=true etcdctl endpoint health` run on the VM against its own client URL. */
  localHealth: { healthy: boolean; detail: string } | null;
  /** `LOCAL=true etcdctl endpoint status -w json` on the VM (cluster id and leader as the member itself says). */
  localStatus: { memberId: string; clusterId?: string; leader: string; dbSize: number; dbSizeInUse?: number } | null;
  tookMs: number;
  /** Set when this observation reused an earlier probe of the VM (probeCache.ts): its age then, in ms. */
  reusedAgeMs?: number;
}

/** One endpoint as seen from the workstation. */
export interface EndpointObservation {
  /** `https://master-<i>.etcd.cfcr.internal:2379` */
  url: string;
  /** The instance UUID the endpoint was opened for. */
  instanceId: string;
  status: EndpointResult<EndpointStatus> | null;
  health: EndpointResult<EndpointHealth> | null;
  /** The member list as this member answers it (serializable read: its own view). */
  members: Outcome<EtcdMember[]> | null;
  /** hashKV at the observation's common revision; null when not asked. */
  hashKV: Outcome<HashKV> | null;
}

export interface ClusterObservation {
  at: string;
  deployment: string;
  /** Every instance of the deployment (Director). */
  instances: InstanceInfo[];
  /** The etcd instances (group 'master' or with an 'etcd' process), index order. */
  masters: InstanceInfo[];
  /** The Director's full list did not come in time: process states are unknown (fast list). */
  processStatesUnknown: boolean;
  directorError?: string;
  /** etcd could not be opened at all (no certificates, no master reachable): why. */
  etcdError?: string;
  endpoints: EndpointObservation[];
  alarms: Outcome<EtcdAlarm[]> | null;
  /** Revision the hashKV values were taken at (null: not compared). */
  hashRevision: string | null;
  /** Probes by instance id; absent when probing was off. */
  probes: Record<string, VmProbe>;
  /** VM probes were asked for (false: `probeVms: false`). */
  probed: boolean;
  /** What could not be checked, in words (shown by every surface). */
  unchecked: string[];
  /** The newest local snapshot (only when ObserveOptions.snapshotDir was given). */
  snapshots?: SnapshotObservation;
  tookMs: number;
}

/** Where observations keep VM probes for reuse (ProbeCache in probeCache.ts). */
export interface ProbeStore {
  /** The instance has a probe young enough to be reused at `now` (its picture still to be compared). */
  young(instanceId: string, now?: number): boolean;
  /** The instance's probe when young enough and taken with this endpoint picture, else undefined. */
  reusable(instanceId: string, picture: string, now?: number): VmProbe | undefined;
  set(instanceId: string, probe: VmProbe, picture: string, at?: number): void;
  takenAt(instanceId: string): number | undefined;
  /** Keeps only these instances. */
  retain(instanceIds: string[]): void;
}

export interface ObserveOptions {
  /** Probe each master over SSH (default true). */
  probeVms?: boolean;
  /**
   * Deadline of each endpoint's own calls (default 5000 ms, the session's etcd call deadline: keep it
   * at least that, since status and health ask every endpoint in parallel, each bounded by the session's).
   */
  endpointDeadlineMs?: number;
  /** Deadline of one VM probe, SSH connection included (default 25 000 ms). */
  probeDeadlineMs?: number;
  /** Deadline of the Director's full instance list before the fast list is used (default 10 000 ms). */
  directorDeadlineMs?: number;
  /** Compare hashKV when every DB is at most this big (default 256 MiB; 0 turns it off). */
  hashKvMaxDbBytes?: number;
  /**
   * Over one connection (a session's etcd), reuse the last hashKV comparison while it is at most this
   * old and made of the same majority (default 30 000 ms; 0: hash at every observation).
   */
  hashKvMaxAgeMs?: number;
  /**
   * Over one connection, reuse the last health (quorum read) and member lists of a healthy cluster
   * while at most this old and every endpoint's status shows the same cluster id, member, leader,
   * raft term, learner flag and errors. Default 0 (ask at every observation, as the recovery engine
   * needs); the monitor's polls use DEFAULT_QUORUM_READ_MAX_AGE_MS. freshProbes: asked again.
   */
  quorumReadMaxAgeMs?: number;
  /** Lines of etcd.stderr.log to read (default 50). */
  logLines?: number;
  /**
   * The deployment's instances when the caller already has them (e.g. the tree's last load, with
   * process states): the Director is not asked again.
   */
  instances?: InstanceInfo[];
  /**
   * Reuse VM probes between observations (probeCache.ts): a master's probe is reused while it is
   * young and the master's endpoint picture is unchanged; the probes taken are stored in it.
   */
  probeCache?: ProbeStore;
  /** With a probeCache: probe every VM now (an on-demand refresh), and store the results. */
  freshProbes?: boolean;
  /**
   * The local snapshot folder (boshEtcd.snapshots.directory, `bosh-etcd snapshot save --dir`): the
   * diagnosis reports the age of the deployment's newest snapshot there. A function is read at each
   * observation (a setting); absent: not looked at.
   */
  snapshotDir?: string | (() => string);
  /** A newest snapshot older than this is a warning (default SNAPSHOT_WARN_AGE_MS, 24 h). */
  snapshotWarnAgeMs?: number;
}

/** The deployment's newest local snapshot, as the observation found it. */
export interface SnapshotObservation {
  dir: string;
  /** undefined: no snapshot of the deployment in dir. */
  newest?: { file: string; name: string; takenAt: string; ageMs: number; revision?: string; clusterId?: string };
  /** Why the folder could not be read. */
  error?: string;
  /** Older than this: a warning. */
  warnAgeMs: number;
}

export const labelOf = (i: Pick<InstanceInfo, 'group' | 'id'>) => `${i.group}/${i.id}`;

/** Instances that run an etcd member: group 'master', or any instance with an 'etcd' process. */
export function etcdMasters(instances: InstanceInfo[]): InstanceInfo[] {
  return instances
    .filter((i) => i.group === 'master' || i.processes.some((p) => p.name === 'etcd'))
    .sort((a, b) => (a.index ?? 0) - (b.index ?? 0) || a.id.localeCompare(b.id));
}

export const expectedClientUrl = (index: number) => `https://master-${index}.etcd.cfcr.internal:2379`;
export const expectedPeerUrl = (index: number) => `https://master-${index}.etcd.cfcr.internal:2380`;
