// A connection to all members of one etcd cluster (EtcdCluster): the clients and their forwards
// (memberPool.ts), the reads (clusterReads.ts), membership changes sent exactly once
// (membershipChanges.ts) and the snapshot stream (snapshotStream.ts) behind one object.
// Member ids are lower-case hex strings, as etcdctl prints them. Plain Node, no `vscode`.
import { alarms, clusterId, hashKV, health, memberList, status } from './clusterReads';
import { toEtcdError } from './errors';
import { memberAdd, memberPromote, memberRemove } from './membershipChanges';
import { dec, Member, MemberPool, openMemberPool, type OpenEtcdClusterOptions } from './memberPool';
import { snapshotStream } from './snapshotStream';
import {
  EndpointHealth,
  EndpointResult,
  EndpointStatus,
  EtcdAlarm,
  EtcdCluster,
  EtcdEndpoint,
  EtcdError,
  EtcdMember,
  HashKV,
} from './types';

export type { ClusterEndpointConfig, OpenEtcdClusterOptions } from './memberPool';

/** AlarmType enum values of etcd's rpc.proto (requests are sent as numbers). */
function alarmTypeNumber(name: string): number {
  const n = ({ NONE: 0, NOSPACE: 1, CORRUPT: 2 } as Record<string, number>)[name.toUpperCase()];
  if (n === undefined) throw new EtcdError('config', `Unknown etcd alarm '${name}' (expected NOSPACE or CORRUPT).`);
  return n;
}

export async function openEtcdCluster(opts: OpenEtcdClusterOptions): Promise<EtcdCluster> {
  return new Cluster(await openMemberPool(opts));
}

class Cluster implements EtcdCluster {
  readonly endpoints: EtcdEndpoint[];

  constructor(private readonly pool: MemberPool) {
    this.endpoints = pool.members.map((m) => ({ name: m.ep.name, url: m.ep.url }));
  }

  clusterId(): Promise<string> {
    return clusterId(this.pool);
  }

  status(): Promise<EndpointResult<EndpointStatus>[]> {
    return status(this.pool);
  }

  /** Like `etcdctl endpoint health`: a linearizable read through the raft quorum, then the alarm list. */
  health(opts: { withAlarms?: boolean } = {}): Promise<EndpointResult<EndpointHealth>[]> {
    return health(this.pool, opts);
  }

  memberList(opts: { endpointUrl?: string } = {}): Promise<EtcdMember[]> {
    return memberList(this.pool, opts);
  }

  memberAdd(
    peerURLs: string[],
    opts: { learner?: boolean } = {},
  ): Promise<{ member: EtcdMember; members: EtcdMember[] }> {
    return memberAdd(this.pool, peerURLs, opts);
  }

  memberRemove(idHex: string): Promise<void> {
    return memberRemove(this.pool, idHex);
  }

  memberPromote(idHex: string): Promise<void> {
    return memberPromote(this.pool, idHex);
  }

  alarms(): Promise<EtcdAlarm[]> {
    return alarms(this.pool);
  }

  async alarmDisarm(alarm: EtcdAlarm): Promise<void> {
    await this.pool.any('alarm disarm', (m) =>
      m.client.maintenance.alarm(
        {
          action: 2 /* DEACTIVATE */,
          memberID: dec(alarm.memberId),
          alarm: alarmTypeNumber(alarm.alarm),
        },
        this.pool.deadline(),
      ),
    );
  }

  hashKV(endpointUrl: string, revision?: string): Promise<HashKV> {
    return hashKV(this.pool, endpointUrl, revision);
  }

  snapshot(endpointUrl: string, opts: { signal?: AbortSignal } = {}): Promise<NodeJS.ReadableStream> {
    return snapshotStream(this.pool, endpointUrl, opts);
  }

  async put(key: string, value: string): Promise<string> {
    this.pool.check();
    let last: unknown;
    // A put is safe to try on the next member if the first one cannot be reached at all.
    for (const m of this.pool.members) {
      try {
        const r = await m.client.kv.put({ key: Buffer.from(key), value: Buffer.from(value) }, this.pool.deadline());
        return String(r.header.revision);
      } catch (e) {
        last = e;
        const err = toEtcdError(e, `put ${key}`);
        if (err.kind !== 'unreachable') throw err;
      }
    }
    throw toEtcdError(last, `put ${key}`);
  }

  async get(key: string, opts: { serializable?: boolean; endpointUrl?: string } = {}): Promise<string | null> {
    this.pool.check();
    const req = { key: Buffer.from(key), serializable: !!opts.serializable };
    const read = async (m: Member) => {
      const r = await m.client.kv.range(req, this.pool.deadline());
      return r.kvs.length ? Buffer.from(r.kvs[0].value).toString('utf8') : null;
    };
    if (opts.endpointUrl) {
      const m = this.pool.member(opts.endpointUrl);
      try {
        return await read(m);
      } catch (e) {
        throw toEtcdError(e, `get ${key} from ${m.ep.url}`);
      }
    }
    return (await this.pool.any(`get ${key}`, read)).value;
  }

  dispose(): Promise<void> {
    return this.pool.dispose();
  }
}
