// Opening one authenticated ssh2 connection to a VM: dial (directly or through the jump host), offer
// only host key types we can check, verify the host key, log in. The host key is always verified: the
// key the Director pinned, else known_hosts, else the operator is asked with the SHA256 fingerprint;
// a reconnect must present the key accepted the first time. Every failure is an SshError whose
// message says what to check. Plain Node, no `vscode`.
import type { Duplex } from 'stream';
import { Client, type ConnectConfig } from 'ssh2';
import type { Dialer } from '../bosh/types';
import type { HostKeyPrompt } from '../session/types';
import { SshError } from './types';
import {
  checkKnownHosts,
  expandHome,
  hostKeyAlgorithms,
  keyTypeOfBlob,
  knownKeyTypesFor,
  parsePublicKeyLine,
  readKnownHostsFile,
  sha256Fingerprint,
} from './keys';

export interface ConnectVmOptions {
  /** e.g. 'master/8d1f…' (used in messages and terminal prompts). */
  label: string;
  host: string;
  port?: number;
  user: string;
  privateKey?: string | Buffer;
  /** ssh-agent socket path (SSH_AUTH_SOCK). */
  agent?: string;
  passphrase?: string;
  /** OpenSSH public key line the server must present (from the Director's SSH setup). Mismatch = hard failure. */
  pinnedHostKey?: string;
  knownHostsPath?: string;
  hostKeyPrompt?: HostKeyPrompt;
  dial: Dialer;
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  /** Diagnostic log; never receives secrets. */
  log?: (line: string) => void;
  /** Runs after the connection closed in dispose() (e.g. the Director's SSH cleanup). Errors are logged. */
  onDispose?: () => Promise<void>;
}

/** Kept by the connection across reconnects. */
export interface HostKeyMemory {
  /** Host key accepted on the first connection: later reconnects must present the same one. */
  accepted?: Buffer;
}

export interface HandshakeHooks {
  /** The connection is up; called before openClient resolves, so no 'close' can come in between. */
  onReady(client: Client): void;
  /** The connection ended or closed, before or after it was ready (may be called twice: 'end', then 'close'). */
  onGone(client: Client, why: string): void;
}

/** Resolves once the server's host key is trusted; rejects with SshError('hostkey-…' or 'config') otherwise. */
export async function verifyHostKey(opts: ConnectVmOptions, memory: HostKeyMemory, blob: Buffer): Promise<void> {
  const { label, host } = opts;
  const port = opts.port ?? 22;
  const fp = sha256Fingerprint(blob);
  const keyType = keyTypeOfBlob(blob);
  if (opts.pinnedHostKey) {
    let pinned: Buffer;
    try {
      pinned = parsePublicKeyLine(opts.pinnedHostKey).blob;
    } catch (e) {
      throw new SshError(
        'config',
        `The host key the Director reported for ${label} cannot be read (${(e as Error).message}); run the SSH setup again.`,
      );
    }
    if (pinned.equals(blob)) return;
    throw new SshError(
      'hostkey-changed',
      `Host key of ${label} (${host}) does not match the key the Director reported: expected ${sha256Fingerprint(pinned)}, ` +
        `got ${keyType} ${fp}. Not connecting. Something other than the VM may be answering at ${host}; check the network path and the instance, then retry.`,
    );
  }
  if (memory.accepted) {
    if (memory.accepted.equals(blob)) return;
    throw new SshError(
      'hostkey-changed',
      `Host key of ${label} (${host}) changed while connected: it was ${sha256Fingerprint(memory.accepted)}, now ${keyType} ${fp}. Not reconnecting; check the VM and the network path.`,
    );
  }
  const khPath = opts.knownHostsPath;
  if (khPath) {
    const verdict = checkKnownHosts(readKnownHostsFile(khPath), host, port, blob);
    if (verdict.verdict === 'match') return;
    if (verdict.verdict === 'changed') {
      throw new SshError(
        'hostkey-changed',
        `Host key of ${label} (${host}) is not the one recorded in ${expandHome(khPath)} line ${verdict.line}: the server offers ${keyType} ${fp}. ` +
          `Not connecting. If the VM was recreated, remove the old entry (ssh-keygen -R ${host}) after checking the new fingerprint out of band.`,
      );
    }
  }
  if (!opts.hostKeyPrompt) {
    throw new SshError(
      'hostkey-unknown',
      `Host key of ${label} (${host}) is unknown (${keyType} ${fp})${khPath ? ` and not in ${expandHome(khPath)}` : ''}. ` +
        `Add it to known_hosts after checking the fingerprint, or use Director-provisioned SSH (which pins the key).`,
    );
  }
  const ok = await opts.hostKeyPrompt(host, keyType, fp);
  if (!ok)
    throw new SshError('hostkey-unknown', `Host key ${fp} of ${label} (${host}) was not trusted; not connecting.`);
}

/** Ask the server for the key type we can check (the pinned one, or those in known_hosts first). */
function serverHostKeyAlgorithms(opts: ConnectVmOptions, memory: HostKeyMemory): string[] {
  if (opts.pinnedHostKey) {
    try {
      return hostKeyAlgorithms([parsePublicKeyLine(opts.pinnedHostKey).type], true);
    } catch {
      return hostKeyAlgorithms([], false); // verifyHostKey reports the unreadable pin
    }
  }
  if (memory.accepted) return hostKeyAlgorithms([keyTypeOfBlob(memory.accepted)], true);
  const known = opts.knownHostsPath
    ? knownKeyTypesFor(readKnownHostsFile(opts.knownHostsPath), opts.host, opts.port ?? 22)
    : [];
  return hostKeyAlgorithms(known, false);
}

/** Dials, verifies the host key (remembering it in `memory`) and logs in; resolves with the ready client. */
export async function openClient(
  opts: ConnectVmOptions,
  memory: HostKeyMemory,
  hooks: HandshakeHooks,
): Promise<Client> {
  const { label, host, user } = opts;
  const port = opts.port ?? 22;
  const log = opts.log ?? (() => undefined);
  let sock: Duplex;
  try {
    sock = await opts.dial(host, port);
  } catch (e) {
    if (e instanceof SshError && e.kind !== 'connect') throw e;
    if (e instanceof SshError) throw new SshError('connect', `Cannot reach ${label}: ${e.message}`);
    throw new SshError(
      'connect',
      `Cannot reach ${label} at ${host}:${port}: ${(e as Error).message}. Check that the VM is running and reachable (or the jump host settings).`,
    );
  }
  const client = new Client();
  let hostKeyError: SshError | undefined;
  const cfg: ConnectConfig = {
    algorithms: { serverHostKey: serverHostKeyAlgorithms(opts, memory) as never },
    sock: sock as unknown as ConnectConfig['sock'],
    host,
    port,
    username: user,
    privateKey: opts.privateKey,
    passphrase: opts.passphrase,
    agent: opts.agent,
    readyTimeout: opts.readyTimeoutMs ?? 20_000,
    keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: 3,
    hostVerifier: ((key: Buffer, verify: (ok: boolean) => void) => {
      verifyHostKey(opts, memory, key).then(
        () => {
          if (!memory.accepted) memory.accepted = Buffer.from(key);
          verify(true);
        },
        (e) => {
          hostKeyError = e instanceof SshError ? e : new SshError('hostkey-unknown', String(e));
          verify(false);
        },
      );
    }) as unknown as ConnectConfig['hostVerifier'],
  };
  const started = Date.now();
  return new Promise<Client>((resolve, reject) => {
    let ready = false;
    client.on('ready', () => {
      ready = true;
      hooks.onReady(client);
      log(`ssh: connected to ${label} (${user}@${host}:${port}) in ${Date.now() - started} ms`);
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string }) => {
      if (!ready) {
        sock.destroy();
        reject(hostKeyError ?? handshakeError(opts, err));
        return;
      }
      log(`ssh: ${label}: ${err.message}`);
    });
    const onGone = (why: string) => {
      hooks.onGone(client, why);
      if (!ready) {
        reject(
          hostKeyError ??
            new SshError('connect', `SSH connection to ${label} (${host}:${port}) closed during the handshake.`),
        );
      }
    };
    client.on('end', () => onGone('ended'));
    client.on('close', () => onGone('closed'));
    try {
      client.connect(cfg);
    } catch (e) {
      sock.destroy();
      reject(new SshError('config', `The SSH settings for ${label} cannot be used: ${(e as Error).message}.`));
    }
  });
}

/** An ssh2 error before 'ready' (other than a refused host key), as what the operator should check. */
function handshakeError(opts: ConnectVmOptions, err: Error & { level?: string }): SshError {
  const { label, host, user } = opts;
  const port = opts.port ?? 22;
  if (err.level === 'client-authentication') {
    return new SshError(
      'auth',
      `SSH login as '${user}' to ${label} (${host}) was refused (tried: public key). ` +
        `If the Director set this user up, the setup may have been cleaned up; retry. With static credentials, check the user and key.`,
    );
  }
  if (err.level === 'client-timeout') {
    return new SshError(
      'timeout',
      `SSH handshake with ${label} (${host}:${port}) timed out after ${Math.round((opts.readyTimeoutMs ?? 20_000) / 1000)} s. Check that sshd on the VM answers.`,
    );
  }
  if (/passphrase|private key|Cannot parse/i.test(err.message)) {
    return new SshError('config', `The SSH private key for ${label} cannot be used: ${err.message}.`);
  }
  return new SshError('connect', `SSH connection to ${label} (${host}:${port}) failed: ${err.message}.`);
}
