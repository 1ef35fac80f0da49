// Turns a failure of the services into a sentence that says what failed and what to do.
// Used by tree message nodes, the health panel and the wizard. No `vscode` import here.

export interface Explained {
  text: string;
  detail: string;
}

interface KindError {
  name?: string;
  kind?: string;
  message?: string;
}

export function explainError(e: unknown, what: string): Explained {
  const err = (e ?? {}) as KindError;
  const msg = String(err.message ?? e);
  const kind = err.kind;
  switch (err.name) {
    case 'BoshError':
      switch (kind) {
        case 'unreachable':
          return {
            text: `Director unreachable while ${what}: check BOSH_ENVIRONMENT / the jump host (BOSH_ALL_PROXY)`,
            detail: msg,
          };
        case 'tls':
          return {
            text: `Director TLS check failed while ${what}: check BOSH_CA_CERT (the Director's CA)`,
            detail: msg,
          };
        case 'auth':
          return {
            text: `Director refused the credentials while ${what}: check BOSH_CLIENT / BOSH_CLIENT_SECRET (or log in again)`,
            detail: msg,
          };
        case 'config':
          return {
            text: `BOSH environment not usable: ${msg}`,
            detail: 'Check the boshEtcd.environments setting or the BOSH_* environment variables.',
          };
        case 'not-found':
          return { text: `Not found on the Director while ${what}: refresh the tree`, detail: msg };
        case 'task':
          return { text: `Director task failed while ${what}: see \`bosh task\` on the Director`, detail: msg };
        default:
          return { text: `Director error while ${what}: ${msg}`, detail: msg };
      }
    case 'SshError':
      switch (kind) {
        case 'hostkey-changed':
          return {
            text: `SSH host key changed while ${what}: refusing to connect. If the VM was recreated, refresh; otherwise investigate (possible interception)`,
            detail: msg,
          };
        case 'hostkey-unknown':
          return {
            text: `SSH host key not trusted while ${what}: accept its fingerprint or add it to known_hosts`,
            detail: msg,
          };
        case 'auth':
          return {
            text: `SSH login refused while ${what}: check the Director's SSH setup or boshEtcd.ssh.* settings`,
            detail: msg,
          };
        case 'timeout':
        case 'connect':
          return {
            text: `SSH connection failed while ${what}: check the VM is up and reachable (through the jump host, if any)`,
            detail: msg,
          };
        case 'dropped':
          return { text: `SSH connection dropped while ${what}: retry; check the network / jump host`, detail: msg };
        default:
          return { text: `SSH failed while ${what}: ${msg}`, detail: msg };
      }
    case 'EtcdError':
      switch (kind) {
        case 'unreachable':
        case 'timeout':
          return {
            text: `etcd unreachable while ${what}: check \`monit summary\` on the masters and the etcd health panel`,
            detail: msg,
          };
        case 'tls':
          return {
            text: `etcd TLS failed while ${what}: check the etcdctl certificates in /var/vcap/jobs/etcd/config`,
            detail: msg,
          };
        case 'unhealthy':
          return { text: `etcd cluster unhealthy while ${what}: open the health panel`, detail: msg };
        default:
          return { text: `etcd error while ${what}: ${msg}`, detail: msg };
      }
    default:
      if (/timed out/i.test(msg))
        return {
          text: `Timed out while ${what}: the Director, SSH or etcd did not answer; refresh to retry`,
          detail: msg,
        };
      if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(msg))
        return { text: `Network error while ${what}: check BOSH_ENVIRONMENT / the jump host`, detail: msg };
      return { text: `Failed while ${what}: ${msg}`, detail: msg };
  }
}

/** Rejects with a clear message after ms (the promise keeps running). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  if (!(ms > 0)) return p;
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${Math.round(ms / 1000)} s`)), ms);
    }),
  ]);
}
