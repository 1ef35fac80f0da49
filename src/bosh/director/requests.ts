// Authenticated requests to the Director: /info (unauthenticated, cached), a call that adds the
// Authorization header and renews it once on a 401, gateway-error retries for GETs, and redirects
// followed on the configured host. Plain Node, no `vscode`.
import { BoshError, DirectorInfo, EnvironmentConfig } from '../types';
import { sleep } from '../../util/async';
import { createAuth, DirectorTokens } from './auth';
import { credentialsAdvice, httpError, parseJsonBody } from './errors';
import type { Resp, Transport } from './transport';

export interface DirectorRequests {
  getInfo(): Promise<DirectorInfo>;
  /** Authenticated request; 401 → new token and one retry. Returns redirects as is. */
  call(method: string, path: string, body?: { json: unknown }): Promise<Resp>;
  /** The path a redirect points to (on the configured Director), or undefined when r is no redirect. */
  redirectPath(r: Resp, method: string, path: string): string | undefined;
  /** GET, following up to 10 redirects. */
  getFollow(path: string): Promise<{ resp: Resp; finalPath: string }>;
}

export interface RequestOptions {
  /** Pause between retries of a GET that met a gateway error. */
  retryDelayMs: number;
  onTokens?: (t: DirectorTokens) => void;
  log: (line: string) => void;
}

const SUCCESS_OR_REDIRECT = [200, 201, 204, 206, 301, 302, 303, 307];
const REDIRECT = [301, 302, 303, 307];

export function createDirectorRequests(
  env: EnvironmentConfig,
  transport: Transport,
  opts: RequestOptions,
): DirectorRequests {
  const { exchange, director } = transport;
  let infoCache: DirectorInfo | undefined;

  async function getInfo(): Promise<DirectorInfo> {
    const r = await exchange(director, 'GET', '/info', {});
    if (r.status !== 200) throw httpError(env, r, 'GET', '/info');
    const info = parseJsonBody<DirectorInfo>(r, 'GET /info');
    if (!info || typeof info !== 'object' || !info.user_authentication) {
      throw new BoshError(
        'protocol',
        `The server at ${env.url} answered /info without user_authentication: is it a BOSH Director?`,
      );
    }
    infoCache = info;
    return info;
  }

  const auth = createAuth({
    env,
    exchange,
    info: async () => infoCache ?? (await getInfo()),
    onTokens: opts.onTokens,
    log: opts.log,
  });

  async function call(method: string, path: string, body?: { json: unknown }): Promise<Resp> {
    let authorization = await auth.header(false);
    const payload = body ? JSON.stringify(body.json) : undefined;
    const headers = (a: string | undefined): Record<string, string> => {
      const h: Record<string, string> = {};
      if (a) h.Authorization = a;
      if (payload !== undefined) h['Content-Type'] = 'application/json';
      return h;
    };
    let r = await exchange(director, method, path, headers(authorization), payload);
    // Like the CLI's network-safe retry: a GET that meets a gateway error (nginx in front of a
    // restarting Director) is tried again a few times.
    for (let attempt = 1; method === 'GET' && [502, 503, 504].includes(r.status) && attempt < 4; attempt++) {
      try {
        await sleep(opts.retryDelayMs, transport.signal);
      } catch {
        break;
      }
      r = await exchange(director, method, path, headers(authorization), payload);
    }
    if (r.status === 401) {
      if (!authorization) {
        throw new BoshError(
          'auth',
          `No credentials for the Director at ${env.url} (${infoCache?.user_authentication.type ?? 'unknown'} auth). Set ${credentialsAdvice(env)}.`,
          401,
        );
      }
      auth.invalidate();
      authorization = await auth.header(true);
      r = await exchange(director, method, path, headers(authorization), payload);
    }
    if (SUCCESS_OR_REDIRECT.includes(r.status)) return r;
    throw httpError(env, r, method, path);
  }

  function redirectPath(r: Resp, method: string, path: string): string | undefined {
    if (!REDIRECT.includes(r.status)) return undefined;
    const loc = r.headers.location;
    if (!loc)
      throw new BoshError(
        'protocol',
        `The Director at ${env.url} redirected ${method} ${path} without a Location.`,
        r.status,
      );
    // The host in Location is ignored, as the CLI does: follow the path on the configured host:port.
    const m = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/]*)?(\/.*)?$/i.exec(loc);
    return m?.[1] ?? '/';
  }

  async function getFollow(path: string): Promise<{ resp: Resp; finalPath: string }> {
    let p = path;
    for (let i = 0; i <= 10; i++) {
      const r = await call('GET', p);
      const next = redirectPath(r, 'GET', p);
      if (next === undefined) return { resp: r, finalPath: p };
      p = next;
    }
    throw new BoshError('protocol', `The Director at ${env.url} redirected ${path} more than 10 times.`);
  }

  return { getInfo, call, redirectPath, getFollow };
}
