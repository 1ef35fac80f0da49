// etcd PKI (like the BOSH etcd job's: wildcard *.etcd.cfcr.internal server/peer certs, no IP SANs,
// etcdctl and root client certs) and SSH keys, generated fresh for every testbed with openssl and
// ssh-keygen. RSA keys, as TKGI's certificates are: the job's cipher list (ECDHE-RSA only) needs an
// RSA server certificate.
import * as fs from 'fs';
import * as path from 'path';
import { run } from './sh';
import { ETCD_DOMAIN } from './layout';

const RSA = ['-newkey', 'rsa:2048', '-nodes'];

export async function makeEtcdPki(dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f: string) => path.join(dir, f);
  await run('openssl', [
    'req',
    '-x509',
    ...RSA,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '30',
    '-subj',
    '/CN=etcd-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const leaf = (name: string, cn: string, ext: string[]) =>
    run('openssl', [
      'req',
      '-x509',
      ...RSA,
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.crt`),
      '-days',
      '30',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      ...ext.flatMap((e) => ['-addext', e]),
    ]);
  const wildcard = `*.${ETCD_DOMAIN}`;
  await Promise.all([
    leaf('server', wildcard, [`subjectAltName=DNS:${wildcard}`, 'extendedKeyUsage=serverAuth,clientAuth']),
    leaf('peer', wildcard, [`subjectAltName=DNS:${wildcard}`, 'extendedKeyUsage=serverAuth,clientAuth']),
    // etcdctl.crt authenticates as TKGI's etcdClient user (keys only); etcdctl-root.crt as root
    leaf('etcdctl', 'etcdClient', ['extendedKeyUsage=clientAuth']),
    leaf('etcdctl-root', 'root', ['extendedKeyUsage=clientAuth']),
  ]);
  fs.rmSync(p('ca.key'));
  // the CA under the name the state file advertises
  fs.copyFileSync(p('ca.crt'), p('etcd-ca.crt'));
}

/** The job's config/ files, mapped to the PKI files that fill them. */
export const ETCD_CONFIG_FILES: Record<string, string> = {
  'etcd-ca.crt': 'ca.crt',
  'etcd.crt': 'server.crt',
  'etcd.key': 'server.key',
  'peer-ca.crt': 'ca.crt',
  'peer.crt': 'peer.crt',
  'peer.key': 'peer.key',
  'etcdctl-ca.crt': 'ca.crt',
  'etcdctl.crt': 'etcdctl.crt',
  'etcdctl.key': 'etcdctl.key',
  'etcdctl-root.crt': 'etcdctl-root.crt',
  'etcdctl-root.key': 'etcdctl-root.key',
};

/**
 * RSA keys are 1024-bit by default: the VMs' RSA host keys exist because the Director hands out
 * /etc/ssh/ssh_host_rsa_key.pub like the real agent, and generating seven 2048-bit keys costs
 * seconds of CPU on a 2-core machine at every `up` (OpenSSH's and ssh2's minimum is 1024).
 */
export async function sshKey(file: string, type: 'ed25519' | 'rsa', comment: string, rsaBits = 1024): Promise<string> {
  await run('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(type === 'rsa' ? ['-b', String(rsaBits)] : []),
    '-N',
    '',
    '-C',
    comment,
    '-f',
    file,
  ]);
  return fs.readFileSync(file + '.pub', 'utf8').trim();
}
