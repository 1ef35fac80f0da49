// The BOSH Director API calls the extension makes (DirectorClient), on top of the transport (one
// network path, TLS against the configured CA), the authenticated requests and task following.
// Plain Node, no `vscode`.
import {
  BoshError,
  DeploymentSummary,
  Dialer,
  DirectorClient,
  DirectorTask,
  EnvironmentConfig,
  InstanceInfo,
  SshSetupHost,
} from '../types';
import { tokenSaverFor } from '../config';
import { parseInstanceInfoLines } from '../vmInfo';
import type { DirectorTokens } from './auth';
import { parseJsonBody } from './errors';
import { toInstanceSummaries } from './instances';
import { createDirectorRequests } from './requests';
import { createTaskFollower } from './tasks';
import { createTransport } from './transport';

export interface DirectorClientOptions {
  /** Opens a stream to host:port (e.g. through the SSH jump host). Default: a direct TCP connection. */
  dial?: Dialer;
  /** Per-request timeout, connect included (default 30 000 ms). */
  timeoutMs?: number;
  /** One line per request (method, path, status, ms). Never contains tokens or secrets. */
  log?: (line: string) => void;
  /** Longest task polling interval (default 500 ms, as the CLI); polling starts at 100 ms and grows by 50 ms up to it. */
  pollIntervalMs?: number;
  /** Give up waiting for a task after this long (default 600 000 ms). */
  taskTimeoutMs?: number;
  /**
   * Called after a refresh-token grant with the new tokens. Default: when the environment came from
   * ~/.bosh/config (env.boshConfig), write them back there as the bosh CLI does. null: keep them in memory only.
   */
  onTokens?: ((t: DirectorTokens) => void) | null;
}

const SSH_USER = /^[a-z_][a-z0-9_-]{0,31}$/i;

function deploymentPath(d: string): string {
  if (typeof d !== 'string' || !d || /[\s/?#]/.test(d))
    throw new BoshError('config', `Invalid deployment name ${JSON.stringify(d)}.`);
  return encodeURIComponent(d);
}

function sshTarget(target: { group: string; id: string }) {
  if (!target.group || !target.id)
    throw new BoshError('config', 'SSH target needs an instance group and an instance id or index.');
  return { job: target.group, indexes: [target.id], ids: [target.id] };
}

export function createDirectorClient(env: EnvironmentConfig, opts: DirectorClientOptions = {}): DirectorClient {
  const pollIntervalMs = opts.pollIntervalMs ?? 500;
  const log = opts.log ?? (() => undefined);
  const transport = createTransport(env, { dial: opts.dial, timeoutMs: opts.timeoutMs ?? 30_000, log });
  const requests = createDirectorRequests(env, transport, {
    retryDelayMs: pollIntervalMs,
    onTokens: opts.onTokens === undefined ? tokenSaverFor(env) : (opts.onTokens ?? undefined),
    log,
  });
  const { call, getFollow, redirectPath } = requests;
  const tasks = createTaskFollower({
    getFollow,
    pollIntervalMs,
    taskTimeoutMs: opts.taskTimeoutMs ?? 600_000,
    signal: transport.signal,
  });

  /** A request the Director answers with a redirect to a task: waits for the task, returns its result. */
  async function viaTask(method: 'GET' | 'POST', path: string, what: string, json?: unknown): Promise<string> {
    const r = await call(method, path, json === undefined ? undefined : { json });
    const next = redirectPath(r, method, path);
    if (next === undefined) {
      throw new BoshError(
        'protocol',
        `${what}: expected the Director to answer ${method} ${path} with a redirect to a task, got status ${r.status}.`,
        r.status,
      );
    }
    return (await tasks.followTask(next, what)).result;
  }

  /** POST /deployments/<d>/ssh cleanup; returns the path of the task the Director started. */
  async function cleanupTaskPath(deployment: string, target: { group: string; id: string }, user: string) {
    if (!SSH_USER.test(user)) throw new BoshError('config', `Invalid SSH user name ${JSON.stringify(user)}.`);
    const path = `/deployments/${deploymentPath(deployment)}/ssh`;
    const r = await call('POST', path, {
      json: {
        command: 'cleanup',
        deployment_name: deployment,
        target: sshTarget(target),
        params: { user_regex: `^${user}` },
      },
    });
    const next = redirectPath(r, 'POST', path);
    if (next === undefined)
      throw new BoshError(
        'protocol',
        `Cleaning up SSH user '${user}' in deployment '${deployment}': expected a redirect to a task, got status ${r.status}.`,
        r.status,
      );
    return next;
  }

  return {
    env,
    info: () => requests.getInfo(),

    async deployments(): Promise<DeploymentSummary[]> {
      const { resp } = await getFollow('/deployments?exclude_configs=true');
      const list = parseJsonBody<DeploymentSummary[]>(resp, 'GET /deployments');
      if (!Array.isArray(list))
        throw new BoshError('protocol', `GET /deployments on ${env.url} did not return a list.`);
      return list.map((d) => ({
        name: d.name,
        releases: Array.isArray(d.releases) ? d.releases : [],
        stemcells: Array.isArray(d.stemcells) ? d.stemcells : [],
        teams: Array.isArray(d.teams) ? d.teams : [],
        ...(d.cloud_config !== undefined ? { cloud_config: d.cloud_config } : {}),
      }));
    },

    async instances(deployment: string): Promise<InstanceInfo[]> {
      const text = await viaTask(
        'GET',
        `/deployments/${deploymentPath(deployment)}/instances?format=full`,
        `Listing deployment '${deployment}' instances infos`,
      );
      return parseInstanceInfoLines(text, deployment);
    },

    async vms(deployment: string): Promise<InstanceInfo[]> {
      const text = await viaTask(
        'GET',
        `/deployments/${deploymentPath(deployment)}/vms?format=full`,
        `Listing deployment '${deployment}' vms infos`,
      );
      return parseInstanceInfoLines(text, deployment);
    },

    async instancesFast(deployment: string) {
      const { resp } = await getFollow(`/deployments/${deploymentPath(deployment)}/instances`);
      const list = parseJsonBody<Record<string, unknown>[]>(resp, `GET /deployments/${deployment}/instances`);
      if (!Array.isArray(list))
        throw new BoshError('protocol', `GET /deployments/${deployment}/instances did not return a list.`);
      return toInstanceSummaries(list);
    },

    task: (id: number) => tasks.getTask(id),

    async sshSetup(deployment, target, user, publicKey): Promise<SshSetupHost[]> {
      if (!SSH_USER.test(user)) throw new BoshError('config', `Invalid SSH user name ${JSON.stringify(user)}.`);
      const what = `Setting up SSH in deployment '${deployment}' for ${target.group}/${target.id}`;
      const text = await viaTask('POST', `/deployments/${deploymentPath(deployment)}/ssh`, what, {
        command: 'setup',
        deployment_name: deployment,
        target: sshTarget(target),
        params: { user, public_key: publicKey },
      });
      const line = text.split('\n').find((l) => l.trim() !== '');
      if (!line)
        throw new BoshError(
          'director',
          `${what}: the Director returned no SSH session. Check that the instance has a VM.`,
        );
      let hosts: SshSetupHost[];
      try {
        hosts = JSON.parse(line) as SshSetupHost[];
      } catch {
        throw new BoshError('protocol', `${what}: unreadable task result '${line.slice(0, 200)}'`);
      }
      if (!Array.isArray(hosts) || hosts.length === 0) {
        throw new BoshError(
          'director',
          `${what}: did not create any SSH sessions. Check that the instance exists and has a VM (bosh instances).`,
        );
      }
      const bad = hosts.find((h) => h.status !== 'success');
      if (bad)
        throw new BoshError(
          'director',
          `${what}: failed to set up SSH session for ${bad.job ?? target.group}/${bad.id ?? bad.index} (status '${bad.status}').`,
        );
      return hosts;
    },

    async sshCleanup(deployment, target, user): Promise<void> {
      await tasks.followTask(
        await cleanupTaskPath(deployment, target, user),
        `Cleaning up SSH user '${user}' in deployment '${deployment}'`,
      );
    },

    async sshCleanupRequest(deployment, target, user): Promise<number> {
      const next = await cleanupTaskPath(deployment, target, user);
      const id = Number(/^\/tasks\/(\d+)/.exec(next)?.[1]);
      if (!(id > 0))
        throw new BoshError(
          'protocol',
          `Cleaning up SSH user '${user}': the Director redirected to '${next}', not to a task.`,
        );
      return id;
    },

    async tasks(query: { states?: string[]; limit: number }): Promise<DirectorTask[]> {
      const states = (query.states ?? []).filter((st) => /^[a-z]+$/.test(st));
      const limit = Math.max(1, Math.floor(query.limit));
      const { resp } = await getFollow(
        `/tasks?verbose=2&limit=${limit}${states.length ? `&state=${states.join(',')}` : ''}`,
      );
      const list = parseJsonBody<DirectorTask[]>(resp, 'GET /tasks');
      if (!Array.isArray(list)) throw new BoshError('protocol', `GET /tasks on ${env.url} did not return a list.`);
      return list;
    },

    dispose(): void {
      transport.dispose();
    },
  };
}
