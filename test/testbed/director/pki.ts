// TLS material for the BOSH Director stand-in: its own CA and an RSA server certificate.
//
// Why RSA: the bosh CLI pins TLS 1.2 suites to ECDHE_RSA (bosh-cli director client), so an ECDSA
// certificate would break it under TLS 1.2. Generated with the system `openssl` (argv, no shell).
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';

export interface DirectorPki {
  caCertPath: string;
  caCert: string;
  /** Server key and certificate (PEM), kept in memory by the server. */
  key: string;
  cert: string;
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

/**
 * Creates `<dir>/pki/{ca.crt,ca.key,director.crt,director.key}` (keys 0600) unless they already
 * exist for the same host, and returns the PEMs. The server certificate carries an IP SAN (or DNS
 * SAN) for `host`, plus `localhost` and 127.0.0.1 so a local client can use either.
 */
export async function ensureDirectorPki(dir: string, host: string): Promise<DirectorPki> {
  const pki = path.join(dir, 'pki');
  fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
  const f = (n: string) => path.join(pki, n);
  const hostMarker = f('host');
  const have = ['ca.crt', 'ca.key', 'director.crt', 'director.key'].every((n) => fs.existsSync(f(n)));
  const sameHost = fs.existsSync(hostMarker) && fs.readFileSync(hostMarker, 'utf8') === host;
  if (!have || !sameHost) {
    const sans = new Set<string>(['DNS:localhost', 'IP:127.0.0.1']);
    sans.add(net.isIP(host) ? `IP:${host}` : `DNS:${host}`);
    fs.writeFileSync(
      f('director.ext'),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        `subjectAltName=${[...sans].join(',')}`,
        '',
      ].join('\n'),
    );
    // The two RSA keys are the slow part (~0.5 s each on this VM): generate them side by side.
    const needCa = !fs.existsSync(f('ca.key')) || !fs.existsSync(f('ca.crt'));
    await Promise.all([
      needCa
        ? (async () => {
            await openssl(['genrsa', '-out', 'ca.key', '2048'], pki);
            fs.chmodSync(f('ca.key'), 0o600);
            await openssl(
              [
                'req',
                '-x509',
                '-new',
                '-key',
                'ca.key',
                '-sha256',
                '-days',
                '365',
                '-subj',
                '/O=bosh-etcd testbed/CN=Director stand-in CA',
                '-addext',
                'basicConstraints=critical,CA:TRUE',
                '-addext',
                'keyUsage=critical,keyCertSign,cRLSign',
                '-out',
                'ca.crt',
              ],
              pki,
            );
          })()
        : Promise.resolve(),
      openssl(['genrsa', '-out', 'director.key', '2048'], pki).then(() => fs.chmodSync(f('director.key'), 0o600)),
    ]);
    await openssl(
      ['req', '-new', '-key', 'director.key', '-subj', `/O=bosh-etcd testbed/CN=${host}`, '-out', 'director.csr'],
      pki,
    );
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        'director.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '365',
        '-sha256',
        '-extfile',
        'director.ext',
        '-out',
        'director.crt',
      ],
      pki,
    );
    fs.writeFileSync(hostMarker, host);
  }
  return {
    caCertPath: f('ca.crt'),
    caCert: fs.readFileSync(f('ca.crt'), 'utf8'),
    key: fs.readFileSync(f('director.key'), 'utf8'),
    cert: fs.readFileSync(f('director.crt'), 'utf8'),
  };
}
