// SSH to a BOSH instance the way `bosh ssh` does it: a fresh RSA key pair in memory, a temporary
// user created by the Director (POST /deployments/<d>/ssh setup), the host key the Director returns
// pinned, and the user removed again (cleanup) on dispose. Plus the static fallback
// (`bosh ssh --private-key`): a configured user with a key file or the ssh-agent, host keys checked
// against known_hosts with a fingerprint prompt. Plain Node, no `vscode`.
import * as fs from 'fs';
import type { Dialer, DirectorClient, InstanceInfo } from '../bosh/types';
import type { HostKeyPrompt, SessionOptions } from '../session/types';
import { RemoteHost, SshError } from './types';
import { VmConnection } from './connection';
import { boshSshUserName, expandHome, generateRsaKeyPair } from './keys';

export interface BoshSshOptions {
  director: DirectorClient;
  deployment: string;
  instance: Pick<InstanceInfo, 'group' | 'id'>;
  dial: Dialer;
  log?: (line: string) => void;
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
}

/** Director-provisioned SSH to one instance. The returned host's dispose() also runs the Director cleanup. */
export async function openBoshSsh(opts: BoshSshOptions): Promise<RemoteHost> {
  const log = opts.log ?? (() => undefined);
  const { director, deployment, instance } = opts;
  const label = `${instance.group}/${instance.id}`;
  const user = boshSshUserName();
  const keys = generateRsaKeyPair();
  log(`ssh: asking the Director to set up user ${user} on ${deployment}/${label}`);
  const target = { group: instance.group, id: instance.id };
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      log(`ssh: asking the Director to clean up user ${user} on ${deployment}/${label}`);
      await director.sshCleanup(deployment, target, user);
    })());
  const hosts = await director.sshSetup(deployment, target, user, keys.publicKey + '\n');
  const host = hosts.find((h) => h.id === instance.id) ?? (hosts.length === 1 ? hosts[0] : undefined);
  try {
    if (!host) {
      throw new SshError(
        'config',
        `The Director's SSH setup for ${label} returned no entry for this instance (got ${hosts.length}); check that the instance has a VM.`,
      );
    }
    if (host.status !== 'success') {
      throw new SshError(
        'config',
        `The Director could not set up SSH on ${label} (status '${host.status}'). Check the agent on the VM (bosh instances --ps).`,
      );
    }
    if (!host.host_public_key || !host.host_public_key.trim()) {
      throw new SshError(
        'config',
        `The Director's SSH setup for ${label} returned no host key; refusing to connect without one to pin.`,
      );
    }
    if (host.gateway_host)
      log(
        `ssh: the Director suggests gateway ${host.gateway_user ?? ''}@${host.gateway_host}; using the environment's network path instead`,
      );
    const vm = new VmConnection({
      label,
      host: host.ip,
      user,
      privateKey: keys.privateKey,
      pinnedHostKey: host.host_public_key.trim(),
      dial: opts.dial,
      readyTimeoutMs: opts.readyTimeoutMs,
      keepaliveIntervalMs: opts.keepaliveIntervalMs,
      log,
      onDispose: cleanup,
    });
    try {
      await vm.connect();
    } catch (e) {
      await vm.dispose(); // runs the cleanup
      throw e;
    }
    return vm;
  } catch (e) {
    {
      await cleanup().catch((ce) => log(`ssh: cleanup of ${user} failed: ${(ce as Error).message}`));
    }
    throw e;
  }
}

export interface StaticSshOptions {
  label: string;
  host: string;
  port?: number;
  staticSsh: NonNullable<SessionOptions['staticSsh']>;
  dial: Dialer;
  hostKeyPrompt?: HostKeyPrompt;
  log?: (line: string) => void;
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
}

/** Static-credential SSH (`bosh ssh --private-key`): key from memory, a file, or the ssh-agent. */
export async function openStaticSsh(opts: StaticSshOptions): Promise<RemoteHost> {
  const s = opts.staticSsh;
  let privateKey: string | Buffer | undefined = s.privateKey;
  if (!privateKey && s.privateKeyPath && !s.useAgent) {
    try {
      privateKey = fs.readFileSync(expandHome(s.privateKeyPath));
    } catch (e) {
      throw new SshError('config', `Cannot read the SSH private key ${s.privateKeyPath}: ${(e as Error).message}.`);
    }
  }
  const agent = !privateKey ? process.env.SSH_AUTH_SOCK : undefined;
  if (!privateKey && !agent) {
    throw new SshError(
      'config',
      `No SSH key for user '${s.user}': set a private key file or start an ssh-agent (SSH_AUTH_SOCK).`,
    );
  }
  const vm = new VmConnection({
    label: opts.label,
    host: opts.host,
    port: opts.port,
    user: s.user,
    privateKey,
    agent,
    knownHostsPath: s.knownHostsPath ?? '~/.ssh/known_hosts',
    hostKeyPrompt: opts.hostKeyPrompt,
    dial: opts.dial,
    readyTimeoutMs: opts.readyTimeoutMs,
    keepaliveIntervalMs: opts.keepaliveIntervalMs,
    log: opts.log,
  });
  await vm.connect();
  return vm;
}
