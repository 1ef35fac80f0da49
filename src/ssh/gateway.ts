// The one network path of an environment: direct TCP, or everything (Director API, VM SSH, etcd
// client ports) through one ssh2 connection to a jump host, like `BOSH_ALL_PROXY=ssh+socks5://…`
// or `--gw-host` for the bosh CLI. Plain Node, no `vscode`.
import * as fs from 'fs';
import * as net from 'net';
import type { Duplex } from 'stream';
import type { Dialer, GatewayConfig } from '../bosh/types';
import type { HostKeyPrompt } from '../session/types';
import { SshError } from './types';
import { VmConnection } from './connection';
import { expandHome } from './keys';

export interface GatewayDialer {
  dial: Dialer;
  dispose(): Promise<void>;
}

export interface GatewayDialerOptions {
  hostKeyPrompt?: HostKeyPrompt;
  /** known_hosts used to check the jump host's key (default ~/.ssh/known_hosts). */
  knownHostsPath?: string;
  log?: (line: string) => void;
  /** TCP connect timeout for direct dials (default 10 s). */
  connectTimeoutMs?: number;
}

/** Direct TCP with TCP_NODELAY (Nagle adds ~45 ms per round trip to gRPC otherwise). */
export function directDial(host: string, port: number, timeoutMs = 10_000): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    const sock = net.connect({ host, port });
    sock.setNoDelay(true);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new SshError(
          'connect',
          `Connecting to ${host}:${port} timed out after ${Math.round(timeoutMs / 1000)} s. Check the address and firewalls (or configure a jump host).`,
        ),
      );
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      sock.on('error', () => undefined); // the consumer attaches its own; never crash on a late EPIPE
      resolve(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(
        new SshError(
          'connect',
          `Cannot connect to ${host}:${port}: ${e.message}. Check the address and that the service is running (or configure a jump host).`,
        ),
      );
    });
  });
}

export async function createGatewayDialer(
  gateway: GatewayConfig | undefined,
  opts: GatewayDialerOptions = {},
): Promise<GatewayDialer> {
  const log = opts.log ?? (() => undefined);
  if (!gateway) {
    return { dial: (h, p) => directDial(h, p, opts.connectTimeoutMs), dispose: async () => undefined };
  }
  let privateKey: string | Buffer | undefined = gateway.privateKey;
  if (!privateKey && gateway.privateKeyPath) {
    try {
      privateKey = fs.readFileSync(expandHome(gateway.privateKeyPath));
    } catch (e) {
      throw new SshError(
        'config',
        `Cannot read the jump host's private key ${gateway.privateKeyPath}: ${(e as Error).message}.`,
      );
    }
  }
  const agent = privateKey ? undefined : process.env.SSH_AUTH_SOCK;
  if (!privateKey && !agent) {
    throw new SshError(
      'config',
      `No key for the jump host ${gateway.user}@${gateway.host}: set a private key (BOSH_GW_PRIVATE_KEY or ?private-key=) or start an ssh-agent (SSH_AUTH_SOCK).`,
    );
  }
  const jump = new VmConnection({
    label: `jump host ${gateway.host}`,
    host: gateway.host,
    port: gateway.port || 22,
    user: gateway.user,
    privateKey,
    passphrase: gateway.passphrase,
    agent,
    knownHostsPath: opts.knownHostsPath ?? '~/.ssh/known_hosts',
    hostKeyPrompt: opts.hostKeyPrompt,
    dial: (h, p) => directDial(h, p, opts.connectTimeoutMs),
    log,
  });
  await jump.connect();
  await jump.warmUp();
  return {
    // openStream reconnects (and warms up again) if the jump connection dropped.
    dial: (host, port) => jump.openStream(host, port),
    dispose: () => jump.dispose(),
  };
}
