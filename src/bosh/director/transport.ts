// The network side of the Director client: every connection goes through one Dialer (direct TCP or
// the jump host), then TLS verified against the environment's CA (never unverified); one HTTP
// exchange at a time per request, keep-alive pooled; low-level failures become BoshErrors that say
// what the operator should check. Knows nothing about auth or the API. Plain Node, no `vscode`.
import * as http from 'http';
import * as net from 'net';
import * as tls from 'tls';
import type { Duplex } from 'stream';
import { BoshError, Dialer, EnvironmentConfig } from '../types';
import { parseDirectorUrl } from '../config';

export interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A server the client talks to: the Director, or the UAA it names in /info. */
export interface Target {
  host: string;
  port: number;
  /** For messages: 'Director' or 'UAA'. */
  what: string;
  base: string;
  /** Path the endpoints live under (UAA may be mounted at /uaa); '' for the Director. */
  pathPrefix: string;
}

/** One HTTP exchange with a target; failures are classified BoshErrors. */
export type Exchange = (
  t: Target,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
) => Promise<Resp>;

export interface TransportOptions {
  /** Opens a stream to host:port (e.g. through the SSH jump host). Default: a direct TCP connection. */
  dial?: Dialer;
  /** Per-request timeout, connect included. */
  timeoutMs: number;
  log: (line: string) => void;
}

export interface Transport {
  /** The configured Director. */
  readonly director: Target;
  readonly exchange: Exchange;
  /** Aborted by dispose(): waits on it end early. */
  readonly signal: AbortSignal;
  dispose(): void;
}

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

export function hostHeader(h: string): string {
  return h.includes(':') ? `[${h}]` : h;
}

export function directorTarget(env: EnvironmentConfig): Target {
  const { host, port } = parseDirectorUrl(env.url);
  return { host, port, what: 'Director', base: env.url, pathPrefix: '' };
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

/** Keep-alive pool whose connections go through `dial`, then TLS verified against `ca`. */
function dialingAgent(dial: Dialer, ca: string | undefined, timeoutMs: number): http.Agent {
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
            ca,
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
          // its timeout.
          raw.once('end', () => t.destroy());
        },
        (e: Error) => fail(e),
      );
      return undefined;
    }
  }
  return new DialAgent({ keepAlive: true, maxSockets: 6, keepAliveMsecs: 10_000 });
}

export function createTransport(env: EnvironmentConfig, opts: TransportOptions): Transport {
  const { timeoutMs, log } = opts;
  const dial: Dialer = opts.dial ?? directDial(timeoutMs);
  const viaGateway = !!opts.dial;
  const director = directorTarget(env);
  const life = new AbortController();
  const caAdvice =
    env.source === 'settings'
      ? `the caCert of the '${env.name}' environment in the boshEtcd.environments setting`
      : 'BOSH_CA_CERT (or ca_cert in ~/.bosh/config)';
  const netAdvice =
    viaGateway || env.gateway
      ? 'Check the Director address and the jump host (BOSH_ALL_PROXY).'
      : 'Check BOSH_ENVIRONMENT and the jump host (BOSH_ALL_PROXY).';
  const agent = dialingAgent(dial, env.caCert, timeoutMs);
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

  return {
    director,
    exchange,
    signal: life.signal,
    dispose(): void {
      if (life.signal.aborted) return;
      life.abort(new BoshError('unreachable', 'The Director client was disposed.'));
      for (const r of inflight) r.destroy(new Error('Director client disposed'));
      inflight.clear();
      agent.destroy();
    },
  };
}
