// The etcd client certificates of a deployment, read from a master over SSH: the root certificate
// where the etcd job has one, else the legacy one (with a note that it is not root). Plain Node.
import type { InstanceInfo } from '../bosh/types';
import type { RemoteHost } from '../ssh/types';
import { EtcdError } from '../etcd/types';

export const ETCD_CONFIG_DIR = '/var/vcap/jobs/etcd/config';

/**
 * TKGI's etcd job enables etcd authentication and gives the root role to the client certificate
 * `etcdctl-root` (CN root); `etcdctl` (its v2 certificate) is not root, so HashKV, snapshots and
 * membership changes are refused to it. Older CFCR jobs without authentication have only `etcdctl`.
 */
const ROOT_CERT = 'etcdctl-root';
const LEGACY_CERT = 'etcdctl';

export interface ClientCertificates {
  name: typeof ROOT_CERT | typeof LEGACY_CERT;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Between the files of one `sudo cat` (PEM never holds it). */
const SEPARATOR = '-----BOSH-ETCD-NEXT-FILE-----';

/** With sudo: the CA and a pair in one `sudo` round trip; null when the pair does not exist. */
async function readWithSudo(host: RemoteHost, name: string): Promise<Buffer[] | null> {
  const files = ['etcdctl-ca.crt', `${name}.crt`, `${name}.key`].map((f) => `${ETCD_CONFIG_DIR}/${f}`);
  const r = await host.exec(files.map((f) => `cat -- ${f} && printf '\\n%s\\n' '${SEPARATOR}'`).join(' && '), {
    sudo: true,
    timeoutMs: 60_000,
  });
  const parts = r.stdout.split(`\n${SEPARATOR}\n`);
  if (r.code === 0 && parts.length === 4) return parts.slice(0, 3).map((p) => Buffer.from(p, 'utf8'));
  if (/No such file or directory/.test(r.stderr) && !/etcdctl-ca\.crt/.test(r.stderr)) return null;
  throw new EtcdError(
    'config',
    `Cannot read the etcd client certificates (${files.join(', ')}) on ${host.label}: sudo cat exited ${r.code ?? r.signal}: ${r.stderr.trim()}`,
  );
}

/** The root client certificate, or `etcdctl.crt` only where the root one does not exist. */
async function readClientCertificates(host: RemoteHost, sudo: boolean): Promise<ClientCertificates> {
  if (sudo) {
    for (const name of [ROOT_CERT, LEGACY_CERT] as const) {
      const got = await readWithSudo(host, name);
      if (got) return { name, ca: got[0], cert: got[1], key: got[2] };
    }
    throw new EtcdError('config', `No client certificate in ${ETCD_CONFIG_DIR} on ${host.label}.`);
  }
  // root:vcap 0640: a Director-provisioned user needs sudo; the static user (vcap) may not.
  const read = (f: string) => host.readFile(`${ETCD_CONFIG_DIR}/${f}`, { sudo });
  // the CA and the root pair in one round trip
  const caRead = read('etcdctl-ca.crt');
  caRead.catch(() => undefined); // awaited below
  for (const name of [ROOT_CERT, LEGACY_CERT] as const) {
    try {
      const [cert, key] = await Promise.all([read(`${name}.crt`), read(`${name}.key`)]);
      return { name, ca: await caRead, cert, key };
    } catch (e) {
      if (name === ROOT_CERT && /does not exist|No such file or directory/.test((e as Error).message)) continue;
      throw e;
    }
  }
  throw new EtcdError('config', `No client certificate in ${ETCD_CONFIG_DIR} on ${host.label}.`);
}

/**
 * The client certificates from the first master that lets us read them (running ones first), and
 * that master's connection. The operator is told (note) when they are not the root ones.
 */
export async function readMasterCertificates(
  deployment: string,
  masters: InstanceInfo[],
  ctx: {
    ssh: (inst: InstanceInfo) => Promise<RemoteHost>;
    sudo: boolean;
    log: (line: string) => void;
    note?: (text: string) => void;
  },
): Promise<{ certs: ClientCertificates; via: { inst: InstanceInfo; host: RemoteHost } }> {
  const order = [...masters].sort(
    (a, b) => Number(b.processState === 'running') - Number(a.processState === 'running'),
  );
  const failures: string[] = [];
  for (const inst of order) {
    if (!inst.ips.length) {
      failures.push(`${inst.group}/${inst.id}: no VM`);
      continue;
    }
    let host: RemoteHost;
    let certs: ClientCertificates;
    try {
      host = await ctx.ssh(inst);
      certs = await readClientCertificates(host, ctx.sudo);
    } catch (e) {
      failures.push(`${inst.group}/${inst.id}: ${(e as Error).message}`);
      ctx.log(`etcd: cannot read the client certificates from ${inst.group}/${inst.id}: ${(e as Error).message}`);
      continue;
    }
    if (certs.name !== ROOT_CERT) {
      const note =
        `etcd: ${inst.group}/${inst.id} has no ${ROOT_CERT}.crt in ${ETCD_CONFIG_DIR}; using ${certs.name}.crt. ` +
        'Where etcd authentication is on (TKGI enables it), that certificate is not root: hash checks, snapshots and ' +
        'membership changes through it will be refused. Check the etcd job on that master.';
      ctx.log(note);
      ctx.note?.(note);
    }
    return { certs, via: { inst, host } };
  }
  throw new EtcdError(
    'unreachable',
    `Cannot read the etcdctl client certificates (${ETCD_CONFIG_DIR}) from any master of ${deployment}. ${failures.join(' | ')}`,
  );
}
