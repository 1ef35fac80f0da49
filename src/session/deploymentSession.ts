// One deployment's session: its instances, an SSH connection per instance (opened once, shared,
// retried after a failure), the cleanup of temporary users a killed run left, and its etcd
// connection (etcdEndpoints.ts). Everything it opened is closed by dispose(). Plain Node, no `vscode`.
import type { DirectorClient, Dialer, EnvironmentConfig, InstanceInfo } from '../bosh/types';
import { instanceFromSummary } from '../bosh/director/instances';
import { openBoshSsh, openStaticSsh } from '../ssh/boshSsh';
import { generateFirstRsaKeyPair, type GeneratedKeyPair } from '../ssh/keys';
import { RemoteHost, SshError } from '../ssh/types';
import { EtcdCluster, EtcdError } from '../etcd/types';
import { withTimeout } from '../util/async';
import { openDeploymentEtcd } from './etcdEndpoints';
import type { TempUserRegistry } from './tempUsers';
import { cleanupKilledRunUsers, hasKilledRunUsers, sweepEnvironmentOnce } from './tempUserSweep';
import type { DeploymentSession, SessionOptions } from './types';

/** How long the first SSH connection of a deployment waits for the cleanup of users a killed run left. */
const LEFTOVER_CLEANUP_WAIT_MS = 30_000;

/** What a deployment's session takes from its environment's session. */
export interface EnvironmentContext {
  readonly env: EnvironmentConfig;
  readonly director: DirectorClient;
  readonly opts: SessionOptions;
  readonly log: (line: string) => void;
  /** The environment's network path. */
  readonly dial: Dialer;
  readonly tempUsers: TempUserRegistry | undefined;
  /** Drops a disposed deployment session. */
  forget(d: DeploymentSession): void;
}

export class DeploySession implements DeploymentSession {
  private readonly hosts = new Map<string, Promise<RemoteHost>>();
  private leftoverCleanup: Promise<string[]> | undefined;
  private sweep: Promise<unknown> | undefined;
  private etcdCluster: Promise<EtcdCluster> | undefined;
  private lastInstances: InstanceInfo[] | undefined;
  private listing: Promise<InstanceInfo[]> | undefined;
  private quickListing: Promise<InstanceInfo[]> | undefined;
  private disposed = false;
  /** The key pair of this session's temporary users (bosh-ssh), generated once, off the event loop. */
  private sshKeys: Promise<GeneratedKeyPair> | undefined;

  constructor(
    private readonly envSession: EnvironmentContext,
    readonly deployment: string,
  ) {
    if (this.opts.keysAtOpen) this.keysAhead();
  }

  get env(): EnvironmentConfig {
    return this.envSession.env;
  }
  get director(): DirectorClient {
    return this.envSession.director;
  }
  private get log() {
    return this.envSession.log;
  }
  private get opts() {
    return this.envSession.opts;
  }

  /** The Director's instance list; callers that ask while a request is out share its answer. */
  instances(): Promise<InstanceInfo[]> {
    if (!this.listing) {
      this.keysAhead();
      const p = this.director.instances(this.deployment).then((list) => {
        this.lastInstances = list;
        return list;
      });
      this.listing = p;
      const done = () => {
        if (this.listing === p) this.listing = undefined;
      };
      p.then(done, done);
    }
    return this.listing;
  }

  /** The Director's fast instance list (no agent calls, no process states); shared like instances(). */
  instancesQuick(): Promise<InstanceInfo[]> {
    if (!this.quickListing) {
      this.keysAhead();
      const p = this.director.instancesFast(this.deployment).then((fast) => {
        const list = fast.map((f) => instanceFromSummary(this.deployment, f));
        // ids, groups and IPs are all the SSH and etcd connections need from it
        this.lastInstances = list;
        return list;
      });
      this.quickListing = p;
      const done = () => {
        if (this.quickListing === p) this.quickListing = undefined;
      };
      p.then(done, done);
    }
    return this.quickListing;
  }

  private async resolveInstance(instance: InstanceInfo | string): Promise<InstanceInfo> {
    if (typeof instance !== 'string') return instance;
    const [group, id] = instance.includes('/') ? instance.split('/', 2) : [undefined, instance];
    const find = (l: InstanceInfo[] | undefined) =>
      l?.find((i) => i.id === id && (!group || i.group === group)) ??
      l?.find((i) => group !== undefined && i.group === group && String(i.index) === id);
    const found = find(this.lastInstances) ?? find(await this.instances());
    if (!found)
      throw new SshError(
        'config',
        `No instance ${instance} in deployment ${this.deployment} (bosh -d ${this.deployment} instances).`,
      );
    return found;
  }

  async ssh(instance: InstanceInfo | string): Promise<RemoteHost> {
    if (this.disposed) throw new SshError('config', `The session for deployment ${this.deployment} was closed.`);
    const inst = await this.resolveInstance(instance);
    if (!this.opts.staticSsh) await this.cleanupLeftoverUsersFirst();
    let p = this.hosts.get(inst.id);
    if (!p) {
      p = this.openSsh(inst);
      this.hosts.set(inst.id, p);
      p.catch(() => {
        if (this.hosts.get(inst.id) === p) this.hosts.delete(inst.id);
      });
    }
    return p;
  }

  /**
   * At the first SSH connection: the temporary-user records of every deployment of this environment
   * are checked in the background (tempUserSweep.ts: one Director request), and the users a killed
   * run of this workstation left on this deployment's VMs (recorded in SessionOptions.tempUsersDir)
   * are removed through the Director's cleanup before our first user: waited for up to
   * LEFTOVER_CLEANUP_WAIT_MS, then it goes on in the background. dispose() waits for both.
   */
  private cleanupLeftoverUsersFirst(): Promise<unknown> {
    const registry = this.envSession.tempUsers;
    if (!registry) return Promise.resolve();
    const ctx = { registry, director: this.director, log: this.log };
    this.sweep ??= sweepEnvironmentOnce(ctx, this.deployment).catch((e) =>
      this.log(`ssh: checking the temporary-user records failed: ${(e as Error).message}`),
    );
    if (!this.leftoverCleanup) {
      if (!hasKilledRunUsers(registry, this.env.url, this.deployment)) this.leftoverCleanup = Promise.resolve([]);
      else this.leftoverCleanup = cleanupKilledRunUsers(ctx, this.deployment);
    }
    return withTimeout(this.leftoverCleanup, LEFTOVER_CLEANUP_WAIT_MS, 'leftover cleanup').catch(() => undefined);
  }

  /**
   * Starts the temporary users' key pair while the Director is first asked for the instances (an
   * SSH connection follows them): RSA generation, 40–260 ms in the thread pool (the first of two
   * generations: see generateFirstRsaKeyPair), then is not on the way of the first connection.
   */
  private keysAhead(): void {
    if (!this.opts.staticSsh && !this.disposed) this.keyPair().catch(() => undefined);
  }

  /** Starts (once) the key pair of the temporary users; a failed generation is retried at the next call. */
  private keyPair(): Promise<GeneratedKeyPair> {
    if (!this.sshKeys) {
      const p = generateFirstRsaKeyPair();
      this.sshKeys = p;
      p.catch(() => {
        if (this.sshKeys === p) this.sshKeys = undefined;
      });
    }
    return this.sshKeys;
  }

  private async openSsh(inst: InstanceInfo): Promise<RemoteHost> {
    const label = `${inst.group}/${inst.id}`;
    const common = {
      dial: this.envSession.dial,
      log: this.log,
      readyTimeoutMs: this.opts.sshReadyTimeoutMs,
      keepaliveIntervalMs: this.opts.sshKeepaliveIntervalMs,
    };
    if (this.opts.staticSsh) {
      const ip = inst.ips[0];
      if (!ip) throw new SshError('config', `${label} has no IP address (no VM?): cannot SSH to it.`);
      return openStaticSsh({
        ...common,
        label,
        host: ip,
        staticSsh: this.opts.staticSsh,
        hostKeyPrompt: this.opts.hostKeyPrompt,
      });
    }
    return openBoshSsh({
      ...common,
      director: this.director,
      deployment: this.deployment,
      instance: inst,
      tempUsers: this.envSession.tempUsers,
      keys: () => this.keyPair(),
    });
  }

  etcd(): Promise<EtcdCluster> {
    if (this.disposed)
      return Promise.reject(new EtcdError('config', `The session for deployment ${this.deployment} was closed.`));
    if (!this.etcdCluster) {
      const p = this.openEtcd();
      this.etcdCluster = p;
      p.catch(() => {
        if (this.etcdCluster === p) this.etcdCluster = undefined;
      });
    }
    return this.etcdCluster;
  }

  private async openEtcd(): Promise<EtcdCluster> {
    // The certificates come over SSH: the key pair is generated while the Director answers.
    this.keysAhead();
    // The instance list the tree just loaded will do (IPs rarely change); else ask the Director.
    const all = this.lastInstances ?? (await (this.quickListing ?? this.instances()));
    return openDeploymentEtcd(this.deployment, all, {
      ssh: (inst) => this.ssh(inst),
      dial: this.envSession.dial,
      opts: this.opts,
      log: this.log,
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.envSession.forget(this);
    const cluster = this.etcdCluster;
    this.etcdCluster = undefined;
    if (cluster)
      await cluster.then(
        (c) => c.dispose(),
        () => undefined,
      );
    if (this.leftoverCleanup) await this.leftoverCleanup;
    if (this.sweep) await this.sweep;
    const hosts = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(
      hosts.map((p) =>
        p.then(
          (h) => h.dispose(),
          () => undefined,
        ),
      ),
    );
  }
}
