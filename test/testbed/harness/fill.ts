// --fill-mb: writes N MB of keys into the testbed's etcd from the host (etcd3 client, mutual TLS
// with the etcdctl client certificate, server name master-<n>.etcd.cfcr.internal).
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Etcd3 } from 'etcd3';
import { masters, TestbedState } from './state';

export const FILL_PREFIX = '/testbed/fill/';

export async function fillEtcd(
  state: TestbedState,
  mb: number,
  valueBytes = 16 * 1024,
  prefix = FILL_PREFIX,
): Promise<{ keys: number; ms: number }> {
  const m = masters(state)[0];
  const cfg = path.join(m.dir, 'vcap/jobs/etcd/config');
  const client = new Etcd3({
    hosts: `https://${m.ip}:2379`,
    credentials: {
      rootCertificate: fs.readFileSync(path.join(cfg, 'etcdctl-ca.crt')),
      certChain: fs.readFileSync(path.join(cfg, 'etcdctl.crt')),
      privateKey: fs.readFileSync(path.join(cfg, 'etcdctl.key')),
    },
    grpcOptions: { 'grpc.ssl_target_name_override': m.etcdFqdn!, 'grpc.default_authority': m.etcdFqdn! },
  });
  const t0 = Date.now();
  const total = Math.ceil((mb * 1024 * 1024) / valueBytes);
  let next = 0;
  try {
    const worker = async () => {
      while (next < total) {
        const i = next++;
        await client.put(`${prefix}${String(i).padStart(8, '0')}`).value(crypto.randomBytes(valueBytes));
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  } finally {
    client.close();
  }
  return { keys: total, ms: Date.now() - t0 };
}

/** Keys the churn filler writes (overwritten and deleted): never the data of other tests. */
export const CHURN_PREFIX = '/testbed/churn/';

function clientFor(state: TestbedState): Etcd3 {
  const m = masters(state)[0];
  const cfg = path.join(m.dir, 'vcap/jobs/etcd/config');
  return new Etcd3({
    hosts: `https://${m.ip}:2379`,
    credentials: {
      rootCertificate: fs.readFileSync(path.join(cfg, 'etcdctl-ca.crt')),
      certChain: fs.readFileSync(path.join(cfg, 'etcdctl.crt')),
      privateKey: fs.readFileSync(path.join(cfg, 'etcdctl.key')),
    },
    grpcOptions: { 'grpc.ssl_target_name_override': m.etcdFqdn!, 'grpc.default_authority': m.etcdFqdn! },
  });
}

export interface ChurnOptions {
  /** Megabytes of values written in total (default 8). */
  mb?: number;
  /** Value size (default 64 KiB: few keys, fast). */
  valueBytes?: number;
  /** Distinct keys the writes cycle through: each is overwritten again and again (default 16). */
  keys?: number;
  /** Delete the keys at the end (default true). */
  deleteAfter?: boolean;
  /** Compact to the last revision at the end, as Kubernetes' API server does every 5 minutes: the space of the old revisions becomes free pages, i.e. fragmentation (default true). */
  compact?: boolean;
  /** Keep writing until etcd answers "database space exceeded" (the NOSPACE alarm), at most `mb`. */
  untilNospace?: boolean;
}

export interface ChurnResult {
  writes: number;
  bytes: number;
  ms: number;
  /** etcd refused a write with "database space exceeded". */
  nospace: boolean;
}

/**
 * Creates, overwrites and deletes keys under CHURN_PREFIX so that the database grows with old
 * revisions: after the compaction most of the file is free pages (fragmentation); with a small
 * quota (`up({ quotaMb })`) and `untilNospace` it reaches NOSPACE in seconds.
 */
export async function churnEtcd(state: TestbedState, opts: ChurnOptions = {}): Promise<ChurnResult> {
  const valueBytes = opts.valueBytes ?? 64 * 1024;
  const keys = opts.keys ?? 16;
  const total = Math.ceil(((opts.mb ?? 8) * 1024 * 1024) / valueBytes);
  const client = clientFor(state);
  const t0 = Date.now();
  let next = 0;
  let nospace = false;
  let retries = 0;
  let lastRevision = '0';
  const value = crypto.randomBytes(valueBytes);
  try {
    const worker = async () => {
      while (next < total && !nospace) {
        const i = next++;
        try {
          const r = await client
            .put(`${CHURN_PREFIX}${String(i % keys).padStart(4, '0')}`)
            .value(value)
            .exec();
          if (BigInt(r.header.revision) > BigInt(lastRevision)) lastRevision = String(r.header.revision);
        } catch (e) {
          if (/database space exceeded/i.test((e as Error).message)) {
            nospace = true;
            return;
          }
          // a channel that gRPC is still (re)connecting: try the same write again, a few times
          if (/UNAVAILABLE/.test((e as Error).message) && retries++ < 10) {
            next = Math.min(next, i);
            await new Promise((r) => setTimeout(r, 200));
            continue;
          }
          throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    if (opts.untilNospace && !nospace)
      throw new Error(`wrote ${total} values (${opts.mb ?? 8} MB) without reaching NOSPACE: raise mb or lower quotaMb`);
    if (!nospace) {
      if (opts.deleteAfter ?? true) await client.delete().prefix(CHURN_PREFIX).exec();
      if ((opts.compact ?? true) && lastRevision !== '0') {
        await client.kv.compact({ revision: lastRevision, physical: true });
        // bbolt counts the freed pages as free (etcd's dbSizeInUse) only after later write
        // transactions commit: a few small writes, more than etcd's 100 ms batch interval apart.
        for (let i = 0; i < 3; i++) {
          await client.put(`${CHURN_PREFIX}tick`).value(String(i));
          await new Promise((r) => setTimeout(r, 150));
        }
        await client.delete().key(`${CHURN_PREFIX}tick`);
      }
    }
  } finally {
    client.close();
  }
  return { writes: Math.min(next, total), bytes: Math.min(next, total) * valueBytes, ms: Date.now() - t0, nospace };
}
