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
