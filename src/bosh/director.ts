// The BOSH Director API client: HTTPS verified against the configured CA (never unverified), one
// network path (direct or a Dialer through the jump host), basic or UAA auth as /info says, task
// following, typed errors that tell the operator what to check. Plain Node, no `vscode`.
// Behaviour follows the bosh CLI (docs/director-api.md §0–§8).
import * as http from 'http';
import * as net from 'net';
import * as tls from 'tls';
import type { Duplex } from 'stream';
import {
  BoshError,
  DeploymentSummary,
  Dialer,
  DirectorClient,
  DirectorInfo,
  DirectorTask,
  EnvironmentConfig,
  InstanceInfo,
  SshSetupHost,
} from './types';
import { parseDirectorUrl, tokenSaverFor } from './config';
import { compareInstances, parseInstanceInfoLines } from './vmInfo';

export interface DirectorTokens {
  accessToken: string;
  accessTokenType: string;
  refreshToken: string;
}

export interface DirectorClientOptions {
  /** Opens a stream to host:port (e.g. through the SSH jump host). Default: a direct TCP connection. */
  dial?: Dialer;
  /** Per-request timeout, connect included (default 30 000 ms). */
  timeoutMs?: number;
  /** One line per request (method, path, status, ms). Never contains tokens or secrets. */
  log?: (line: string) => void;
  /** Longest task polling interval (default 500 ms, as the CLI); polling starts at 100 ms and doubles up to it. */
  pollIntervalMs?: number;
  /** Give up waiting for a task after this long (default 600 000 ms). */
  taskTimeoutMs?: number;
  /**
   * Called after a refresh-token grant with the new tokens. Default: when the environment came from
   * ~/.bosh/config (env.boshConfig), write them back there as the bosh CLI does. null: keep them in memory only.
   */
  onTokens?: ((t: DirectorTokens) => void) | null;
}

interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Target {
  host: string;
  port: number;
  /** For messages: 'Director' or 'UAA'. */
  what: string;
  base: string;
  /** Path the endpoints live under (UAA may be mounted at /uaa); '' for the Director. */
  pathPrefix: string;
}

const RUNNING_TASK_STATES = new Set(['queued', 'processing', 'cancelling']);
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'EADDRNOTAVAIL',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'INVALID_CA',
  'CERT_CHAIN_TOO_LONG',
  'HOSTNAME_MISMATCH',
]);

/** Marks errors raised while connecting (so a reset during connect is "unreachable", not a protocol error). */
class ConnectError extends Error {
  constructor(
    public override readonly cause: unknown,
    public readonly code?: string,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

function directDial(timeoutMs: number): Dialer {
  return (host, port) =>
    new Promise<Duplex>((resolve, reject) => {
      const s = net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        const e = new Error(
          `connect ETIMEDOUT ${host}:${port} (no answer within ${timeoutMs} ms)`,
        ) as NodeJS.ErrnoException;
        e.code = 'ETIMEDOUT';
        reject(e);
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.setNoDelay(true);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
}

/** Base64url JSON payload of a JWT, or undefined. */
function jwtPayload(token: string | undefined): Record<string, unknown> | undefined {
  if (!token) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function parseJsonBody<T>(r: Resp, what: string): T {
  try {
    return JSON.parse(r.body) as T;
  } catch {
    throw new BoshError(
      'protocol',
      `Unmarshaling Director response (${what}): not JSON: '${r.body.slice(0, 200)}'`,
      r.status,
    );
  }
}

function directorErrorBody(body: string): { code?: number; description?: string } {
  try {
    const j = JSON.parse(body) as { code?: unknown; description?: unknown };
    if (j && typeof j === 'object') {
      return {
        code: typeof j.code === 'number' ? j.code : undefined,
        description: typeof j.description === 'string' ? j.description : undefined,
      };
    }
  } catch {
    /* plain text body */
  }
  return {};
}

const SSH_USER = /^[a-z_][a-z0-9_-]{0,31}$/i;

export function createDirectorClient(env: EnvironmentConfig, opts: DirectorClientOptions = {}): DirectorClient {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const pollIntervalMs = opts.pollIntervalMs ?? 500;
  const taskTimeoutMs = opts.taskTimeoutMs ?? 600_000;
  const log = opts.log ?? (() => undefined);
  const onTokens = opts.onTokens === undefined ? tokenSaverFor(env) : (opts.onTokens ?? undefined);
  const dial: Dialer = opts.dial ?? directDial(timeoutMs);
  const viaGateway = !!opts.dial;
  const { host: dHost, port: dPort } = parseDirectorUrl(env.url);
  const director: Target = { host: dHost, port: dPort, what: 'Director', base: env.url, pathPrefix: '' };
  const life = new AbortController();
  const caAdvice =
    env.source === 'settings'
      ? `the caCert of the '${env.name}' environment in the boshEtcd.environments setting`
      : 'BOSH_CA_CERT (or ca_cert in ~/.bosh/config)';
  const credAdvice =
    env.source === 'settings'
      ? `the client of the '${env.name}' environment and its stored secret`
      : 'BOSH_CLIENT and BOSH_CLIENT_SECRET (or bosh log-in)';
  const netAdvice =
    viaGateway || env.gateway
      ? 'Check the Director address and the jump host (BOSH_ALL_PROXY).'
      : 'Check BOSH_ENVIRONMENT and the jump host (BOSH_ALL_PROXY).';

  // Keep-alive pool; every connection goes through `dial`, then TLS verified against env.caCert.
  class DialAgent extends http.Agent {
    override createConnection(
      o: http.ClientRequestArgs,
      cb?: (err: Error | null, s: Duplex) => void,
    ): Duplex | undefined {
      const host = String(o.host ?? '').replace(/^\[(.*)\]$/, '$1');
      const port = Number(o.port);
      const done = cb ?? (() => undefined);
      let finished = false;
      let abandon = () => undefined as void;
      const fail = (e: Error) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        abandon();
        done(new ConnectError(e, (e as NodeJS.ErrnoException).code), undefined as unknown as Duplex);
      };
      const timer = setTimeout(() => {
        const e = new Error(`no connection within ${timeoutMs} ms`) as NodeJS.ErrnoException;
        e.code = 'ETIMEDOUT';
        fail(e);
      }, timeoutMs);
      dial(host, port).then(
        (raw) => {
          if (finished) {
            raw.destroy(); // arrived after the timeout
            return;
          }
          const t = tls.connect({
            socket: raw,
            host,
            servername: net.isIP(host) ? undefined : host,
            ca: env.caCert,
            minVersion: 'TLSv1.2',
            rejectUnauthorized: true,
          });
          abandon = () => {
            t.destroy();
            raw.destroy();
          };
          const onErr = (e: Error) => fail(e);
          t.once('error', onErr);
          t.once('secureConnect', () => {
            if (finished) {
              t.destroy();
              return;
            }
            finished = true;
            clearTimeout(timer);
            t.removeListener('error', onErr);
            done(null, t);
          });
          raw.once('close', () => t.destroy());
          // An SSH channel the server half-closed (idle keep-alive timeout) emits 'end' long before
          // 'close': without this the agent reuses the dead socket and the next request hangs until
          // its timeout. (Added by the recovery engineer: observations after 20 s idle hung 30 s.)
          raw.once('end', () => t.destroy());
        },
        (e: Error) => fail(e),
      );
      return undefined;
    }
  }
  const agent = new DialAgent({ keepAlive: true, maxSockets: 6, keepAliveMsecs: 10_000 });
  const inflight = new Set<http.ClientRequest>();

  function classify(e: unknown, t: Target): BoshError {
    if (e instanceof BoshError) return e;
    const err = e instanceof ConnectError ? (e.cause as NodeJS.ErrnoException) : (e as NodeJS.ErrnoException);
    const code = err?.code ?? (e as ConnectError)?.code;
    const msg = err?.message ?? String(e);
    if (life.signal.aborted)
      return new BoshError(
        'unreachable',
        `Request to the ${t.what} at ${t.base} cancelled: the Director client was disposed.`,
      );
    if (
      (code && (TLS_CODES.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))) ||
      /certificate|self[- ]signed|altnames/i.test(msg)
    ) {
      const advice =
        code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH'
          ? `The certificate does not name '${t.host}': use the address it was issued for (see its subject alternative names), and check ${caAdvice}.`
          : `Check ${caAdvice}: it must be the CA that signed the ${t.what}'s certificate.`;
      return new BoshError(
        'tls',
        `TLS verification of the ${t.what} at ${t.base} failed: ${msg}${code ? ` (${code})` : ''}. ${advice}`,
      );
    }
    const sshCause = (err as Error)?.name === 'SshError';
    if ((code && UNREACHABLE_CODES.has(code)) || e instanceof ConnectError || sshCause || /socket hang up/i.test(msg)) {
      const where = t.what === 'Director' ? `Director unreachable at ${t.base}` : `UAA unreachable at ${t.base}`;
      return new BoshError(
        'unreachable',
        `${where}${viaGateway ? ' (through the jump host)' : ''}: ${msg}. ${netAdvice}`,
      );
    }
    return new BoshError('protocol', `Request to the ${t.what} at ${t.base} failed: ${msg}`);
  }

  /** One HTTP exchange. Retries once on a stale keep-alive socket (reset before any response). */
  async function exchange(
    t: Target,
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Resp> {
    if (life.signal.aborted) throw classify(new Error('disposed'), t);
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await exchangeOnce(t, method, path, headers, body);
        log(
          `${method} ${origin(t)}${path.replace(/([?&](?:refresh_token|access_token)=)[^&]*/g, '$1[removed]')} -> ${r.status} (${Date.now() - started} ms)`,
        );
        return r;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException)?.code;
        const reused = (e as { reusedSocket?: boolean }).reusedSocket;
        if (attempt < 2 && reused && (code === 'ECONNRESET' || code === 'EPIPE') && !life.signal.aborted) continue;
        log(`${method} ${origin(t)}${path} failed (${Date.now() - started} ms): ${(e as Error).message}`);
        throw classify(e, t);
      }
    }
  }

  function exchangeOnce(
    t: Target,
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Resp> {
    return new Promise<Resp>((resolve, reject) => {
      const h: Record<string, string> = {
        Host: t.port === 443 ? hostHeader(t.host) : `${hostHeader(t.host)}:${t.port}`,
        ...headers,
      };
      if (body !== undefined) h['Content-Length'] = String(Buffer.byteLength(body));
      // `new http.ClientRequest`, not `http.request`: inside VS Code's extension host `http.request` is
      // patched for proxy support and (http.proxySupport=override, the default) replaces our dialing
      // agent for any host but localhost, so the request would go out directly, unencrypted.
      const req = new http.ClientRequest({ host: t.host, port: t.port, method, path, headers: h, agent });
      inflight.add(req);
      let settled = false;
      const finish = (err: Error | null, r?: Resp) => {
        if (settled) return;
        settled = true;
        inflight.delete(req);
        if (err) {
          (err as { reusedSocket?: boolean }).reusedSocket = req.reusedSocket;
          reject(err);
        } else resolve(r!);
      };
      req.setTimeout(timeoutMs, () => {
        const e = new Error(`no answer within ${timeoutMs} ms`) as NodeJS.ErrnoException;
        e.code = 'ETIMEDOUT';
        req.destroy(e);
      });
      req.on('error', (e) => finish(e));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => finish(e));
        res.on('end', () =>
          finish(null, {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** '' for the Director (paths are logged alone), `https://host:port` for UAA. */
  function origin(t: Target): string {
    return t.what === 'Director' ? '' : `https://${hostHeader(t.host)}:${t.port}`;
  }

  function hostHeader(h: string): string {
    return h.includes(':') ? `[${h}]` : h;
  }

  // ------------------------------------------------------------------ auth
  let infoCache: DirectorInfo | undefined;
  let token: { header: string; expiresAt?: number } | undefined;
  let tokenFetch: Promise<string | undefined> | undefined;
  let refreshToken = env.refreshToken;
  let storedAccessUsed = false;

  async function getInfo(): Promise<DirectorInfo> {
    const r = await exchange(director, 'GET', '/info', {});
    if (r.status !== 200) throw httpError(r, 'GET', '/info');
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

  function uaaTarget(info: DirectorInfo): Target {
    const u = info.user_authentication.options?.url ?? info.user_authentication.options?.urls?.[0];
    if (!u) throw new BoshError('protocol', `The Director at ${env.url} uses UAA but /info gives no UAA url.`);
    const { host, port } = parseDirectorUrl(u, 443);
    const m = /^(?:[a-z][a-z0-9+.-]*:\/\/)?[^/]*(\/[^?#]*)?/i.exec(u);
    const p = (m?.[1] ?? '').replace(/\/+$/, '');
    const base = `https://${host.includes(':') ? `[${host}]` : host}:${port}${p}`;
    return { host, port, what: 'UAA', base, pathPrefix: p };
  }

  function expiryOf(accessToken: string, expiresIn?: unknown): number | undefined {
    const now = Date.now();
    let exp: number | undefined;
    if (typeof expiresIn === 'number' && expiresIn > 0) exp = now + expiresIn * 1000;
    else {
      const p = jwtPayload(accessToken);
      if (p && typeof p.exp === 'number') exp = p.exp * 1000;
    }
    if (exp === undefined) return undefined;
    // Renew a little before expiry: 20% of the lifetime, at most 60 s.
    const margin = Math.min(60_000, Math.max(0, (exp - now) * 0.2));
    return exp - margin;
  }

  async function uaaToken(
    info: DirectorInfo,
    form: Record<string, string>,
    client: string,
    secret: string,
    grantDesc: string,
  ): Promise<{ header: string; expiresAt?: number; refresh?: string; type: string; access: string }> {
    const t = uaaTarget(info);
    const body = Object.keys(form)
      .sort()
      .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(form[k])}`)
      .join('&');
    const r = await exchange(
      t,
      'POST',
      `${t.pathPrefix}/oauth/token`,
      {
        Accept: 'application/json',
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: 'Basic ' + Buffer.from(`${client}:${secret}`).toString('base64'),
      },
      body,
    );
    if (r.status !== 200) {
      let detail = r.body.slice(0, 300);
      try {
        const j = JSON.parse(r.body) as { error?: string; error_description?: string };
        if (j.error) detail = j.error_description ? `${j.error}: ${j.error_description}` : j.error;
      } catch {
        /* text */
      }
      if (r.status === 401 || r.status === 400 || r.status === 403) {
        throw new BoshError(
          'auth',
          `UAA at ${t.base} rejected the ${grantDesc} (status ${r.status}: ${detail}). Check ${grantDesc.includes('refresh') ? 'your login: run bosh log-in again, or set BOSH_CLIENT and BOSH_CLIENT_SECRET' : credAdvice}.`,
          r.status,
        );
      }
      throw new BoshError(
        'director',
        `UAA at ${t.base} responded with status ${r.status} to the ${grantDesc}: ${detail}`,
        r.status,
      );
    }
    const j = parseJsonBody<{
      token_type?: string;
      access_token?: string;
      refresh_token?: string;
      expires_in?: number;
    }>(r, 'UAA token');
    if (!j.access_token)
      throw new BoshError('protocol', `UAA at ${t.base} answered the ${grantDesc} without an access_token.`);
    const type = j.token_type || 'bearer';
    return {
      header: `${type} ${j.access_token}`,
      expiresAt: expiryOf(j.access_token, j.expires_in),
      refresh: j.refresh_token,
      type,
      access: j.access_token,
    };
  }

  /** Authorization header value, or undefined if there are no credentials. `force` = fetch a new token. */
  async function authHeader(force: boolean): Promise<string | undefined> {
    const info = infoCache ?? (await getInfo());
    if (info.user_authentication.type === 'basic') {
      if (!env.client) return undefined;
      return 'Basic ' + Buffer.from(`${env.client}:${env.clientSecret ?? ''}`).toString('base64');
    }
    if (!force && token && (token.expiresAt === undefined || Date.now() < token.expiresAt)) return token.header;
    if (tokenFetch) return tokenFetch;
    // One fetch at a time; cleared after it settles (not inside it: a fetch that needs no network,
    // like using the stored token, settles before the assignment would happen).
    const fetching = (async (): Promise<string | undefined> => {
      if (env.client) {
        const t = await uaaToken(
          info,
          { grant_type: 'client_credentials' },
          env.client,
          env.clientSecret ?? '',
          `client credentials of client '${env.client}'`,
        );
        token = { header: t.header, expiresAt: t.expiresAt };
        return token.header;
      }
      if (refreshToken) {
        // Start from the stored access token, as the CLI does, unless it is expired or was refused.
        if (!force && !storedAccessUsed && env.accessToken) {
          storedAccessUsed = true;
          const exp = expiryOf(env.accessToken);
          if (exp === undefined || Date.now() < exp) {
            token = { header: `${env.accessTokenType || 'bearer'} ${env.accessToken}`, expiresAt: exp };
            return token.header;
          }
        }
        storedAccessUsed = true;
        const t = await uaaToken(
          info,
          { grant_type: 'refresh_token', refresh_token: refreshToken },
          'bosh_cli',
          '',
          'refresh token (user login)',
        );
        if (t.refresh) refreshToken = t.refresh;
        token = { header: t.header, expiresAt: t.expiresAt };
        try {
          onTokens?.({ accessToken: t.access, accessTokenType: t.type, refreshToken: refreshToken });
        } catch (e) {
          log(`saving refreshed tokens failed: ${(e as Error).message}`);
        }
        return token.header;
      }
      return undefined;
    })();
    tokenFetch = fetching;
    fetching.then(
      () => {
        if (tokenFetch === fetching) tokenFetch = undefined;
      },
      () => {
        if (tokenFetch === fetching) tokenFetch = undefined;
      },
    );
    return fetching;
  }

  function httpError(r: Resp, method: string, path: string): BoshError {
    const { code, description } = directorErrorBody(r.body);
    const text = description ?? r.body.trim().slice(0, 500);
    if (r.status === 404 && code !== undefined) {
      return new BoshError(
        'not-found',
        `${text} (Director at ${env.url}, ${method} ${path}: 404, code ${code}). Check the name (bosh deployments / bosh instances).`,
        404,
        code,
      );
    }
    if (r.status === 401) {
      return new BoshError(
        'auth',
        `The Director at ${env.url} refused the credentials (${method} ${path}: 401 ${text}). Check ${credAdvice}.`,
        401,
        code,
      );
    }
    if (r.status === 403 || code === 600000) {
      return new BoshError(
        'auth',
        `The Director at ${env.url} denied access (${method} ${path}: ${r.status} ${text}). The client needs the bosh.admin scope (or the deployment's team scope).`,
        r.status,
        code,
      );
    }
    return new BoshError(
      'director',
      `Director at ${env.url} responded with status ${r.status} to ${method} ${path}${code !== undefined ? ` (code ${code})` : ''}: ${text || '(empty body)'}`,
      r.status,
      code,
    );
  }

  /** Authenticated request to the Director; 401 → new token and one retry. Returns redirects as is. */
  async function call(method: string, path: string, body?: { json: unknown }): Promise<Resp> {
    let auth = await authHeader(false);
    const payload = body ? JSON.stringify(body.json) : undefined;
    const headers = (a: string | undefined): Record<string, string> => {
      const h: Record<string, string> = {};
      if (a) h.Authorization = a;
      if (payload !== undefined) h['Content-Type'] = 'application/json';
      return h;
    };
    let r = await exchange(director, method, path, headers(auth), payload);
    // Like the CLI's network-safe retry: a GET that meets a gateway error (nginx in front of a
    // restarting Director) is tried again a few times.
    for (let attempt = 1; method === 'GET' && [502, 503, 504].includes(r.status) && attempt < 4; attempt++) {
      try {
        await sleep(pollIntervalMs, life.signal);
      } catch {
        break;
      }
      r = await exchange(director, method, path, headers(auth), payload);
    }
    if (r.status === 401) {
      if (!auth) {
        throw new BoshError(
          'auth',
          `No credentials for the Director at ${env.url} (${infoCache?.user_authentication.type ?? 'unknown'} auth). Set ${credAdvice}.`,
          401,
        );
      }
      token = undefined;
      auth = await authHeader(true);
      r = await exchange(director, method, path, headers(auth), payload);
    }
    if ([200, 201, 204, 206, 301, 302, 303, 307].includes(r.status)) return r;
    throw httpError(r, method, path);
  }

  function redirectPath(r: Resp, method: string, path: string): string | undefined {
    if (![301, 302, 303, 307].includes(r.status)) return undefined;
    const loc = r.headers.location;
    if (!loc)
      throw new BoshError(
        'protocol',
        `The Director at ${env.url} redirected ${method} ${path} without a Location.`,
        r.status,
      );
    // The host in Location is ignored (CLI CheckRedirect): follow the path on the configured host:port.
    const m = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/]*)?(\/.*)?$/i.exec(loc);
    return m?.[1] ?? '/';
  }

  /** GET, following up to 10 redirects (GET to the Location path on the configured Director). */
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

  // ------------------------------------------------------------------ tasks
  async function getTask(id: number): Promise<DirectorTask> {
    const { resp } = await getFollow(`/tasks/${id}`);
    return parseJsonBody<DirectorTask>(resp, `GET /tasks/${id}`);
  }

  async function taskErrorMessage(id: number): Promise<string | undefined> {
    try {
      const { resp } = await getFollow(`/tasks/${id}/output?type=event`);
      let last: string | undefined;
      for (const line of resp.body.split('\n')) {
        if (!line.trim()) continue;
        try {
          const ev = JSON.parse(line) as { error?: { message?: string }; state?: string; data?: { error?: string } };
          if (ev.error?.message) last = ev.error.message;
          else if (ev.state === 'failed' && ev.data?.error && !last) last = ev.data.error;
        } catch {
          /* ignore non-JSON event lines */
        }
      }
      return last;
    } catch {
      return undefined;
    }
  }

  /** Waits for the task behind a redirect and returns its result output. */
  async function followTask(taskPath: string, what: string): Promise<{ id: number; result: string }> {
    const m = /^\/tasks\/(\d+)/.exec(taskPath);
    if (!m) throw new BoshError('protocol', `${what}: the Director redirected to '${taskPath}', not to a task.`);
    const id = Number(m[1]);
    const deadline = Date.now() + taskTimeoutMs;
    // Quick tasks (vm_state, ssh) finish in well under a second: poll at 100 ms first, doubling up to
    // the configured interval (the CLI's fixed 500 ms), so a listing does not wait a whole interval.
    let delay = Math.min(100, pollIntervalMs);
    let task: DirectorTask;
    for (;;) {
      task = await getTask(id);
      if (!RUNNING_TASK_STATES.has(task.state)) break;
      if (Date.now() > deadline) {
        throw new BoshError(
          'task',
          `${what}: task '${id}' is still '${task.state}' after ${Math.round(taskTimeoutMs / 1000)} s. See \`bosh task ${id}\`.`,
        );
      }
      try {
        await sleep(delay, life.signal);
      } catch {
        throw new BoshError(
          'unreachable',
          `${what}: stopped waiting for task '${id}': the Director client was disposed.`,
        );
      }
      delay = Math.min(pollIntervalMs, delay * 2);
    }
    if (task.state !== 'done') {
      const msg = (await taskErrorMessage(id)) ?? (task.result || undefined);
      throw new BoshError(
        'task',
        `Expected task '${id}' to succeed but state is '${task.state}'${msg ? `: ${msg}` : ''}. ${what}; see \`bosh task ${id}\`.`,
      );
    }
    const { resp } = await getFollow(`/tasks/${id}/output?type=result`);
    return { id, result: resp.status === 204 ? '' : resp.body };
  }

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
    return (await followTask(next, what)).result;
  }

  const dep = (d: string) => {
    if (typeof d !== 'string' || !d || /[\s/?#]/.test(d))
      throw new BoshError('config', `Invalid deployment name ${JSON.stringify(d)}.`);
    return encodeURIComponent(d);
  };

  function sshTarget(target: { group: string; id: string }) {
    if (!target.group || !target.id)
      throw new BoshError('config', 'SSH target needs an instance group and an instance id or index.');
    return { job: target.group, indexes: [target.id], ids: [target.id] };
  }

  const client: DirectorClient = {
    env,
    info: () => getInfo(),

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
        `/deployments/${dep(deployment)}/instances?format=full`,
        `Listing deployment '${deployment}' instances infos`,
      );
      return parseInstanceInfoLines(text, deployment);
    },

    async vms(deployment: string): Promise<InstanceInfo[]> {
      const text = await viaTask(
        'GET',
        `/deployments/${dep(deployment)}/vms?format=full`,
        `Listing deployment '${deployment}' vms infos`,
      );
      return parseInstanceInfoLines(text, deployment);
    },

    async instancesFast(deployment: string) {
      const { resp } = await getFollow(`/deployments/${dep(deployment)}/instances`);
      const list = parseJsonBody<Record<string, unknown>[]>(resp, `GET /deployments/${deployment}/instances`);
      if (!Array.isArray(list))
        throw new BoshError('protocol', `GET /deployments/${deployment}/instances did not return a list.`);
      return list
        .map((r) => ({
          group: typeof r.job === 'string' ? r.job : '',
          id: typeof r.id === 'string' ? r.id : '',
          index: typeof r.index === 'number' ? r.index : null,
          az: typeof r.az === 'string' ? r.az : null,
          ips: Array.isArray(r.ips) ? (r.ips as unknown[]).filter((x): x is string => typeof x === 'string') : [],
          vmCid: typeof r.cid === 'string' && r.cid ? r.cid : null,
          agentId: typeof r.agent_id === 'string' && r.agent_id ? r.agent_id : null,
          expectsVm: typeof r.expects_vm === 'boolean' ? r.expects_vm : undefined,
        }))
        .sort(compareInstances);
    },

    task: (id: number) => getTask(id),

    async sshSetup(deployment, target, user, publicKey): Promise<SshSetupHost[]> {
      if (!SSH_USER.test(user)) throw new BoshError('config', `Invalid SSH user name ${JSON.stringify(user)}.`);
      const what = `Setting up SSH in deployment '${deployment}' for ${target.group}/${target.id}`;
      const text = await viaTask('POST', `/deployments/${dep(deployment)}/ssh`, what, {
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
      if (!SSH_USER.test(user)) throw new BoshError('config', `Invalid SSH user name ${JSON.stringify(user)}.`);
      await viaTask(
        'POST',
        `/deployments/${dep(deployment)}/ssh`,
        `Cleaning up SSH user '${user}' in deployment '${deployment}'`,
        {
          command: 'cleanup',
          deployment_name: deployment,
          target: sshTarget(target),
          params: { user_regex: `^${user}` },
        },
      );
    },

    dispose(): void {
      if (life.signal.aborted) return;
      life.abort(new BoshError('unreachable', 'The Director client was disposed.'));
      for (const r of inflight) r.destroy(new Error('Director client disposed'));
      inflight.clear();
      agent.destroy();
    },
  };
  return client;
}
