// Composition of the three services for one environment / deployment. No `vscode` import here:
// the extension, the headless CLI, the tests and the benchmarks all go through this.
import type { DirectorClient, EnvironmentConfig, InstanceInfo } from '../bosh/types';
import type { RemoteHost } from '../ssh/types';
import type { EtcdCluster } from '../etcd/types';

/** Asked when a host key is not pinned and not in known_hosts; resolve true to trust it. */
export type HostKeyPrompt = (host: string, keyType: string, sha256Fingerprint: string) => Promise<boolean>;

export interface SessionOptions {
  /**
   * Start the temporary users' key pair as each deployment session opens (a CLI run, which always
   * connects to VMs): RSA generation is then done by the first SSH setup. Default: at the first
   * instance list.
   */
  keysAtOpen?: boolean;
  hostKeyPrompt?: HostKeyPrompt;
  /** Static fallback SSH user (`bosh ssh --private-key`): used when set, instead of Director setup. */
  staticSsh?: {
    user: string;
    privateKeyPath?: string;
    privateKey?: string;
    useAgent?: boolean;
    knownHostsPath?: string;
  };
  /** Diagnostic log (never receives secrets). */
  log?: (line: string) => void;
  /**
   * What the operator must be told about how the session reaches etcd (e.g. that it had to use the
   * non-root client certificate): the extension shows it as a warning, the CLI prints it.
   */
  onNote?: (note: string) => void;
  /** known_hosts for the jump host's key (default ~/.ssh/known_hosts). */
  gatewayKnownHostsPath?: string;
  /** Tuning (tests, benchmarks): SSH handshake timeout, keepalive interval, etcd per-call deadline. */
  sshReadyTimeoutMs?: number;
  sshKeepaliveIntervalMs?: number;
  etcdCallTimeoutMs?: number;
  /**
   * How etcd client ports are reached: 'auto' (default) tries the environment's network path and
   * falls back to the SSH connection of the master the certificates came from; 'network' / 'ssh'
   * force one (e.g. when a firewall lets only SSH through to the masters).
   */
  etcdTunnel?: 'auto' | 'network' | 'ssh';
  /**
   * Folder recording the temporary users the Director creates for us (src/session/tempUsers.ts);
   * default ~/.bosh-etcd/temp-users. false: keep no record (nothing left by a killed run is cleaned).
   */
  tempUsersDir?: string | false;
}

export interface DeploymentSession {
  readonly env: EnvironmentConfig;
  readonly deployment: string;
  readonly director: DirectorClient;
  /** Instances with process states (instances?format=full). */
  instances(): Promise<InstanceInfo[]>;
  /**
   * Instances without asking the agents (GET /deployments/<d>/instances): ids, groups, indexes,
   * IPs; no process states (processes empty). For flows that read the state from etcd and the VMs.
   */
  instancesQuick?(): Promise<InstanceInfo[]>;
  /** One reused SSH connection per instance ('group/uuid' or the InstanceInfo). */
  ssh(instance: InstanceInfo | string): Promise<RemoteHost>;
  /** etcd cluster of this deployment's masters, over tunnels, certificates read into memory. Cached. */
  etcd(): Promise<EtcdCluster>;
  /** Closes etcd clients, tunnels, SSH connections, and cleans up Director-provisioned users. */
  dispose(): Promise<void>;
}

export interface EnvironmentSession {
  readonly env: EnvironmentConfig;
  readonly director: DirectorClient;
  deployment(name: string): DeploymentSession;
  dispose(): Promise<void>;
}
