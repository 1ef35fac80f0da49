// The etcd layer's contract. Member ids are always lower-case hex strings as etcdctl prints them
// (never JS numbers: they are 64-bit). No `vscode` import here.

export interface EtcdEndpoint {
  /** Member/instance this endpoint belongs to, e.g. the instance UUID. */
  name: string;
  /** As etcdctl would print it: https://master-0.etcd.cfcr.internal:2379 */
  url: string;
}

/** `etcdctl endpoint status` row (3.4 columns; 3.3 leaves the last ones undefined). */
export interface EndpointStatus {
  endpoint: string;
  memberId: string;
  version: string;
  dbSize: number;
  dbSizeInUse?: number;
  leader: string;
  isLearner?: boolean;
  raftTerm: string;
  raftIndex: string;
  raftAppliedIndex?: string;
  errors: string[];
  /** Cluster id (hex) from the response header: differs on a member that split off (bootstrap without member/). */
  clusterId?: string;
  /** The member's current revision (response header). */
  revision?: string;
}

export interface EndpointHealth {
  endpoint: string;
  healthy: boolean;
  tookMs: number;
  error?: string;
}

export interface EtcdMember {
  id: string;
  /** Empty while `unstarted`. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface EtcdAlarm {
  memberId: string;
  alarm: 'NOSPACE' | 'CORRUPT' | 'NONE' | string;
}

/** Result per endpoint: failures are values (an unreachable member is normal here). */
export type EndpointResult<T> =
  | { endpoint: string; ok: true; value: T; tookMs: number }
  | { endpoint: string; ok: false; error: string; tookMs: number };

export interface HashKV {
  memberId: string;
  revision: string;
  compactRevision: string;
  hash: number;
}

/** A connection to all members of one cluster (one client per endpoint). */
export interface EtcdCluster {
  readonly endpoints: EtcdEndpoint[];
  clusterId(): Promise<string>;
  status(): Promise<EndpointResult<EndpointStatus>[]>;
  /**
   * Like `etcdctl endpoint health`. withAlarms false: the linearizable read only, without the alarm
   * list that follows it (a caller that has the alarms from status' errors judges them itself).
   */
  health(opts?: { withAlarms?: boolean }): Promise<EndpointResult<EndpointHealth>[]>;
  /** Asked of any reachable member (first that answers). */
  memberList(opts?: {
    /** Ask this member only (e.g. one of the majority when a member split off). */ endpointUrl?: string;
  }): Promise<EtcdMember[]>;
  /** Never retried. */
  memberAdd(peerURLs: string[], opts?: { learner?: boolean }): Promise<{ member: EtcdMember; members: EtcdMember[] }>;
  memberRemove(idHex: string): Promise<void>;
  memberPromote(idHex: string): Promise<void>;
  alarms(): Promise<EtcdAlarm[]>;
  alarmDisarm(alarm: EtcdAlarm): Promise<void>;
  hashKV(endpointUrl: string, revision?: string): Promise<HashKV>;
  /** The member's backend, streamed with backpressure; ends with etcd's sha256 of it. Aborting the signal cancels the call. */
  snapshot(endpointUrl: string, opts?: { signal?: AbortSignal }): Promise<NodeJS.ReadableStream>;
  /** Plain KV for tests and write-flow checks. */
  put(key: string, value: string): Promise<string /* revision */>;
  get(key: string, opts?: { serializable?: boolean; endpointUrl?: string }): Promise<string | null>;
  dispose(): Promise<void>;
}

export class EtcdError extends Error {
  constructor(
    public readonly kind:
      | 'unreachable'
      | 'timeout'
      | 'not-found'
      | 'exists'
      | 'unhealthy'
      | 'tls'
      | 'rpc'
      | 'config'
      /** etcd authentication refused the call to the client certificate's user (not root). */
      | 'permission',
    message: string,
  ) {
    super(message);
    this.name = 'EtcdError';
  }
}
