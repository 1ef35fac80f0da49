// BOSH Director STAND-IN for the testbed. A real BOSH Director cannot run on this machine, so this
// HTTPS server answers the Director API calls the extension (and the bosh CLI) make, with the real
// API's paths, JSON shapes, status codes, redirects, task flow and UAA auth (director/README.md
// lists what it serves). It is NOT a Director:
//   - one deployment, built from the testbed state (model.ts), plus optional synthetic seeded ones
//     for scale benchmarks (opts.seed, default off: no VMs, fixed `running` state, no ssh);
//   - instance health comes LIVE from each VM's real monit (agent-state.ts), not from an agent;
//   - `ssh` setup/cleanup really creates/removes a temporary user and its key on the VM (ssh-users.ts);
//   - instance states set by BOSH commands (stop, stop --hard, delete-vm, ignore) come from the
//     harness through instance-states.ts;
//   - a UAA-like token endpoint listens on its own port (8443, root path) like a Director's UAA (uaa.ts).
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import type { TestbedState, TestbedVm } from '../harness/state';
import { agentState, readMonit } from './agent-state';
import { readInstanceStates } from './instance-states';
import { DeploymentModel, InstanceModel, InstanceView, instanceView, stableUuid, STEMCELL } from './model';
import { ensureDirectorPki } from './pki';
import { SshUserManager, validatePublicKey, validateUser } from './ssh-users';
import { Task, TaskStore } from './tasks';
import { TokenClaims, TokenService, UaaError } from './uaa';

export interface StartDirectorOptions {
  state: Omit<TestbedState, 'director'>;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Working folder: pki/, director-requests.log, ssh-users.json. */
  dir: string;
  /** UAA client with bosh.admin (default `ops_manager`). */
  client?: string;
  /** Default: random 32 hex chars. */
  clientSecret?: string;
  /** UAA users for the password grant through client `bosh_cli` (secret ''), like `bosh log-in`. Default: none. */
  users?: { name: string; password: string }[];
  /** Access token lifetime of client-credentials grants (default 600 s; UAA gives these no refresh token). */
  tokenTtlSeconds?: number;
  /** Access token lifetime of `bosh_cli` password and refresh grants (default 120 s, as a Director's UAA). */
  userTokenTtlSeconds?: number;
  /** Refresh token lifetime of `bosh_cli` (default 86400 s). */
  refreshTokenTtlSeconds?: number;
  /**
   * UAA's own HTTPS port on `host`, root path (`/oauth/token`), like a Director's UAA. Default 8443,
   * or any free port when 8443 is taken (several stand-ins on one address); 0 = any free port.
   */
  uaaPort?: number;
  /** Group that gives NOPASSWD sudo to temporary SSH users (default `bosh_sudoers`). */
  sudoGroup?: string;
  /** How long to wait for a VM's monit before reporting `unresponsive agent` (default 2000 ms). */
  agentTimeoutMs?: number;
  /** GET /tasks/<id> polls that see `queued`/`processing` before the real state (default 2). */
  taskPollsBeforeDone?: number;
  /**
   * Default off. Adds `deployments` SYNTHETIC deployments (`service-instance_<uuid>`, deterministic) of
   * `instancesPerDeployment` VM instances each (up to 3 `master`, the rest `worker`), plus the errand
   * `apply-addons` like the real one, for scale benchmarks. They are served by the same routes and
   * JSON shapes as the real deployment, but their instances have no VM folder: no monit is asked,
   * every line reports a fixed `job_state: 'running'` with two running processes, and ssh
   * setup/cleanup on them ends the task in error (RpcTimeout 450002). IPs are 10.0.x.y.
   */
  seed?: { deployments: number; instancesPerDeployment: number };
}

export interface RunningDirector {
  url: string;
  caCertPath: string;
  caCert: string;
  uaaUrl: string;
  client: string;
  clientSecret: string;
  /** Users created by ssh setup and not yet cleaned up. */
  sshUsers(): string[];
  close(): Promise<void>;
}

/** An error the Director reports as {"code","description"} with an HTTP status (DIR errors.rb). */
export class DirectorError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: number,
    description: string,
  ) {
    super(description);
  }
}

class HttpText extends Error {
  constructor(
    public readonly status: number,
    public readonly text: string,
    public readonly headers: Record<string, string> = {},
  ) {
    super(text);
  }
}

const MAX_BODY = 1024 * 1024;
const TASK_OUTPUT_TYPES = new Set(['debug', 'event', 'result', 'cpi', 'none']);

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  path: string;
  method: string;
  claims?: TokenClaims;
  contextId: string;
  /** A request to the UAA listener. */
  uaa?: boolean;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new DirectorError(400, 40000, `Request body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Redacts values of secret-looking query parameters for the request log. */
function loggablePath(url: URL): string {
  const q = new URLSearchParams(url.search);
  for (const k of [...q.keys()]) if (/token|secret|password|key|code/i.test(k)) q.set(k, '[removed]');
  const s = q.toString();
  return url.pathname + (s ? `?${s}` : '');
}

/** Fixed agent state of a synthetic (seeded) instance: running, with two running processes. */
const SYNTHETIC_AGENT = {
  job_state: 'running',
  vitals: {
    cpu: { sys: '0.5', user: '1.2', wait: '0.1' },
    disk: { system: { percent: '31', inode_percent: '12' }, ephemeral: { percent: '31', inode_percent: '12' } },
    load: ['0.10', '0.08', '0.05'],
    mem: { kb: '1048576', percent: '13' },
    swap: { kb: '0', percent: '0' },
    uptime: { secs: 86400 },
  },
  processes: [
    {
      name: 'bosh-dns',
      state: 'running',
      uptime: { secs: 86400 },
      mem: { kb: 20480, percent: 0.3 },
      cpu: { total: 0.1 },
    },
    { name: 'bpm', state: 'running', uptime: { secs: 86400 }, mem: { kb: 10240, percent: 0.1 }, cpu: { total: 0 } },
  ],
};

/** The seeded deployments (see StartDirectorOptions.seed); their VMs have dir '' and nsPid 0 and must never be touched. */
function syntheticModels(
  state: Omit<TestbedState, 'director'>,
  seed: { deployments: number; instancesPerDeployment: number },
): DeploymentModel[] {
  const { deployments: nd, instancesPerDeployment: ni } = seed;
  if (!Number.isInteger(nd) || !Number.isInteger(ni) || nd < 0 || ni < 1 || nd * ni > 60000) {
    throw new Error(
      `seed: deployments (${nd}) and instancesPerDeployment (${ni}) must be integers, deployments ≥ 0, instancesPerDeployment ≥ 1, at most 60000 instances`,
    );
  }
  const models: DeploymentModel[] = [];
  let g = 0;
  for (let d = 0; d < nd; d++) {
    const name = `service-instance_${stableUuid(`synthetic-deployment:${d}`)}`;
    const masterCount = Math.min(3, ni);
    const vms: TestbedVm[] = [];
    for (let j = 0; j < ni; j++) {
      const group = j < masterCount ? 'master' : 'worker';
      const index = group === 'master' ? j : j - masterCount;
      const key = `${name}:${group}:${index}`;
      vms.push({
        group,
        id: stableUuid(`instance:${key}`),
        index,
        az: `az${(index % 3) + 1}`,
        ip: `10.0.${Math.floor(g / 250)}.${(g % 250) + 2}`,
        bootstrap: index === 0,
        vmCid: `vm-${stableUuid(`vm:${key}`)}`,
        vmType: group === 'master' ? 'medium.disk' : 'large.disk',
        agentId: stableUuid(`agent:${key}`),
        dir: '',
        nsPid: 0,
      });
      g++;
    }
    models.push(new DeploymentModel({ ...state, deployment: name, vms }));
  }
  return models;
}

/** Parses `Range: bytes=…` against a body of `size` bytes (Rack::Utils.byte_ranges semantics). */
export function parseRange(
  header: string | undefined,
  size: number,
): { kind: 'none' } | { kind: 'unsatisfiable' } | { kind: 'range'; start: number; end: number } {
  if (!header) return { kind: 'none' };
  const m = /^bytes=(.+)$/.exec(header.trim());
  if (!m) return { kind: 'none' };
  const specs = m[1].split(',').map((s) => s.trim());
  if (specs.length !== 1) return { kind: 'none' }; // several ranges: whole body, 200
  const r = /^(\d*)-(\d*)$/.exec(specs[0]);
  if (!r || (r[1] === '' && r[2] === '')) return { kind: 'none' };
  let start: number;
  let end: number;
  if (r[1] === '') {
    const suffix = Number(r[2]);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(r[1]);
    end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
    if (r[2] !== '' && Number(r[2]) < start) return { kind: 'none' };
  }
  if (start >= size || size === 0) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end };
}

export async function startDirector(opts: StartDirectorOptions): Promise<RunningDirector> {
  fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const pki = await ensureDirectorPki(opts.dir, opts.host);
  const client = opts.client ?? 'ops_manager';
  const clientSecret = opts.clientSecret ?? crypto.randomBytes(16).toString('hex');
  const directorUuid = crypto.randomUUID();
  const model = new DeploymentModel(opts.state);
  // All deployments, the real one first; seeded ones (default: none) are synthetic.
  const synthetic = opts.seed ? syntheticModels(opts.state, opts.seed) : [];
  const syntheticNames = new Set(synthetic.map((m) => m.name));
  const models = new Map<string, DeploymentModel>([[model.name, model]]);
  for (const m of synthetic) if (!models.has(m.name)) models.set(m.name, m);
  const syntheticInstances = new WeakSet<InstanceModel>(synthetic.flatMap((m) => m.instances));
  const tasks = new TaskStore(opts.taskPollsBeforeDone ?? 2);
  const users = new SshUserManager(opts.dir, opts.sudoGroup ?? 'bosh_sudoers');
  const agentTimeoutMs = opts.agentTimeoutMs ?? 2000;
  const aliasDir = path.join(opts.dir, 'sock');
  const requestLog = fs.createWriteStream(path.join(opts.dir, 'director-requests.log'), { flags: 'a', mode: 0o600 });
  requestLog.on('error', () => undefined);

  let baseUrl = '';
  let uaaUrl = '';
  let tokens: TokenService;

  const server = https.createServer({ key: pki.key, cert: pki.cert, minVersion: 'TLSv1.2' });

  // ---------- response helpers ----------
  const send = (
    ctx: Ctx,
    status: number,
    body: string | Buffer,
    type: string,
    headers: Record<string, string> = {},
  ) => {
    const h: Record<string, string | number> = {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      ...headers,
    };
    if (!ctx.uaa && ctx.path !== '/info') h['WWW-Authenticate'] = 'Basic realm="BOSH Director"';
    ctx.res.writeHead(status, h);
    ctx.res.end(body);
  };
  const json = (ctx: Ctx, status: number, body: unknown) => send(ctx, status, JSON.stringify(body), 'application/json');
  const notFound = (ctx: Ctx) => {
    throw new HttpText(404, `Endpoint '${ctx.path}' not found.`);
  };
  const redirectToTask = (ctx: Ctx, task: Task) => {
    // Sinatra `redirect "/tasks/<id>"` behind nginx: 302 with an absolute Location built from Host.
    const hostHeader =
      ctx.req.headers.host && /^[A-Za-z0-9.\-:[\]]+$/.test(ctx.req.headers.host)
        ? ctx.req.headers.host
        : new URL(baseUrl).host;
    ctx.res.writeHead(302, {
      Location: `https://${hostHeader}/tasks/${task.id}`,
      'Content-Length': 0,
      'WWW-Authenticate': 'Basic realm="BOSH Director"',
    });
    ctx.res.end();
  };

  const userOf = (c?: TokenClaims) => (c ? (c.user_name ?? c.client_id) : null);

  const claimsFrom = (req: http.IncomingMessage): TokenClaims | undefined => {
    const m = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return m ? tokens.verify(m[1], 'access') : undefined;
  };

  const requireAuth = (ctx: Ctx) => {
    const claims = claimsFrom(ctx.req);
    if (!claims) throw new HttpText(401, `Not authorized: '${ctx.path}'\n`);
    const scopes = new Set(claims.scope);
    const admin = scopes.has('bosh.admin') || scopes.has(`bosh.${directorUuid}.admin`);
    const read = admin || scopes.has('bosh.read') || scopes.has(`bosh.${directorUuid}.read`);
    if (!admin && !(read && ctx.method === 'GET')) {
      throw new DirectorError(
        401,
        600000,
        `Require one of the scopes: bosh.admin, bosh.${directorUuid}.admin${ctx.method === 'GET' ? `, bosh.read, bosh.${directorUuid}.read` : ''}`,
      );
    }
    ctx.claims = claims;
  };

  const deploymentOr404 = (name: string): DeploymentModel => {
    const m = models.get(name);
    if (!m) throw new DirectorError(404, 70000, `Deployment '${name}' doesn't exist`);
    return m;
  };

  // ---------- Director API ----------
  const info = (ctx: Ctx) =>
    json(ctx, 200, {
      name: 'p-bosh',
      uuid: directorUuid,
      version: '282.1.2 (00000000)',
      user: userOf(claimsFrom(ctx.req)),
      cpi: 'vsphere_cpi',
      stemcell_os: STEMCELL.os,
      stemcell_version: STEMCELL.version,
      user_authentication: { type: 'uaa', options: { url: uaaUrl, urls: [uaaUrl] } },
      features: {
        local_dns: { status: true, extras: { domain_name: 'bosh' } },
        snapshots: { status: false },
        config_server: { status: true, extras: { urls: [`${baseUrl.replace(/:\d+$/, '')}:8844/api/`] } },
      },
    });

  /** The instances of a deployment as the Director shows them now (the harness's instance states applied). */
  const viewsOf = (m: DeploymentModel): InstanceView[] => {
    const overrides = syntheticNames.has(m.name) ? {} : readInstanceStates(opts.dir);
    return m.instances.map((i) => instanceView(i, overrides[i.id]));
  };
  const withVm = (m: DeploymentModel) => viewsOf(m).filter((v) => v.vm);

  // DeploymentsController#create_instances_response_with_vm_expected: no VM → no agent, cid, IPs.
  const fastInstance = (v: InstanceView) => ({
    agent_id: v.agentId,
    cid: v.vmCid,
    job: v.model.group,
    index: v.model.index,
    id: v.model.id,
    az: v.model.az,
    ips: v.ips,
    vm_created_at: v.vmCreatedAt,
    expects_vm: v.expectsVm,
  });
  const fastVm = (v: InstanceView) => ({
    agent_id: v.agentId,
    cid: v.vmCid,
    job: v.model.group,
    index: v.model.index,
    id: v.model.id,
    az: v.model.az,
    ips: v.ips,
    vm_created_at: v.vmCreatedAt,
    active: true,
    permanent_nats_credentials: false,
  });

  /** One vm_state.rb result line (keys in the current Director's order); no VM → no agent state. */
  const vmStateLine = async (v: InstanceView) => {
    const i = v.model;
    const agent = !v.vm
      ? { job_state: null, vitals: null, processes: [] }
      : syntheticInstances.has(i)
        ? structuredClone(SYNTHETIC_AGENT)
        : await agentState(v.vm.dir, agentTimeoutMs, aliasDir);
    return {
      vm_cid: v.vmCid,
      active: v.vm ? true : null,
      vm_created_at: v.vmCreatedAt,
      cloud_properties: i.cloudProperties,
      disk_cid: i.diskCid,
      disk_cids: i.diskCid ? [i.diskCid] : [],
      ips: v.ips,
      agent_id: v.agentId,
      job_name: i.group,
      index: i.index,
      job_state: agent.job_state,
      state: v.state,
      vm_type: i.vmType,
      vitals: agent.vitals,
      processes: agent.processes,
      az: i.az,
      id: i.id,
      bootstrap: i.bootstrap,
      ignore: v.ignore,
      stemcell: { name: STEMCELL.name, version: STEMCELL.version, api_version: STEMCELL.api_version },
    };
  };

  const newTask = (ctx: Ctx, type: string, description: string, deployment: string, work: (t: Task) => Promise<void>) =>
    tasks.create(
      { type, description, deployment, user: userOf(ctx.claims) ?? 'admin', contextId: ctx.contextId },
      work,
    );

  const vmStateTask = (ctx: Ctx, m: DeploymentModel, instances: InstanceView[]) => {
    const task = newTask(ctx, 'vms', 'retrieve vm-stats', m.name, async (t) => {
      // Like the Director's thread pool: lines are written as each VM answers (order not guaranteed).
      await Promise.all(
        instances.map(async (i) => {
          const line = JSON.stringify(await vmStateLine(i)) + '\n';
          t.resultOutput += line;
        }),
      );
    });
    redirectToTask(ctx, task);
  };

  /** Jobs::Ssh::Target#id_filter: ids all digits → index, else uuid; empty ids → indexes; job filter; VMs only. */
  const matchTargets = (
    m: DeploymentModel,
    target: { job?: unknown; ids?: unknown; indexes?: unknown },
  ): InstanceView[] => {
    const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => String(x)) : []);
    const ids = asList(target.ids);
    const indexes = asList(target.indexes);
    const job = typeof target.job === 'string' && target.job !== '' ? target.job : undefined;
    return withVm(m).filter(({ model: i }) => {
      if (job && i.group !== job) return false;
      if (ids.length) return ids.some((id) => (/^\d+$/.test(id) ? Number(id) === i.index : id === i.id));
      if (indexes.length) return indexes.some((x) => /^\d+$/.test(x) && Number(x) === i.index);
      return true;
    });
  };

  const hostPublicKey = (vm: TestbedVm): string => {
    const f = path.join(vm.dir, 'ssh', 'ssh_host_rsa_key.pub');
    let k: string;
    try {
      k = fs.readFileSync(f, 'utf8');
    } catch {
      throw new DirectorError(400, 450001, `Agent on '${vm.group}/${vm.id}' could not read its host public key (${f})`);
    }
    return k.endsWith('\n') ? k : `${k}\n`;
  };

  const ssh = async (ctx: Ctx, deployment: string) => {
    const m = deploymentOr404(deployment);
    const ct = String(ctx.req.headers['content-type'] ?? '');
    if (!/^application\/json\b/i.test(ct)) notFound(ctx); // route declares `consumes: [:json]`
    let body: unknown;
    try {
      body = JSON.parse((await readBody(ctx.req)).toString('utf8'));
    } catch (e) {
      if (e instanceof DirectorError) throw e;
      throw new DirectorError(400, 40000, 'Request body is not valid JSON');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new DirectorError(400, 40000, 'Request body must be a JSON object');
    const b = body as { command?: unknown; target?: unknown; params?: unknown };
    const command = b.command;
    if (command !== 'setup' && command !== 'cleanup')
      throw new DirectorError(
        400,
        40000,
        `Unknown ssh command '${String(command).slice(0, 40)}': expected 'setup' or 'cleanup'`,
      );
    const target = (b.target && typeof b.target === 'object' ? b.target : {}) as {
      job?: unknown;
      ids?: unknown;
      indexes?: unknown;
    };
    const params = (b.params && typeof b.params === 'object' ? b.params : {}) as Record<string, unknown>;
    const desc = `ssh: ${command}:${JSON.stringify({ ids: target.ids ?? [], indexes: target.indexes ?? [], job: target.job ?? null })}`;
    const task = newTask(ctx, 'ssh', desc, deployment, async (t) => {
      // The targets as they are now: the VM, agent and IPs of the instance's active VM.
      const targets = matchTargets(m, target).map((v) => ({ ...v.model, vm: v.vm, agentId: v.agentId, ips: v.ips }));
      if (!targets.length) {
        throw Object.assign(
          new Error(
            `No instance with a VM in deployment '${deployment}' matched filter ${JSON.stringify({ job: target.job ?? null, ids: target.ids ?? [], indexes: target.indexes ?? [] })}`,
          ),
          { code: 70001 },
        );
      }
      if (syntheticNames.has(deployment)) {
        // Seeded instances have no VM (and no agent): never touch the host; fail as an agent timeout.
        if (command === 'setup') {
          validateUser(params.user);
          validatePublicKey(params.public_key);
        }
        const i = targets[0];
        throw Object.assign(
          new Error(
            `Timed out sending 'ssh' to instance: '${i.group}/${i.id}', agent-id: '${i.agentId}' after 45 seconds`,
          ),
          { code: 450002 },
        );
      }
      if (command === 'setup') {
        const user = validateUser(params.user);
        const key = validatePublicKey(params.public_key);
        // The agent must answer (a VM that is down cannot create users): RpcTimeout like the Director.
        // (Cleanup does not check: the key files are on this host, and removing them is always safe.)
        await Promise.all(
          targets.map(async (i) => {
            try {
              await readMonit(i.vm!.dir, agentTimeoutMs, aliasDir);
            } catch {
              throw Object.assign(
                new Error(
                  `Timed out sending 'ssh' to instance: '${i.group}/${i.id}', agent-id: '${i.agentId}' after 45 seconds`,
                ),
                { code: 450002 },
              );
            }
          }),
        );
        const keys = targets.map((i) => hostPublicKey(i.vm!));
        await users.setup(
          user,
          key,
          targets.map((i) => i.vm!.dir),
        );
        const result = targets.map((i, n) => ({
          command: 'setup',
          status: 'success',
          ip: i.ips[0],
          host_public_key: keys[n],
          id: i.id,
          index: i.index,
          job: i.group,
        }));
        t.resultOutput = JSON.stringify(result) + '\n';
      } else {
        const src = params.user_regex;
        if (typeof src !== 'string' || src.length === 0 || src.length > 256)
          throw new Error('params.user_regex must be a non-empty string of at most 256 characters');
        let re: RegExp;
        try {
          re = new RegExp(src);
        } catch {
          throw new Error(`params.user_regex is not a valid regular expression: ${src}`);
        }
        await users.cleanup(
          re,
          targets.map((i) => i.vm!.dir),
        );
        const result = targets.map((i) => ({
          command: 'cleanup',
          status: 'success',
          ip: i.ips[0],
          id: i.id,
          index: i.index,
          job: i.group,
        }));
        t.resultOutput = JSON.stringify(result) + '\n';
      }
    });
    redirectToTask(ctx, task);
  };

  const taskOutput = (ctx: Ctx, task: Task) => {
    const type = ctx.url.searchParams.get('type') ?? 'debug';
    if (!TASK_OUTPUT_TYPES.has(type))
      throw new DirectorError(400, 40000, `Invalid task output type '${type.slice(0, 20)}'`);
    if (type === 'none') return send(ctx, 204, '', 'text/plain');
    const text =
      type === 'event'
        ? task.eventOutput
        : type === 'result'
          ? task.resultOutput
          : type === 'debug'
            ? `I, stand-in Director: task ${task.id} '${task.description}' ${task.state}\n`
            : '';
    const buf = Buffer.from(text, 'utf8');
    if (buf.length === 0) return send(ctx, 204, '', 'text/plain');
    const range = parseRange(ctx.req.headers.range, buf.length);
    if (range.kind === 'unsatisfiable')
      return send(ctx, 416, '', 'text/plain', { 'Content-Range': `bytes */${buf.length}` });
    if (range.kind === 'range') {
      return send(ctx, 206, buf.subarray(range.start, range.end + 1), 'text/plain', {
        'Content-Range': `bytes ${range.start}-${range.end}/${buf.length}`,
      });
    }
    return send(ctx, 200, buf, 'text/plain');
  };

  const taskById = (idText: string): Task => {
    const id = /^\d{1,15}$/.test(idText) ? Number(idText) : NaN;
    const task = Number.isFinite(id) ? tasks.get(id) : undefined;
    if (!task) throw new DirectorError(404, 10000, `Task ${idText.slice(0, 40)} not found`);
    return task;
  };

  /** The Director's UAA, on its own listener with root paths (https://<director>:8443/oauth/token). */
  const uaaRoute = async (ctx: Ctx) => {
    const { method, path: p } = ctx;
    if (method === 'POST' && p === '/oauth/token') {
      const ct = String(ctx.req.headers['content-type'] ?? '');
      const body = (await readBody(ctx.req)).toString('utf8');
      if (!/^application\/x-www-form-urlencoded\b/i.test(ct))
        throw new UaaError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
      return json(ctx, 200, tokens.token(ctx.req.headers.authorization, new URLSearchParams(body)));
    }
    if (method === 'GET' && p === '/login') {
      return json(ctx, 200, {
        app: { version: '77.9.0' },
        commit_id: 'stand-in',
        prompts: { username: ['text', 'Email'], password: ['password', 'Password'] },
        zone_name: 'uaa',
      });
    }
    if (method === 'GET' && p === '/info')
      return json(ctx, 200, {
        app: { version: '77.9.0' },
        zone_name: 'uaa',
        prompts: { username: ['text', 'Email'], password: ['password', 'Password'] },
      });
    throw new UaaError(404, 'not_found', `No UAA endpoint ${p}`);
  };

  const route = async (ctx: Ctx) => {
    const { method, path: p } = ctx;
    const parts = p.split('/').slice(1);
    const q = ctx.url.searchParams;

    if (method === 'GET' && p === '/info') return info(ctx);

    // Everything else is an authenticated controller (unknown routes are still 404 first, like Sinatra).
    const known =
      (parts[0] === 'deployments' && parts.length <= 3) ||
      (parts[0] === 'tasks' && parts.length <= 3) ||
      (parts[0] === 'task' && parts.length === 2);
    if (!known) notFound(ctx);
    requireAuth(ctx);

    if (parts[0] === 'deployments') {
      if (parts.length === 1 && method === 'GET') {
        const t = (k: string) => q.get(k) === 'true';
        return json(
          ctx,
          200,
          [...models.values()]
            .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
            .map((m) =>
              m.summary(t('exclude_configs'), t('exclude_releases'), t('exclude_stemcells'), t('exclude_lock')),
            ),
        );
      }
      let d: string;
      try {
        d = decodeURIComponent(parts[1] ?? '');
      } catch {
        throw new DirectorError(404, 70000, `Deployment '${(parts[1] ?? '').slice(0, 100)}' doesn't exist`);
      }
      if (parts.length === 2 && method === 'GET') return json(ctx, 200, { manifest: deploymentOr404(d).manifest() });
      if (parts.length === 3 && parts[2] === 'instances' && method === 'GET') {
        const m = deploymentOr404(d);
        if (q.get('format') === 'full') return vmStateTask(ctx, m, viewsOf(m));
        return json(ctx, 200, viewsOf(m).map(fastInstance));
      }
      if (parts.length === 3 && parts[2] === 'vms' && method === 'GET') {
        const m = deploymentOr404(d);
        if (q.get('format') === 'full') return vmStateTask(ctx, m, withVm(m));
        return json(ctx, 200, withVm(m).map(fastVm));
      }
      if (parts.length === 3 && parts[2] === 'ssh' && method === 'POST') return ssh(ctx, d);
      return notFound(ctx);
    }

    if (parts[0] === 'tasks') {
      if (parts.length === 1 && method === 'GET') {
        const verbose = Number(q.get('verbose') ?? '1');
        const limitText = q.get('limit');
        const limit = limitText !== null && /^\d+$/.test(limitText) ? Number(limitText) : undefined;
        const states = q.get('state')?.split(',').filter(Boolean);
        const list = tasks.list({
          states,
          deployment: q.get('deployment') ?? undefined,
          verbose: isNaN(verbose) ? 1 : verbose,
          limit,
          contextId: q.get('context_id') ?? undefined,
        });
        return json(
          ctx,
          200,
          list.map((t) => tasks.toHash(t, false)),
        );
      }
      if (parts.length === 2 && method === 'GET') return json(ctx, 200, tasks.toHash(taskById(parts[1]), true));
      if (parts.length === 3 && parts[2] === 'output' && method === 'GET') return taskOutput(ctx, taskById(parts[1]));
      return notFound(ctx);
    }

    if (parts[0] === 'task' && method === 'DELETE') {
      const task = taskById(parts[1]);
      const r = tasks.cancel(task);
      if (!r.ok) throw new HttpText(400, r.message);
      return send(ctx, 204, '', 'text/plain');
    }
    return notFound(ctx);
  };

  const handler = (uaa: boolean) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = Date.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'https://director.invalid');
    } catch {
      url = new URL('https://director.invalid/');
    }
    const ctx: Ctx = {
      req,
      res,
      url,
      path: url.pathname,
      method: req.method ?? 'GET',
      contextId: String(req.headers['x-bosh-context-id'] ?? ''),
      uaa,
    };
    res.on('finish', () => {
      requestLog.write(
        `${new Date().toISOString()} ${uaa ? 'UAA ' : ''}${ctx.method} ${loggablePath(url)} ${res.statusCode} ${Date.now() - started}ms\n`,
      );
    });
    (async () => {
      if (uaa) return uaaRoute(ctx);
      if (ctx.contextId.length > 64)
        throw new DirectorError(400, 70010, 'X-Bosh-Context-Id cannot be more than 64 characters in length');
      await route(ctx);
    })().catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HttpText) return send(ctx, e.status, e.text, 'text/plain', e.headers);
      if (e instanceof DirectorError) return json(ctx, e.status, { code: e.code, description: e.message });
      if (e instanceof UaaError)
        return send(
          ctx,
          e.status,
          e.body(),
          'application/json',
          e.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="UAA/oauth", error="unauthorized"' } : {},
        );
      // Unexpected: a 500 without a JSON body, like Sinatra; the message goes to the process log only.
      process.stderr.write(`director stand-in: ${ctx.method} ${url.pathname}: ${(e as Error)?.stack ?? String(e)}\n`);
      send(ctx, 500, '', 'text/plain');
    });
  };
  const uaaServer = https.createServer({ key: pki.key, cert: pki.cert, minVersion: 'TLSv1.2' });
  for (const [srv, uaa] of [
    [server, false],
    [uaaServer, true],
  ] as const) {
    srv.on('request', handler(uaa));
    srv.on('clientError', (_err, socket) => socket.destroy());
    srv.on('tlsClientError', () => undefined);
  }

  const listen = (srv: https.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, opts.host, () => {
        srv.off('error', reject);
        resolve((srv.address() as { port: number }).port);
      });
    });
  const port = await listen(server, opts.port);
  let uaaPort: number;
  try {
    uaaPort = await listen(uaaServer, opts.uaaPort ?? 8443);
  } catch (e) {
    if (opts.uaaPort !== undefined || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      server.close();
      throw e;
    }
    uaaPort = await listen(uaaServer, 0);
  }
  const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  baseUrl = `https://${hostPart}:${port}`;
  uaaUrl = `https://${hostPart}:${uaaPort}`;
  // Clients as a Director's UAA has them: the admin client (client_credentials) and `bosh_cli`
  // (empty secret; password and refresh grants only), which the bosh CLI uses for user logins.
  const clients = [
    {
      id: client,
      secret: clientSecret,
      scopes: ['bosh.admin', 'openid'],
      grants: ['client_credentials'],
    },
  ];
  if (client !== 'bosh_cli')
    clients.push({
      id: 'bosh_cli',
      secret: '',
      scopes: ['openid', 'bosh.admin'],
      grants: ['password', 'refresh_token'],
    });
  else clients[0].grants.push('password', 'refresh_token');
  const uaaUsers = (opts.users ?? []).map((u) => ({
    name: u.name,
    password: u.password,
    scopes: ['openid', 'bosh.admin'],
  }));
  tokens = new TokenService(clients, uaaUsers, `${uaaUrl}/oauth/token`, {
    clientCredentials: opts.tokenTtlSeconds ?? 600,
    user: opts.userTokenTtlSeconds ?? 120,
    refresh: opts.refreshTokenTtlSeconds ?? 86400,
  });

  let closing: Promise<void> | undefined;
  return {
    url: baseUrl,
    caCertPath: pki.caCertPath,
    caCert: pki.caCert,
    uaaUrl,
    client,
    clientSecret,
    sshUsers: () => users.created(),
    close: () =>
      (closing ??= (async () => {
        await Promise.all(
          [server, uaaServer].map(
            (srv) =>
              new Promise<void>((resolve) => {
                srv.close(() => resolve());
                srv.closeAllConnections();
              }),
          ),
        );
        let err: unknown;
        try {
          await users.closeAll();
        } catch (e) {
          err = e;
        }
        await new Promise<void>((resolve) => requestLog.end(() => resolve()));
        if (err) throw err;
      })()),
  };
}
