// One etcd3 client per member, each over its own local forward (127.0.0.1:0 → dial(member:2379)),
// mutual TLS with the etcdctl client certificate, the server name overridden to the member's FQDN.
// The client's own retries and circuit breaker are off (cockatiel `noop`): an unreachable member is
// a value ({ok:false}) after its deadline, and membership changes are sent exactly once.
// Member ids are lower-case hex strings, as etcdctl prints them. Plain Node, no `vscode`.
import { Readable, Transform } from 'stream';
import { Etcd3 } from 'etcd3';
import type { Dialer } from '../bosh/types';
import type { PortForward } from '../ssh/types';
import { listenForward } from '../ssh/forward';
import { CancelledError } from '../util/cancel';
import { pause } from '../util/async';
import { decToHex, hexToDec, normalizeHexId } from './ids';
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

// cockatiel v3: `Policy.noop` is undefined (etcd3 would then fall back to retry×3 + breaker); the
// exported `noop` policy is the one that does nothing.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { noop } = require('cockatiel') as { noop: unknown };

export interface ClusterEndpointConfig extends EtcdEndpoint {
  /** Address the dialer connects to for this member's client port, e.g. the instance IP. */
  connectHost: string;
  connectPort: number;
}

export interface OpenEtcdClusterOptions {
  endpoints: ClusterEndpointConfig[];
  dial: Dialer;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** Deadline of each unary call (default 5000 ms). */
  callTimeoutMs?: number;
  /** Deadline of membership changes (default 10 000 ms). */
  membershipTimeoutMs?: number;
  /**
   * Send membership changes to this endpoint (url or name) instead of the first member that
   * answers a member list (e.g. a healthy member other than the one being replaced).
   */
  membershipEndpoint?: string;
  log?: (line: string) => void;
}

/** uint64 as etcd3 returns it (decimal string, `longs: String`) → etcdctl's hex. */
function hex(dec: string | number): string {
  return decToHex(String(dec));
}

/** etcdctl hex → decimal string (what the protobuf layer takes for uint64 without precision loss). */
function dec(idHex: string): string {
  try {
    return hexToDec(idHex);
  } catch {
    throw new EtcdError('config', `'${idHex}' is not an etcd member id (1–16 hex digits, as etcdctl prints them).`);
  }
}

function fqdnOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    throw new EtcdError('config', `Endpoint URL '${url}' is not a URL like https://master-0.etcd.cfcr.internal:2379.`);
  }
}

/** Maps a gRPC/etcd failure to an EtcdError with an operator-facing message. */
export function toEtcdError(e: unknown, what: string): EtcdError {
  if (e instanceof EtcdError) return e;
  const msg = (e as Error)?.message ?? String(e);
  if (/member not found/i.test(msg))
    return new EtcdError('not-found', `${what}: the member does not exist (etcd: ${msg}).`);
  // etcd 3.4 derives a new member's id from its peer URLs and the second it was added: a repeated
  // add within the same second reports the id, a later one the peer URLs. Both: already there.
  if (/Peer URLs already exists|peerURL exists|member ID already exist/i.test(msg))
    return new EtcdError(
      'exists',
      `${what}: a member with these peer URLs already exists (etcd: ${msg}). List the members: it may have been added already.`,
    );
  // etcd's strict reconfiguration check refuses a membership change with gRPC code UNAVAILABLE: an
  // explicit refusal (nothing applied), not a member out of reach.
  if (/unhealthy cluster|not enough started members/i.test(msg))
    return new EtcdError('unhealthy', `${what}: etcd refused it because of the cluster's state (${msg}).`);
  // With authentication on (TKGI's etcd job enables it), HashKV, Snapshot, Defragment and membership
  // changes belong to the root role; a certificate whose CN is no etcd user is refused outright.
  if (/permission denied|auth: user not found|user name not found|invalid auth token/i.test(msg))
    return new EtcdError(
      'permission',
      `${what}: etcd refused it: permission denied for the client certificate's user (etcd: ${msg}). ` +
        'etcd authentication is on: this needs the root client certificate (etcdctl-root.crt in /var/vcap/jobs/etcd/config on a master).',
    );
  if (/DEADLINE_EXCEEDED|deadline exceeded|timed? ?out/i.test(msg))
    return new EtcdError(
      'timeout',
      `${what}: no answer before the deadline (${msg}). The member may be overloaded or unreachable.`,
    );
  if (/certificate|SSL|TLS|handshake|alert/i.test(msg) && !/UNAVAILABLE: No connection established/i.test(msg)) {
    return new EtcdError(
      'tls',
      `${what}: TLS failed (${msg}). Check the etcdctl client certificates read from the master and the server name.`,
    );
  }
  if (/UNAVAILABLE|ECONNREFUSED|ECONNRESET|No connection established|Channel open failure|connect/i.test(msg)) {
    return new EtcdError(
      'unreachable',
      `${what}: cannot reach the member (${msg}). Is etcd running on it (monit summary)?`,
    );
  }
  if (
    /unhealthy cluster|not enough started members|in sync with leader|too many learner|leader changed|no leader/i.test(
      msg,
    )
  ) {
    return new EtcdError('unhealthy', `${what}: etcd refused it because of the cluster's state (${msg}).`);
  }
  return new EtcdError('rpc', `${what}: ${msg}`);
}

/** AlarmType enum values of etcd's rpc.proto (requests are sent as numbers). */
function alarmTypeNumber(name: string): number {
  const n = ({ NONE: 0, NOSPACE: 1, CORRUPT: 2 } as Record<string, number>)[name.toUpperCase()];
  if (n === undefined) throw new EtcdError('config', `Unknown etcd alarm '${name}' (expected NOSPACE or CORRUPT).`);
  return n;
}

interface Member {
  ep: ClusterEndpointConfig;
  client: Etcd3;
  forward: PortForward;
}

interface RawMember {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner?: boolean;
}

function toMember(m: RawMember): EtcdMember {
  return {
    id: hex(m.ID),
    name: m.name ?? '',
    peerURLs: m.peerURLs ?? [],
    clientURLs: m.clientURLs ?? [],
    isLearner: !!m.isLearner,
  };
}

function samePeerUrls(a: string[], b: string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export async function openEtcdCluster(opts: OpenEtcdClusterOptions): Promise<EtcdCluster> {
  if (!opts.endpoints.length)
    throw new EtcdError('config', 'No etcd endpoints: the deployment has no master instances.');
  const log = opts.log ?? (() => undefined);
  const members: Member[] = [];
  try {
    for (const ep of opts.endpoints) {
      const fqdn = fqdnOf(ep.url);
      const forward = await listenForward(opts.dial, ep.connectHost, ep.connectPort, (l) =>
        log(`etcd ${ep.url}: ${l}`),
      );
      const client = new Etcd3({
        hosts: `https://127.0.0.1:${forward.localPort}`,
        credentials: { rootCertificate: opts.ca, certChain: opts.cert, privateKey: opts.key },
        grpcOptions: {
          'grpc.ssl_target_name_override': fqdn,
          'grpc.default_authority': fqdn,
          // Reconnect quickly after a member comes back (default backoff grows to 120 s).
          'grpc.initial_reconnect_backoff_ms': 200,
          'grpc.max_reconnect_backoff_ms': 2000,
        },
        faultHandling: { global: noop as never, host: () => noop as never },
        dialTimeout: opts.callTimeoutMs ?? 5000,
      });
      members.push({ ep, client, forward });
    }
  } catch (e) {
    for (const m of members) {
      m.client.close();
      await m.forward.close();
    }
    throw e;
  }
  const cluster = new Cluster(members, opts.callTimeoutMs ?? 5000, opts.membershipTimeoutMs ?? 10_000, log);
  if (opts.membershipEndpoint) cluster.membershipEndpoint = opts.membershipEndpoint;
  return cluster;
}

class Cluster implements EtcdCluster {
  readonly endpoints: EtcdEndpoint[];
  /** See OpenEtcdClusterOptions.membershipEndpoint. */
  membershipEndpoint: string | undefined;
  private disposed = false;

  constructor(
    private readonly members: Member[],
    private readonly callTimeoutMs: number,
    private readonly membershipTimeoutMs: number,
    private readonly log: (line: string) => void,
  ) {
    this.endpoints = members.map((m) => ({ name: m.ep.name, url: m.ep.url }));
  }

  private deadline(ms = this.callTimeoutMs) {
    return { deadline: Date.now() + ms };
  }

  private member(endpointUrl: string): Member {
    const m = this.members.find((x) => x.ep.url === endpointUrl || x.ep.name === endpointUrl);
    if (!m)
      throw new EtcdError(
        'config',
        `No endpoint ${endpointUrl} in this cluster (have: ${this.members.map((x) => x.ep.url).join(', ')}).`,
      );
    return m;
  }

  private check() {
    if (this.disposed) throw new EtcdError('config', 'This etcd connection was closed; open the deployment again.');
  }

  /** Runs fn on every member in parallel; each failure becomes {ok:false} with its message. */
  private async each<T>(what: string, fn: (m: Member) => Promise<T>): Promise<EndpointResult<T>[]> {
    this.check();
    return Promise.all(
      this.members.map(async (m) => {
        const t0 = Date.now();
        try {
          const value = await fn(m);
          return { endpoint: m.ep.url, ok: true as const, value, tookMs: Date.now() - t0 };
        } catch (e) {
          return {
            endpoint: m.ep.url,
            ok: false as const,
            error: toEtcdError(e, `${what} of ${m.ep.url}`).message,
            tookMs: Date.now() - t0,
          };
        }
      }),
    );
  }

  /** First member to answer (in parallel); throws the last error when none does. */
  private async any<T>(what: string, fn: (m: Member) => Promise<T>): Promise<{ value: T; member: Member }> {
    this.check();
    try {
      return await Promise.any(this.members.map(async (m) => ({ value: await fn(m), member: m })));
    } catch (e) {
      const errs = (e as AggregateError).errors ?? [e];
      const first = errs.map((x: unknown) => toEtcdError(x, what));
      const kind = first.every((x: EtcdError) => x.kind === 'timeout' || x.kind === 'unreachable')
        ? 'unreachable'
        : first[0].kind;
      throw new EtcdError(
        kind,
        `${what}: no etcd member answered. ${first.map((x: EtcdError, i: number) => `${this.members[i].ep.url}: ${x.message}`).join(' | ')}`,
      );
    }
  }

  async clusterId(): Promise<string> {
    const { value } = await this.any('cluster id', (m) => m.client.maintenance.status(this.deadline()));
    return hex(value.header.cluster_id);
  }

  status(): Promise<EndpointResult<EndpointStatus>[]> {
    return this.each('status', async (m) => {
      const s = await m.client.maintenance.status(this.deadline());
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
  health(): Promise<EndpointResult<EndpointHealth>[]> {
    return this.each('health', async (m) => {
      const t0 = Date.now();
      try {
        await m.client.kv.range({ key: Buffer.from('health') }, this.deadline());
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
      const alarms = await m.client.maintenance.alarm(
        { action: 0 /* GET */, memberID: 0, alarm: 0 /* NONE */ },
        this.deadline(),
      );
      if (alarms.alarms?.length) {
        const list = alarms.alarms.map((a) => `${String(a.alarm)} on ${hex(a.memberID)}`).join(', ');
        return { endpoint: m.ep.url, healthy: false, tookMs, error: `Active alarm(s): ${list}` };
      }
      return { endpoint: m.ep.url, healthy: true, tookMs };
    });
  }

  async memberList(opts: { endpointUrl?: string } = {}): Promise<EtcdMember[]> {
    if (opts.endpointUrl) {
      const one = this.member(opts.endpointUrl);
      try {
        const r = await one.client.cluster.memberList({ linearizable: false } as never, this.deadline());
        return (r.members as unknown as RawMember[]).map(toMember);
      } catch (e) {
        throw toEtcdError(e, `member list from ${one.ep.url}`);
      }
    }
    const { value } = await this.any('member list', (m) =>
      m.client.cluster.memberList({ linearizable: false } as never, this.deadline()),
    );
    return (value.members as unknown as RawMember[]).map(toMember);
  }

  /** The member to send a membership change to: the first that answers a (cheap) member list. */
  private async pickForChange(what: string): Promise<Member> {
    if (this.membershipEndpoint) return this.member(this.membershipEndpoint);
    return (await this.any(what, (m) => m.client.cluster.memberList({} as never, this.deadline()))).member;
  }

  /**
   * A membership call failed with a timeout or an unreachable member: it may have been applied all
   * the same, and it is never sent again. Lists the members until `applied` finds the change or the
   * membership deadline passes: the change may still be committing, and a follower's
   * non-linearizable list can lag the leader, so one look right away is not enough to say "not applied".
   */
  private async appliedDespite<T>(
    err: EtcdError,
    what: string,
    applied: (members: EtcdMember[]) => T | undefined,
  ): Promise<T | undefined> {
    if (err.kind !== 'timeout' && err.kind !== 'unreachable') return undefined;
    const end = Date.now() + this.membershipTimeoutMs;
    for (;;) {
      const members = await this.memberList().catch(() => undefined);
      const found = members ? applied(members) : undefined;
      if (found !== undefined) {
        this.log(`etcd: ${what} failed (${err.kind}) but the member list shows it applied: treating as done`);
        return found;
      }
      if (Date.now() >= end) return undefined;
      await pause(250);
    }
  }

  async memberAdd(
    peerURLs: string[],
    opts: { learner?: boolean } = {},
  ): Promise<{ member: EtcdMember; members: EtcdMember[] }> {
    const what = `member add ${peerURLs.join(',')}`;
    for (const u of peerURLs) {
      if (!/^https?:\/\/[A-Za-z0-9.-]+:\d{1,5}$/.test(u))
        throw new EtcdError(
          'config',
          `${what}: '${u}' is not a peer URL like https://master-1.etcd.cfcr.internal:2380.`,
        );
    }
    const m = await this.pickForChange(what);
    try {
      const r = await m.client.cluster.memberAdd(
        { peerURLs, isLearner: !!opts.learner },
        this.deadline(this.membershipTimeoutMs),
      );
      return {
        member: toMember(r.member as unknown as RawMember),
        members: (r.members as unknown as RawMember[]).map(toMember),
      };
    } catch (e) {
      const err = toEtcdError(e, what);
      const done = await this.appliedDespite(err, what, (members) => {
        const member = members.find((x) => samePeerUrls(x.peerURLs, peerURLs));
        return member ? { member, members } : undefined;
      });
      if (done) return done;
      throw err;
    }
  }

  async memberRemove(idHex: string): Promise<void> {
    const what = `member remove ${idHex}`;
    const id = dec(idHex);
    const m = await this.pickForChange(what);
    try {
      await m.client.cluster.memberRemove({ ID: id }, this.deadline(this.membershipTimeoutMs));
    } catch (e) {
      const err = toEtcdError(e, what);
      const gone = await this.appliedDespite(err, what, (members) =>
        members.some((x) => x.id === normalizeHexId(idHex)) ? undefined : true,
      );
      if (gone) return;
      throw err;
    }
  }

  /**
   * The leader, where one is known: with authentication on, a follower forwards `member promote` to
   * the leader over the peer port without the caller's user, and etcd (3.5.16 included) refuses it
   * there ("auth: user name is empty"; the client sees a timeout). Sent to the leader, it works.
   */
  private async pickLeader(what: string): Promise<Member> {
    if (this.membershipEndpoint) return this.member(this.membershipEndpoint);
    const statuses = await this.status();
    const leader = statuses.find((r) => r.ok && r.value.memberId === r.value.leader);
    return leader ? this.member(leader.endpoint) : this.pickForChange(what);
  }

  async memberPromote(idHex: string): Promise<void> {
    const what = `member promote ${idHex}`;
    const id = dec(idHex);
    const m = await this.pickLeader(what);
    try {
      await m.client.cluster.memberPromote({ ID: id }, this.deadline(this.membershipTimeoutMs));
    } catch (e) {
      const err = toEtcdError(e, what);
      const promoted = await this.appliedDespite(err, what, (members) =>
        members.some((x) => x.id === normalizeHexId(idHex) && !x.isLearner) ? true : undefined,
      );
      if (promoted) return;
      throw err;
    }
  }

  async alarms(): Promise<EtcdAlarm[]> {
    const { value } = await this.any('alarm list', (m) =>
      m.client.maintenance.alarm({ action: 0 /* GET */, memberID: 0, alarm: 0 /* NONE */ }, this.deadline()),
    );
    return (value.alarms ?? []).map((a) => ({ memberId: hex(a.memberID), alarm: String(a.alarm) }));
  }

  async alarmDisarm(alarm: EtcdAlarm): Promise<void> {
    await this.any('alarm disarm', (m) =>
      m.client.maintenance.alarm(
        {
          action: 2 /* DEACTIVATE */,
          memberID: dec(alarm.memberId),
          alarm: alarmTypeNumber(alarm.alarm),
        },
        this.deadline(),
      ),
    );
  }

  async hashKV(endpointUrl: string, revision?: string): Promise<HashKV> {
    this.check();
    const m = this.member(endpointUrl);
    try {
      // etcd3 1.1.2 calls the grpc method 'hashKV', but proto-loader names it 'hashKv' (lodash camelCase of
      // 'HashKV'): `client[method] is not a function`. Call it by its real name through the same pool.
      const pool = (
        m.client.maintenance as unknown as {
          client: { exec(s: string, meth: string, req: unknown, o: unknown): Promise<unknown> };
        }
      ).client;
      const r = (await pool.exec(
        'Maintenance',
        'hashKv',
        { revision: revision ?? 0 },
        this.deadline(Math.max(this.callTimeoutMs, 30_000)),
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

  async snapshot(endpointUrl: string, opts: { signal?: AbortSignal } = {}): Promise<NodeJS.ReadableStream> {
    this.check();
    const m = this.member(endpointUrl);
    let call: Readable & { cancel(): void };
    try {
      call = (await m.client.maintenance.snapshot()) as unknown as Readable & { cancel(): void };
    } catch (e) {
      throw toEtcdError(e, `snapshot of ${m.ep.url}`);
    }
    // pipe() pauses the gRPC stream while the consumer is behind: never more than a few chunks in memory.
    const out = new Transform({
      writableObjectMode: true,
      transform(d: { blob?: Uint8Array }, _enc, done) {
        if (!d.blob?.length) return done();
        done(null, Buffer.isBuffer(d.blob) ? d.blob : Buffer.from(d.blob));
      },
    });
    call.on('error', (e) => out.destroy(toEtcdError(e, `snapshot of ${m.ep.url}`)));
    out.on('close', () => {
      if (!out.writableFinished) call.cancel();
    });
    const onAbort = () => out.destroy(new CancelledError('Snapshot cancelled'));
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    out.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
    call.pipe(out);
    return out;
  }

  async put(key: string, value: string): Promise<string> {
    this.check();
    let last: unknown;
    // A put is safe to try on the next member if the first one cannot be reached at all.
    for (const m of this.members) {
      try {
        const r = await m.client.kv.put({ key: Buffer.from(key), value: Buffer.from(value) }, this.deadline());
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
    this.check();
    const req = { key: Buffer.from(key), serializable: !!opts.serializable };
    const read = async (m: Member) => {
      const r = await m.client.kv.range(req, this.deadline());
      return r.kvs.length ? Buffer.from(r.kvs[0].value).toString('utf8') : null;
    };
    if (opts.endpointUrl) {
      const m = this.member(opts.endpointUrl);
      try {
        return await read(m);
      } catch (e) {
        throw toEtcdError(e, `get ${key} from ${m.ep.url}`);
      }
    }
    return (await this.any(`get ${key}`, read)).value;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const m of this.members) {
      try {
        m.client.close();
      } catch {
        /* already closed */
      }
    }
    await Promise.all(this.members.map((m) => m.forward.close()));
  }
}
