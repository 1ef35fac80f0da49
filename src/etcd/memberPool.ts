// The connections of one cluster: one etcd3 client per member, each over its own local forward
// (127.0.0.1:0 → dial(member:2379)), mutual TLS with the etcdctl client certificate, the server name
// overridden to the member's FQDN. The client's own retries and circuit breaker are off (cockatiel
// `noop`): an unreachable member is a value ({ok:false}) after its deadline. Also the conversions
// between etcd3's wire values and etcdctl's (hex member ids). Plain Node, no `vscode`.
import { Etcd3 } from 'etcd3';
import type { Dialer } from '../bosh/types';
import type { PortForward } from '../ssh/types';
import { listenForward } from '../ssh/forward';
import { decToHex, hexToDec } from './ids';
import { toEtcdError } from './errors';
import { EndpointResult, EtcdEndpoint, EtcdError, EtcdMember } from './types';

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
export function hex(dec: string | number): string {
  return decToHex(String(dec));
}

/** etcdctl hex → decimal string (what the protobuf layer takes for uint64 without precision loss). */
export function dec(idHex: string): string {
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

export interface Member {
  ep: ClusterEndpointConfig;
  client: Etcd3;
  forward: PortForward;
}

/** A member as etcd3 returns it (ids as decimal strings). */
export interface RawMember {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner?: boolean;
}

export function toMember(m: RawMember): EtcdMember {
  return {
    id: hex(m.ID),
    name: m.name ?? '',
    peerURLs: m.peerURLs ?? [],
    clientURLs: m.clientURLs ?? [],
    isLearner: !!m.isLearner,
  };
}

/** The open clients of one cluster and the two ways of asking them: every member, or the first to answer. */
export class MemberPool {
  private disposed = false;

  constructor(
    readonly members: Member[],
    readonly callTimeoutMs: number,
    readonly membershipTimeoutMs: number,
    /** See OpenEtcdClusterOptions.membershipEndpoint. */
    readonly membershipEndpoint: string | undefined,
    readonly log: (line: string) => void,
  ) {}

  deadline(ms = this.callTimeoutMs) {
    return { deadline: Date.now() + ms };
  }

  member(endpointUrl: string): Member {
    const m = this.members.find((x) => x.ep.url === endpointUrl || x.ep.name === endpointUrl);
    if (!m)
      throw new EtcdError(
        'config',
        `No endpoint ${endpointUrl} in this cluster (have: ${this.members.map((x) => x.ep.url).join(', ')}).`,
      );
    return m;
  }

  check() {
    if (this.disposed) throw new EtcdError('config', 'This etcd connection was closed; open the deployment again.');
  }

  /** Runs fn on every member in parallel; each failure becomes {ok:false} with its message. */
  async each<T>(what: string, fn: (m: Member) => Promise<T>): Promise<EndpointResult<T>[]> {
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
  async any<T>(what: string, fn: (m: Member) => Promise<T>): Promise<{ value: T; member: Member }> {
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

/** Opens a forward and a client for every endpoint; closes what it opened when one fails. */
export async function openMemberPool(opts: OpenEtcdClusterOptions): Promise<MemberPool> {
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
          // Reconnect quickly after a member comes back (default backoff grows to 120 s; at 2 s the
          // recovery's wait for a re-added member lost up to 2 s after it listened). An attempt is one
          // refused channel over the open SSH connection.
          'grpc.initial_reconnect_backoff_ms': 200,
          'grpc.max_reconnect_backoff_ms': 500,
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
  return new MemberPool(
    members,
    opts.callTimeoutMs ?? 5000,
    opts.membershipTimeoutMs ?? 10_000,
    opts.membershipEndpoint,
    log,
  );
}
