// Read-only calls of a cluster: cluster id, endpoint status and health, member list, alarms, and
// hashKV. Each turns etcd3's wire values into etcdctl's (hex ids). Plain Node, no `vscode`.
import { toEtcdError } from './errors';
import { hex, MemberPool, RawMember, toMember } from './memberPool';
import type { EndpointHealth, EndpointResult, EndpointStatus, EtcdAlarm, EtcdMember, HashKV } from './types';

export async function clusterId(pool: MemberPool): Promise<string> {
  const { value } = await pool.any('cluster id', (m) => m.client.maintenance.status(pool.deadline()));
  return hex(value.header.cluster_id);
}

export function status(pool: MemberPool): Promise<EndpointResult<EndpointStatus>[]> {
  return pool.each('status', async (m) => {
    const s = await m.client.maintenance.status(pool.deadline());
    const st: EndpointStatus = {
      endpoint: m.ep.url,
      memberId: hex(s.header.member_id),
      version: s.version,
      dbSize: Number(s.dbSize),
      dbSizeInUse: s.dbSizeInUse !== undefined ? Number(s.dbSizeInUse) : undefined,
      leader: hex(s.leader),
      isLearner: s.isLearner,
      raftTerm: String(s.raftTerm),
      raftIndex: String(s.raftIndex),
      raftAppliedIndex: s.raftAppliedIndex !== undefined ? String(s.raftAppliedIndex) : undefined,
      errors: s.errors ?? [],
      clusterId: s.header?.cluster_id !== undefined ? hex(s.header.cluster_id) : undefined,
      revision: s.header?.revision !== undefined ? String(s.header.revision) : undefined,
    };
    return st;
  });
}

/** Like `etcdctl endpoint health`: a linearizable read through the raft quorum, then the alarm list. */
export function health(
  pool: MemberPool,
  opts: { withAlarms?: boolean } = {},
): Promise<EndpointResult<EndpointHealth>[]> {
  return pool.each('health', async (m) => {
    const t0 = Date.now();
    try {
      await m.client.kv.range({ key: Buffer.from('health') }, pool.deadline());
    } catch (e) {
      if (!/permission denied/i.test((e as Error).message)) {
        return {
          endpoint: m.ep.url,
          healthy: false,
          tookMs: Date.now() - t0,
          error: toEtcdError(e, `health of ${m.ep.url}`).message,
        };
      }
    }
    const tookMs = Date.now() - t0;
    if (opts.withAlarms === false) return { endpoint: m.ep.url, healthy: true, tookMs };
    const alarms = await m.client.maintenance.alarm(
      { action: 0 /* GET */, memberID: 0, alarm: 0 /* NONE */ },
      pool.deadline(),
    );
    if (alarms.alarms?.length) {
      const list = alarms.alarms.map((a) => `${String(a.alarm)} on ${hex(a.memberID)}`).join(', ');
      return { endpoint: m.ep.url, healthy: false, tookMs, error: `Active alarm(s): ${list}` };
    }
    return { endpoint: m.ep.url, healthy: true, tookMs };
  });
}

export async function memberList(pool: MemberPool, opts: { endpointUrl?: string } = {}): Promise<EtcdMember[]> {
  if (opts.endpointUrl) {
    const one = pool.member(opts.endpointUrl);
    try {
      const r = await one.client.cluster.memberList({ linearizable: false } as never, pool.deadline());
      return (r.members as unknown as RawMember[]).map(toMember);
    } catch (e) {
      throw toEtcdError(e, `member list from ${one.ep.url}`);
    }
  }
  const { value } = await pool.any('member list', (m) =>
    m.client.cluster.memberList({ linearizable: false } as never, pool.deadline()),
  );
  return (value.members as unknown as RawMember[]).map(toMember);
}

/**
 * The alarms as a member's status lists them in its errors (etcd's maintenance Status appends each
 * active alarm, "memberID:<decimal> alarm:NOSPACE "; and "etcdserver: no leader" when it has none).
 * null when an error is neither: the caller then asks the alarm list itself.
 */
export function alarmsFromStatusErrors(errors: string[]): EtcdAlarm[] | null {
  const out: EtcdAlarm[] = [];
  for (const e of errors) {
    const m = /^\s*memberID:(\d+)\s+alarm:([A-Z]+)\s*$/.exec(e);
    if (m) out.push({ memberId: hex(m[1]), alarm: m[2] });
    else if (!/no leader/i.test(e)) return null;
  }
  return out;
}

export async function alarms(pool: MemberPool): Promise<EtcdAlarm[]> {
  const { value } = await pool.any('alarm list', (m) =>
    m.client.maintenance.alarm({ action: 0 /* GET */, memberID: 0, alarm: 0 /* NONE */ }, pool.deadline()),
  );
  return (value.alarms ?? []).map((a) => ({ memberId: hex(a.memberID), alarm: String(a.alarm) }));
}

export async function hashKV(pool: MemberPool, endpointUrl: string, revision?: string): Promise<HashKV> {
  pool.check();
  const m = pool.member(endpointUrl);
  try {
    // etcd3 1.1.2 calls the grpc method 'hashKV', but proto-loader names it 'hashKv' (lodash camelCase of
    // 'HashKV'): `client[method] is not a function`. Call it by its real name through the same pool.
    const grpcPool = (
      m.client.maintenance as unknown as {
        client: { exec(s: string, meth: string, req: unknown, o: unknown): Promise<unknown> };
      }
    ).client;
    const r = (await grpcPool.exec(
      'Maintenance',
      'hashKv',
      { revision: revision ?? 0 },
      pool.deadline(Math.max(pool.callTimeoutMs, 30_000)),
    )) as Awaited<ReturnType<typeof m.client.maintenance.hashKV>>;
    return {
      memberId: hex(r.header.member_id),
      revision: String(r.header.revision),
      compactRevision: String(
        r.compact_revision ?? (r as unknown as { compactRevision?: string }).compactRevision ?? '0',
      ),
      hash: Number(r.hash),
    };
  } catch (e) {
    throw toEtcdError(e, `hashKV of ${m.ep.url}`);
  }
}
