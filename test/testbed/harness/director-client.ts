// A minimal Director API client for testbed tests (token + instances?format=full through the task
// redirect), independent of the product's client in src/bosh.
import * as https from 'https';
import { TestbedState } from './state';

function req(
  url: string,
  ca: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, any>; body: string }> {
  return new Promise((resolve, reject) => {
    const r = https.request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, ca, timeout: 15_000, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    r.on('timeout', () => r.destroy(new Error(`${url} timed out`)));
    r.on('error', reject);
    r.end(opts.body);
  });
}

export async function directorToken(state: TestbedState): Promise<string> {
  const d = state.director;
  const r = await req(`${d.uaaUrl}/oauth/token`, d.caCert, {
    method: 'POST',
    headers: {
      Authorization:
        'Basic ' +
        Buffer.from(`${encodeURIComponent(d.client)}:${encodeURIComponent(d.clientSecret)}`).toString('base64'),
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    },
    body: 'grant_type=client_credentials',
  });
  if (r.status !== 200) throw new Error(`UAA token: HTTP ${r.status} ${r.body}`);
  return JSON.parse(r.body).access_token;
}

export interface InstanceLine {
  id: string;
  job_name: string;
  index: number;
  job_state: string | null;
  processes: { name: string; state: string }[];
  bootstrap: boolean;
}

/** GET /deployments/<d>/instances?format=full, following the task like the bosh CLI. */
export async function directorInstances(state: TestbedState, token?: string): Promise<InstanceLine[]> {
  const d = state.director;
  const auth = { Authorization: `Bearer ${token ?? (await directorToken(state))}` };
  const first = await req(
    `${d.url}/deployments/${encodeURIComponent(state.deployment)}/instances?format=full`,
    d.caCert,
    { headers: auth },
  );
  if (first.status !== 302) throw new Error(`instances?format=full: HTTP ${first.status} ${first.body}`);
  const taskUrl = new URL(String(first.headers.location), d.url).toString();
  for (let i = 0; i < 300; i++) {
    const t = await req(taskUrl, d.caCert, { headers: auth });
    const task = JSON.parse(t.body);
    if (task.state === 'done') {
      const out = await req(`${taskUrl}/output?type=result`, d.caCert, { headers: auth });
      return out.body
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l));
    }
    if (['error', 'cancelled', 'timeout'].includes(task.state))
      throw new Error(`task ${taskUrl}: ${task.state} ${task.result ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`task ${taskUrl} did not finish`);
}
