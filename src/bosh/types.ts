// Shapes of the BOSH Director API as the bosh CLI reads them,
// plus the camelCase model the rest of the extension uses. No `vscode` import here.

/** GET /info (no auth). */
export interface DirectorInfo {
  name: string;
  uuid: string;
  version: string;
  user: string | null;
  cpi?: string;
  stemcell_os?: string;
  stemcell_version?: string;
  user_authentication: { type: 'basic' | 'uaa'; options: { url?: string; urls?: string[] } };
  features?: Record<string, { status: boolean; extras?: unknown }>;
}

/** GET /deployments element. */
export interface DeploymentSummary {
  name: string;
  releases: { name: string; version: string }[];
  stemcells: { name: string; version: string }[];
  teams: string[];
  cloud_config?: string;
}

/** One process of an instance as the agent reports it (job_state of the VM is separate). */
export interface InstanceProcess {
  name: string;
  /** 'running' | 'failing' | 'unknown' | 'starting' */
  state: string;
  uptime?: { secs?: number };
  mem?: { kb?: number; percent?: number };
  cpu?: { total?: number };
}

/** One instance, from GET /deployments/<d>/instances?format=full (task result NDJSON line), camelCased. */
export interface InstanceInfo {
  deployment: string;
  /** instance group, e.g. 'master' (job_name). */
  group: string;
  /** instance UUID (id). */
  id: string;
  index: number | null;
  /** agent's aggregate job_state: 'running' | 'failing' | 'starting' | 'unknown' | 'stopped' | 'unresponsive agent' | null (no VM) */
  processState: string | null;
  /** desired state from the Director DB: 'started' | 'stopped' | 'detached' */
  state: string;
  az: string | null;
  ips: string[];
  vmCid: string | null;
  vmType: string | null;
  agentId: string | null;
  bootstrap: boolean;
  ignore: boolean;
  diskCids: string[];
  processes: InstanceProcess[];
  vmCreatedAt: string | null;
  /** VM is the instance's active VM (`vms?format=full` lists inactive ones too); null/absent when unknown. */
  active?: boolean | null;
  /** `<name>/<version>` of the VM's stemcell when the Director reports it. */
  stemcell?: string | null;
  /**
   * (Additive) Whether the instance has a VM, from `state` and `vm_cid`:
   * 'present' — it has one; 'detached' — `bosh stop --hard` deleted it on purpose (state `detached`);
   * 'missing' — state `started`/`stopped` but no VM (`bosh delete-vm`, a failed create, or an errand
   * between runs: `expectsVm` false, or group not a service group, tells an errand apart).
   */
  vmState?: 'present' | 'detached' | 'missing';
  /**
   * (Additive) The Director's `expects_vm` (lifecycle `service` and state `started`/`stopped`): only
   * the fast `GET /deployments/<d>/instances` list has it; undefined from `?format=full`.
   */
  expectsVm?: boolean;
}

/** `group/uuid`, the name the bosh CLI prints. */
export function instanceName(i: Pick<InstanceInfo, 'group' | 'id'>): string {
  return `${i.group}/${i.id}`;
}

/** One host of the result of POST /deployments/<d>/ssh {command:'setup'}. */
export interface SshSetupHost {
  status: string;
  ip: string;
  /** Raw `ssh-rsa AAAA… root@host\n` (OpenSSH public key line) to pin. */
  host_public_key: string;
  id: string;
  index: number;
  job: string;
  gateway_host?: string;
  gateway_user?: string;
}

/** Director task hash (GET /tasks/<id>). */
export interface DirectorTask {
  id: number;
  state: 'queued' | 'processing' | 'cancelling' | 'done' | 'error' | 'cancelled' | 'timeout' | string;
  description: string;
  timestamp: number | null;
  started_at: number | null;
  result: string;
  user: string;
  deployment: string;
  context_id: string;
}

/** How the workstation reaches the Director, the VMs and etcd: directly, or through one SSH jump host. */
export interface GatewayConfig {
  host: string;
  port: number;
  user: string;
  /** Path to a private key file; if absent, the ssh-agent (SSH_AUTH_SOCK) is used. */
  privateKeyPath?: string;
  /** Private key in memory (PEM/OpenSSH) — wins over privateKeyPath. */
  privateKey?: string;
  passphrase?: string;
}

/** Everything needed to talk to one Director, resolved the way the bosh CLI resolves it. */
export interface EnvironmentConfig {
  /** Display name (alias or settings name). */
  name: string;
  /** Director base URL, always https, port defaults to 25555. */
  url: string;
  /** PEM text of the CA that signed the Director (and UAA) certificates; undefined = system roots. */
  caCert?: string;
  client?: string;
  clientSecret?: string;
  accessToken?: string;
  accessTokenType?: string;
  refreshToken?: string;
  gateway?: GatewayConfig;
  /** Where the settings came from, for messages: 'env', 'bosh-config', 'settings', 'testbed'. */
  source: string;
  /**
   * The `~/.bosh/config` entry this environment was read from, so refreshed UAA tokens
   * can be written back the way the bosh CLI does (`saveTokens` in src/bosh/config/boshCliConfig.ts).
   * `url` is the entry's `url` exactly as stored (it may be a bare IP).
   */
  boshConfig?: { path: string; url: string };
}

/** Typed failures of the BOSH layer: `kind` tells the UI what to advise. */
export class BoshError extends Error {
  constructor(
    public readonly kind: 'config' | 'unreachable' | 'tls' | 'auth' | 'not-found' | 'director' | 'task' | 'protocol',
    message: string,
    public readonly status?: number,
    public readonly code?: number,
  ) {
    super(message);
    this.name = 'BoshError';
  }
}

/** Opens a TCP-like stream to host:port — directly, or through the jump host. */
export type Dialer = (host: string, port: number) => Promise<import('stream').Duplex>;

/** The Director API calls the extension makes (src/bosh/director/client.ts implements it). */
export interface DirectorClient {
  readonly env: EnvironmentConfig;
  info(): Promise<DirectorInfo>;
  deployments(): Promise<DeploymentSummary[]>;
  /** GET /deployments/<d>/instances?format=full, following the task; one entry per instance. */
  instances(deployment: string): Promise<InstanceInfo[]>;
  /** GET /deployments/<d>/vms?format=full (one entry per VM). */
  vms(deployment: string): Promise<InstanceInfo[]>;
  /** GET /deployments/<d>/instances (fast, no agent calls): ids, groups, ips, cids. */
  instancesFast(
    deployment: string,
  ): Promise<Pick<InstanceInfo, 'group' | 'id' | 'index' | 'az' | 'ips' | 'vmCid' | 'agentId' | 'expectsVm'>[]>;
  task(id: number): Promise<DirectorTask>;
  /** POST /deployments/<d>/ssh setup; waits for the task; returns the hosts. */
  sshSetup(
    deployment: string,
    target: { group: string; id: string },
    user: string,
    publicKey: string,
  ): Promise<SshSetupHost[]>;
  /** POST /deployments/<d>/ssh cleanup (user_regex ^<user>); waits for the task. */
  sshCleanup(deployment: string, target: { group: string; id: string }, user: string): Promise<void>;
  /**
   * POST /deployments/<d>/ssh cleanup without waiting for the task (as `bosh ssh` does at its end);
   * returns the task's id, so that its outcome can be checked later (src/session/tempUsers.ts).
   */
  sshCleanupRequest?(deployment: string, target: { group: string; id: string }, user: string): Promise<number>;
  /**
   * GET /tasks?verbose=2 (every task type) filtered by state, newest first, at most `limit`: one
   * request for many tasks' states (src/session/tempUserSweep.ts).
   */
  tasks?(query: { states?: string[]; limit: number }): Promise<DirectorTask[]>;
  dispose(): void;
}
