// Composition of the Director client, the network path (direct or jump host), SSH to instances and
// etcd for one environment / deployment. Lazy: nothing touches the network until it is used.
// Everything opened here is closed by dispose(), including the Director's cleanup of temporary SSH
// users. Plain Node, no `vscode`: the extension, the CLI, the tests and the benchmarks use it.
// The parts: a deployment's session (deploymentSession.ts), its etcd connection (etcdEndpoints.ts)
// and client certificates (etcdCertificates.ts).
import type { Duplex } from 'stream';
import { BoshError, type Dialer, type DirectorClient, type EnvironmentConfig } from '../bosh/types';
import { createDirectorClient } from '../bosh/director';
import { requireEnvironment, type ResolveOptions } from '../bosh/config';
import { createGatewayDialer, type GatewayDialer } from '../ssh/gateway';
import { SshError } from '../ssh/types';
import { DeploySession, type EnvironmentContext } from './deploymentSession';
import { defaultTempUsersDir, TempUserRegistry } from './tempUsers';
import type { DeploymentSession, EnvironmentSession, SessionOptions } from './types';

export function openEnvironment(env: EnvironmentConfig, opts: SessionOptions = {}): EnvironmentSession {
  return new EnvSession(env, opts);
}

class EnvSession implements EnvironmentSession, EnvironmentContext {
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

  forget(d: DeploymentSession) {
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
  const environment = openEnvironment(env, { keysAtOpen: true, ...opts });
  const d = environment.deployment(name);
  return {
    environment,
    get env() {
      return d.env;
    },
    deployment: d.deployment,
    director: d.director,
    instances: () => d.instances(),
    instancesQuick: () => (d.instancesQuick ? d.instancesQuick() : d.instances()),
    ssh: (i) => d.ssh(i),
    etcd: () => d.etcd(),
    dispose: async () => {
      await d.dispose();
      await environment.dispose();
    },
  };
}
