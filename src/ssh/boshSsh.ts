// SSH to a BOSH instance the way `bosh ssh` does it: a fresh RSA key pair in memory, a temporary
// user created by the Director (POST /deployments/<d>/ssh setup), the host key the Director returns
// pinned, and the user removed again (cleanup) on dispose. Plus the static fallback
// (`bosh ssh --private-key`): a configured user with a key file or the ssh-agent, host keys checked
// against known_hosts with a fingerprint prompt. Plain Node, no `vscode`.
import * as fs from 'fs';
import type { Dialer, DirectorClient, InstanceInfo, SshSetupHost } from '../bosh/types';
import type { HostKeyPrompt, SessionOptions } from '../session/types';
import { RemoteHost, SshError } from './types';
import { VmConnection } from './connection';
import { boshSshUserName, expandHome, generateRsaKeyPairAsync, type GeneratedKeyPair } from './keys';

export interface BoshSshOptions {
  director: DirectorClient;
  deployment: string;
  instance: Pick<InstanceInfo, 'group' | 'id'>;
  dial: Dialer;
  log?: (line: string) => void;
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  /**
   * Where the temporary user is recorded before the Director creates it, and forgotten once the
   * Director cleaned it up (src/session/tempUsers.ts), so a killed run's users can be removed later.
   */
  tempUsers?: TempUserRecorder;
  /**
   * The key pair to authorize for the temporary user (default: a fresh one). A deployment's session
   * passes one pair for all its instances, as `bosh ssh` uses one for every instance it opens; each
   * instance still gets a user of its own, removed on dispose.
   */
  keys?: () => Promise<GeneratedKeyPair>;
}

/** The record of temporary users kept on the workstation. */
export interface TempUserRecorder {
  record(r: { environment: string; deployment: string; group: string; instanceId: string; user: string }): void;
  forget(user: string): void;
  /**
   * The Director accepted the cleanup of `user` (its tasks): the record stays until a later session
   * sees those tasks done (or cleans up again when one failed).
   */
  cleanupRequested?(user: string, taskIds: number[]): void;
}

/** Director-provisioned SSH to one instance. The returned host's dispose() also runs the Director cleanup. */
export async function openBoshSsh(opts: BoshSshOptions): Promise<RemoteHost> {
  const log = opts.log ?? (() => undefined);
  const { director, deployment, instance } = opts;
  const label = `${instance.group}/${instance.id}`;
  const user = boshSshUserName();
  const keys = await (opts.keys ?? generateRsaKeyPairAsync)();
  log(`ssh: asking the Director to set up user ${user} on ${deployment}/${label}`);
  const target = { group: instance.group, id: instance.id };
  let cleaned: Promise<void> | undefined;
  // Instances the Director answered for besides the one asked for: the user exists there too.
  const otherTargets: { group: string; id: string }[] = [];
  const cleanup = () =>
    (cleaned ??= (async () => {
      log(`ssh: asking the Director to clean up user ${user} on ${deployment}/${label}`);
      for (const t of [target, ...otherTargets]) await director.sshCleanup(deployment, t, user);
      try {
        opts.tempUsers?.forget(user);
      } catch (e) {
        log(`ssh: cannot forget temporary user ${user}: ${(e as Error).message}`);
      }
    })());
  // At the end of a connection that worked: like `bosh ssh`, ask for the cleanup without waiting for
  // its task; the record keeps the task ids and a later session checks them (src/session/tempUsers.ts).
  // Without a record to keep them, or a Director client that cannot, wait as above.
  const requestCleanup = () => {
    const recorder = opts.tempUsers;
    if (!director.sshCleanupRequest || !recorder?.cleanupRequested) return cleanup();
    return (cleaned ??= (async () => {
      log(`ssh: asking the Director to clean up user ${user} on ${deployment}/${label} (not waiting for its task)`);
      const ids = await Promise.all(
        [target, ...otherTargets].map((t) => director.sshCleanupRequest!(deployment, t, user)),
      );
      try {
        recorder.cleanupRequested!(user, ids);
      } catch (e) {
        log(`ssh: cannot record the cleanup tasks of ${user}: ${(e as Error).message}`);
      }
    })());
  };
  try {
    opts.tempUsers?.record({
      environment: director.env.url,
      deployment,
      group: instance.group,
      instanceId: instance.id,
      user,
    });
  } catch (e) {
    log(`ssh: cannot record temporary user ${user} (a killed run would leave it on the VM): ${(e as Error).message}`);
  }
  let hosts: SshSetupHost[];
  try {
    hosts = await director.sshSetup(deployment, target, user, keys.publicKey + '\n');
  } catch (e) {
    // The task may have created the user on the VM before failing: clean up all the same.
    await cleanup().catch((ce) => log(`ssh: cleanup of ${user} failed: ${(ce as Error).message}`));
    throw e;
  }
  const host = hosts.find((h) => h.id === instance.id);
  for (const h of hosts) if (h.id !== instance.id && h.id && h.job) otherTargets.push({ group: h.job, id: h.id });
  try {
    if (!host) {
      throw new SshError(
        'config',
        `The Director's SSH setup for ${label} answered for ${hosts.map((h) => `${h.job}/${h.id}`).join(', ') || 'no instance'}, not for ${label}; refusing to connect to another VM. Check the instance id (bosh -d ${deployment} instances) and try again.`,
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
      onDispose: requestCleanup,
    });
    try {
      await vm.connect();
    } catch (e) {
      await vm.dispose(); // runs the cleanup
      throw e;
    }
    return vm;
  } catch (e) {
    await cleanup().catch((ce) => log(`ssh: cleanup of ${user} failed: ${(ce as Error).message}`));
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
