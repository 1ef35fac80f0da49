// etcd and gRPC failures as operator-facing EtcdErrors (what went wrong and what to check). Plain Node.
import { EtcdError } from './types';

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
