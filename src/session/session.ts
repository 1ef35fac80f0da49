// Composition of the Director client, the network path (direct or jump host), SSH to instances and
// etcd for one environment / deployment. Lazy: nothing touches the network until it is used.
// Everything opened here is closed by dispose(), including the Director's cleanup of temporary SSH
// users. Plain Node, no `vscode`: the extension, the CLI, the tests and the benchmarks use it.
import type { Duplex } from 'stream';
import { BoshError, type Dialer, type DirectorClient, type EnvironmentConfig, type InstanceInfo } from '../bosh/types';
import { createDirectorClient } from '../bosh/director';
import { requireEnvironment, type ResolveOptions } from '../bosh/config';
import { createGatewayDialer, type GatewayDialer } from '../ssh/gateway';
import { openBoshSsh, openStaticSsh } from '../ssh/boshSsh';
import { RemoteHost, SshError } from '../ssh/types';
import { openEtcdCluster, type ClusterEndpointConfig } from '../etcd/cluster';
import { EtcdCluster, EtcdError } from '../etcd/types';
import { withTimeout } from '../util/async';
import { defaultTempUsersDir, TempUserRegistry } from './tempUsers';
import type { DeploymentSession, EnvironmentSession, SessionOptions } from './types';

export const ETCD_CONFIG_DIR = '/var/vcap/jobs/etcd/config';
export const ETCD_CLIENT_PORT = 2379;
/** How long the first SSH connection of a deployment waits for the cleanup of users a killed run left. */
const LEFTOVER_CLEANUP_WAIT_MS = 30_000;

/** The etcd client URL of master <index>, as the CFCR/TKGI etcd job advertises it. */
export function etcdClientUrl(index: number): string {
  return `https://master-${index}.etcd.cfcr.internal:${ETCD_CLIENT_PORT}`;
}

/** Instances that run an etcd member: group 'master', or any instance with an 'etcd' process. */
export function etcdInstances(instances: InstanceInfo[]): InstanceInfo[] {
  return instances
    .filter((i) => i.group === 'master' || i.processes.some((p) => p.name === 'etcd'))
    .sort((a, b) => (a.index ?? 0) - (b.index ?? 0) || a.id.localeCompare(b.id));
}

/**
 * TKGI's etcd job enables etcd authentication and gives the root role to the client certificate
 * `etcdctl-root` (CN root); `etcdctl` (its v2 certificate) is not root, so HashKV, snapshots and
 * membership changes are refused to it. Older CFCR jobs without authentication have only `etcdctl`.
 */
const ROOT_CERT = 'etcdctl-root';
const LEGACY_CERT = 'etcdctl';

interface ClientCertificates {
  name: typeof ROOT_CERT | typeof LEGACY_CERT;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** The root client certificate, or `etcdctl.crt` only where the root one does not exist. */
async function readClientCertificates(host: RemoteHost, sudo: boolean): Promise<ClientCertificates> {
  // root:vcap 0640: a Director-provisioned user needs sudo; the static user (vcap) may not.
  const read = (f: string) => host.readFile(`${ETCD_CONFIG_DIR}/${f}`, { sudo });
  const ca = await read('etcdctl-ca.crt');
  for (const name of [ROOT_CERT, LEGACY_CERT] as const) {
    try {
      const [cert, key] = await Promise.all([read(`${name}.crt`), read(`${name}.key`)]);
      return { name, ca, cert, key };
    } catch (e) {
      if (name === ROOT_CERT && /does not exist|No such file or directory/.test((e as Error).message)) continue;
      throw e;
    }
  }
  throw new EtcdError('config', `No client certificate in ${ETCD_CONFIG_DIR} on ${host.label}.`);
}

export function openEnvironment(env: EnvironmentConfig, opts: SessionOptions = {}): EnvironmentSession {
  return new EnvSession(env, opts);
}

class EnvSession implements EnvironmentSession {
  readonly director: DirectorClient;
  private gateway: Promise<GatewayDialer> | undefined;
  private readonly deployments = new Map<string, DeploySession>();
  private disposed = false;
  readonly log: (line: string) => void;
  readonly tempUsers: TempUserRegistry | undefined;

  constructor(
    readonly env: EnvironmentConfig,
    readonly opts: SessionOptions,
  ) {
    this.log = opts.log ?? (() => undefined);
    this.tempUsers =
      opts.tempUsersDir === false ? undefined : new TempUserRegistry(opts.tempUsersDir ?? defaultTempUsersDir());
    this.director = createDirectorClient(env, { dial: this.dial, log: this.log });
  }

  /** The environment's network path; the jump host connection is opened at the first dial. */
  readonly dial: Dialer = async (host: string, port: number): Promise<Duplex> => {
    if (this.disposed) throw new SshError('config', `The session for ${this.env.name} was closed.`);
    if (!this.gateway) {
      this.gateway = createGatewayDialer(this.env.gateway, {
        hostKeyPrompt: this.opts.hostKeyPrompt,
        knownHostsPath: this.opts.gatewayKnownHostsPath,
        log: this.log,
      });
      this.gateway.catch(() => {
        this.gateway = undefined;
      }); // try again at the next dial
    }
    return (await this.gateway).dial(host, port);
  };

  deployment(name: string): DeploymentSession {
    if (this.disposed) throw new SshError('config', `The session for ${this.env.name} was closed.`);
    let d = this.deployments.get(name);
    if (!d) {
      d = new DeploySession(this, name);
      this.deployments.set(name, d);
    }
    return d;
  }

  forget(d: DeploySession) {
    if (this.deployments.get(d.deployment) === d) this.deployments.delete(d.deployment);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    const ds = [...this.deployments.values()];
    await Promise.all(
      ds.map((d) => d.dispose().catch((e) => this.log(`session: dispose of ${d.deployment}: ${(e as Error).message}`))),
    );
    this.disposed = true;
    const gw = this.gateway;
    this.gateway = undefined;
    if (gw)
      await gw.then(
        (g) => g.dispose(),
        () => undefined,
      );
    this.director.dispose();
  }
}

class DeploySession implements DeploymentSession {
  private readonly hosts = new Map<string, Promise<RemoteHost>>();
  private leftoverCleanup: Promise<string[]> | undefined;
  private etcdCluster: Promise<EtcdCluster> | undefined;
  private lastInstances: InstanceInfo[] | undefined;
  private disposed = false;

  constructor(
    private readonly envSession: EnvSession,
    readonly deployment: string,
  ) {}

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

  async instances(): Promise<InstanceInfo[]> {
    const list = await this.director.instances(this.deployment);
    this.lastInstances = list;
    return list;
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
   * Before our first temporary user: the users a killed run of this workstation left on this
   * deployment's VMs (recorded in SessionOptions.tempUsersDir) are removed through the Director's
   * cleanup. Waited for up to LEFTOVER_CLEANUP_WAIT_MS, then it goes on in the background; dispose() waits for it.
   */
  private cleanupLeftoverUsersFirst(): Promise<unknown> {
    const registry = this.envSession.tempUsers;
    if (!registry) return Promise.resolve();
    this.leftoverCleanup ??= (async () => {
      const removed: string[] = [];
      for (const r of registry.leftovers(this.env.url, this.deployment)) {
        try {
          this.log(
            `ssh: removing temporary user ${r.user} left on ${r.group}/${r.instanceId} by process ${r.pid} (${r.created})`,
          );
          await this.director.sshCleanup(this.deployment, { group: r.group, id: r.instanceId }, r.user);
          registry.forget(r.user);
          removed.push(r.user);
        } catch (e) {
          this.log(`ssh: could not remove the leftover temporary user ${r.user}: ${(e as Error).message}`);
        }
      }
      return removed;
    })();
    return withTimeout(this.leftoverCleanup, LEFTOVER_CLEANUP_WAIT_MS, 'leftover cleanup').catch(() => undefined);
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
    // The instance list the tree just loaded will do (IPs rarely change); else ask the Director.
    const all = this.lastInstances ?? (await this.instances());
    const masters = etcdInstances(all);
    if (!masters.length) {
      throw new EtcdError(
        'config',
        `Deployment ${this.deployment} has no etcd instances (instance group 'master' or a process named 'etcd').`,
      );
    }
    // Read the client certificates from the first master that lets us (running ones first).
    const order = [...masters].sort(
      (a, b) => Number(b.processState === 'running') - Number(a.processState === 'running'),
    );
    const failures: string[] = [];
    let certs: ClientCertificates | undefined;
    let via: { inst: InstanceInfo; host: RemoteHost } | undefined;
    for (const inst of order) {
      if (!inst.ips.length) {
        failures.push(`${inst.group}/${inst.id}: no VM`);
        continue;
      }
      try {
        const host = await this.ssh(inst);
        certs = await readClientCertificates(host, !this.opts.staticSsh);
        via = { inst, host };
        break;
      } catch (e) {
        failures.push(`${inst.group}/${inst.id}: ${(e as Error).message}`);
        this.log(`etcd: cannot read the client certificates from ${inst.group}/${inst.id}: ${(e as Error).message}`);
      }
    }
    if (!certs || !via) {
      throw new EtcdError(
        'unreachable',
        `Cannot read the etcdctl client certificates (${ETCD_CONFIG_DIR}) from any master of ${this.deployment}. ${failures.join(' | ')}`,
      );
    }
    if (certs.name !== ROOT_CERT) {
      const note =
        `etcd: ${via.inst.group}/${via.inst.id} has no ${ROOT_CERT}.crt in ${ETCD_CONFIG_DIR}; using ${certs.name}.crt. ` +
        'Where etcd authentication is on (TKGI enables it), that certificate is not root: hash checks, snapshots and ' +
        'membership changes through it will be refused. Check the etcd job on that master.';
      this.log(note);
      this.opts.onNote?.(note);
    }
    const endpoints: ClusterEndpointConfig[] = masters
      .filter((m) => m.ips.length)
      .map((m, i) => ({
        name: m.id,
        url: etcdClientUrl(m.index ?? i),
        connectHost: m.ips[0],
        connectPort: ETCD_CLIENT_PORT,
      }));
    // Reach the client ports through the environment's network path if it can; otherwise through
    // the SSH connection of the master we read the certificates from.
    const host = via.host;
    const throughSsh: Dialer = (h, p) => host.openStream(h, p);
    let dial: Dialer = this.envSession.dial;
    const mode = this.opts.etcdTunnel ?? 'auto';
    if (mode === 'ssh') {
      dial = throughSsh;
      this.log(`etcd: tunnelling the client ports through ${host.label}`);
    } else if (mode === 'auto') {
      try {
        const probe = await withTimeout(
          this.envSession.dial(via.inst.ips[0], ETCD_CLIENT_PORT),
          5000,
          () => new Error('timed out'),
        );
        probe.on('error', () => undefined);
        probe.destroy();
      } catch (e) {
        this.log(
          `etcd: ${via.inst.ips[0]}:${ETCD_CLIENT_PORT} is not reachable on the network path (${(e as Error).message}); tunnelling through ${host.label}`,
        );
        dial = throughSsh;
      }
    }
    return openEtcdCluster({
      endpoints,
      dial,
      ca: certs.ca,
      cert: certs.cert,
      key: certs.key,
      callTimeoutMs: this.opts.etcdCallTimeoutMs,
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

export interface EnvDeploymentSession extends DeploymentSession {
  readonly environment: EnvironmentSession;
}

/**
 * For the CLI, tests and benchmarks: the environment the bosh CLI would use (BOSH_ENVIRONMENT,
 * BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT, BOSH_ALL_PROXY / BOSH_GW_*, ~/.bosh/config) and
 * the deployment named by BOSH_DEPLOYMENT (or `deployment`). dispose() also closes the environment.
 */
export function openDeploymentFromEnv(
  processEnv: NodeJS.ProcessEnv = process.env,
  opts: SessionOptions & { deployment?: string; resolve?: ResolveOptions } = {},
): EnvDeploymentSession {
  const env = requireEnvironment({ ...opts.resolve, env: processEnv });
  const name = opts.deployment ?? processEnv.BOSH_DEPLOYMENT;
  if (!name)
    throw new BoshError(
      'config',
      'No deployment: set BOSH_DEPLOYMENT (as for the bosh CLI), e.g. the service-instance_… deployment of the cluster.',
    );
  const environment = openEnvironment(env, opts);
  const d = environment.deployment(name);
  return {
    environment,
    get env() {
      return d.env;
    },
    deployment: d.deployment,
    director: d.director,
    instances: () => d.instances(),
    ssh: (i) => d.ssh(i),
    etcd: () => d.etcd(),
    dispose: async () => {
      await d.dispose();
      await environment.dispose();
    },
  };
}
