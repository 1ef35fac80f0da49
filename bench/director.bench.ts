// The Director instance listing at scale: every deployment's instances (format=full, through the
// task) on a Director with 50 deployments × 10 VM instances. Runs against the Director STAND-IN
// in-process (test/testbed/director/server.ts with `seed`), no testbed: the seeded instances have
// no VMs and report a fixed `running` state, so this measures the API round trips and task
// polling, not agents. The stand-in holds each task at `queued`, then `processing`, for the first
// two polls (a busy Director). Listed as well: the state's own deployment (no VMs, only its errand),
// so 51 deployments are fetched, 500 VM instances + 51 errands.
//   baseline:  what `bosh instances` (no -d) does: /info, UAA token, GET /deployments, then each
//              deployment's instances?format=full with --parallel 5; the 302 is followed to the
//              task, which is polled every 500 ms (GET /tasks/:id + the event output, as the CLI's
//              task_client_request.go), then /output?type=result. Raw HTTPS, since our client's
//              adaptive poll (100 ms doubling) cannot be turned into the CLI's fixed one.
//   candidate: our DirectorClient (createDirectorClient): deployments(), then instances() of each
//              with at most 10 in flight.
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { createDirectorClient } from '../src/bosh/director';
import type { EnvironmentConfig } from '../src/bosh/types';
import type { TestbedState } from '../test/testbed/harness/state';
import { RunningDirector, startDirector } from '../test/testbed/director/server';

const DEPLOYMENTS = 50;
const PER_DEPLOYMENT = 10;
const DUMMY = 'service-instance_00000000-0000-4000-a000-000000000000';

let dir = '';
let director: RunningDirector | undefined;

function emptyState(): Omit<TestbedState, 'director'> {
  return {
    deployment: DUMMY,
    jumpHost: { host: '127.0.32.2', port: 1, user: 'none', privateKeyPath: '/nonexistent' },
    staticSsh: { user: 'none', privateKeyPath: '/nonexistent', knownHostsPath: '/nonexistent' },
    etcd: { caCertPath: '/nonexistent', version: '0' },
    vms: [],
    createdAt: new Date().toISOString(),
  };
}

/** Runs `f` over `items` with at most `n` in flight; results in order. */
async function pool<T, R>(items: T[], n: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const k = next++;
        out[k] = await f(items[k]);
      }
    }),
  );
  return out;
}

/** 51 deployments; 500 VM instances, all `running`, plus one errand (no VM) per deployment. */
function check(perDeployment: { job_state: string | null }[][]): void {
  if (perDeployment.length !== DEPLOYMENTS + 1)
    throw new Error(`expected ${DEPLOYMENTS + 1} deployments, got ${perDeployment.length}`);
  const all = perDeployment.flat();
  const running = all.filter((i) => i.job_state === 'running').length;
  if (running !== DEPLOYMENTS * PER_DEPLOYMENT || all.length !== running + DEPLOYMENTS + 1) {
    throw new Error(
      `expected ${DEPLOYMENTS * PER_DEPLOYMENT} running instances + ${DEPLOYMENTS + 1} errands, got ${running} running of ${all.length}`,
    );
  }
}

async function candidate(): Promise<void> {
  const d = director!;
  const env: EnvironmentConfig = {
    name: 'bench',
    url: d.url,
    caCert: d.caCert,
    client: d.client,
    clientSecret: d.clientSecret,
    source: 'testbed',
  };
  const c = createDirectorClient(env, { onTokens: null });
  try {
    const deps = await c.deployments();
    const lists = await pool(deps, 10, (x) => c.instances(x.name));
    check(lists.map((l) => l.map((i) => ({ job_state: i.processState }))));
  } finally {
    c.dispose();
  }
}

// ---------- baseline: the bosh CLI's request sequence, raw HTTPS ----------
interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function request(
  agent: https.Agent,
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        agent,
        headers: { ...headers, ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url}: timeout`)));
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function baseline(): Promise<void> {
  const d = director!;
  const agent = new https.Agent({ ca: d.caCert, keepAlive: true });
  try {
    const ok = (r: Res, what: string) => {
      if (r.status < 200 || r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
      return r;
    };
    await request(agent, 'GET', `${d.url}/info`, {}).then((r) => ok(r, '/info'));
    const form = 'grant_type=client_credentials';
    const tok = await request(
      agent,
      'POST',
      `${d.uaaUrl}/oauth/token`,
      {
        Authorization: `Basic ${Buffer.from(`${encodeURIComponent(d.client)}:${encodeURIComponent(d.clientSecret)}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      },
      form,
    ).then((r) => ok(r, 'token'));
    const auth = { Authorization: `bearer ${(JSON.parse(tok.body) as { access_token: string }).access_token}` };
    const deps = JSON.parse(
      ok(await request(agent, 'GET', `${d.url}/deployments?exclude_configs=true`, auth), '/deployments').body,
    ) as { name: string }[];
    const lists = await pool(deps, 5, async ({ name }) => {
      const r = await request(
        agent,
        'GET',
        `${d.url}/deployments/${encodeURIComponent(name)}/instances?format=full`,
        auth,
      );
      const loc = r.headers.location;
      if (r.status !== 302 || typeof loc !== 'string')
        throw new Error(`instances of ${name}: expected a 302 to a task, got ${r.status}`);
      const taskUrl = new URL(loc, d.url).toString();
      let state = (JSON.parse(ok(await request(agent, 'GET', taskUrl, auth), 'task').body) as { state: string }).state;
      let offset = 0;
      while (state === 'queued' || state === 'processing' || state === 'cancelling') {
        await sleep(500);
        state = (JSON.parse(ok(await request(agent, 'GET', taskUrl, auth), 'task').body) as { state: string }).state;
        const ev = await request(agent, 'GET', `${taskUrl}/output?type=event`, { ...auth, Range: `bytes=${offset}-` });
        if (ev.status === 200 || ev.status === 206) offset += Buffer.byteLength(ev.body);
      }
      if (state !== 'done') throw new Error(`instances of ${name}: task ${state}`);
      const res = await request(agent, 'GET', `${taskUrl}/output?type=result`, auth);
      const text = res.status === 204 ? '' : ok(res, 'result').body;
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { job_state: string | null });
    });
    check(lists);
  } finally {
    agent.destroy();
  }
}

export const benchmarks = [
  {
    name: `Director: instances of ${DEPLOYMENTS} deployments × ${PER_DEPLOYMENT} (stand-in): our client (adaptive poll, 10 in flight) vs bosh-CLI-style (500 ms poll, --parallel 5)`,
    iterations: 3,
    async setup() {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-etcd-bench-director-'));
      director = await startDirector({
        state: emptyState(),
        host: '127.0.32.2',
        port: 0,
        dir,
        seed: { deployments: DEPLOYMENTS, instancesPerDeployment: PER_DEPLOYMENT },
      });
    },
    baseline,
    candidate,
    async teardown() {
      try {
        await director?.close();
      } finally {
        director = undefined;
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
        dir = '';
      }
    },
  },
];
