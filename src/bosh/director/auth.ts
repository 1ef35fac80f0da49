// Credentials for the Director: basic auth, or UAA tokens as /info says. UAA is the server /info
// names (often its own port, e.g. 8443, at the root path). Client-credentials grants return no
// refresh token, and the CLI's tokens live minutes: a token is renewed a little before it expires
// (or once after the Director refuses it), with the client credentials, or with the stored refresh
// token of a `bosh log-in`. Plain Node, no `vscode`.
import { BoshError, DirectorInfo, EnvironmentConfig } from '../types';
import { parseDirectorUrl } from '../config';
import { credentialsAdvice, parseJsonBody } from './errors';
import type { Exchange, Target } from './transport';

export interface DirectorTokens {
  accessToken: string;
  accessTokenType: string;
  refreshToken: string;
}

/** An Authorization header value and when to stop using it (undefined: until the Director refuses it). */
export interface CachedToken {
  header: string;
  renewAt?: number;
}

export interface UaaGrantResult {
  header: string;
  renewAt?: number;
  refresh?: string;
  type: string;
  access: string;
}

/** Base64url JSON payload of a JWT, or undefined. */
export function jwtPayload(token: string | undefined): Record<string, unknown> | undefined {
  if (!token) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * When to fetch a new token instead of using this one: its expiry (expires_in seconds from now, else
 * the JWT's exp) minus a margin of 20% of the remaining lifetime, at most 60 s, so a request never
 * leaves with a token that expires on the way. undefined when the token tells no expiry.
 */
export function renewalTime(accessToken: string, expiresIn: unknown, now: number): number | undefined {
  let exp: number | undefined;
  if (typeof expiresIn === 'number' && expiresIn > 0) exp = now + expiresIn * 1000;
  else {
    const p = jwtPayload(accessToken);
    if (p && typeof p.exp === 'number') exp = p.exp * 1000;
  }
  if (exp === undefined) return undefined;
  const margin = Math.min(60_000, Math.max(0, (exp - now) * 0.2));
  return exp - margin;
}

/** A cached token is used until its renewal time. */
export function isTokenUsable(token: CachedToken | undefined, now: number): token is CachedToken {
  return !!token && (token.renewAt === undefined || now < token.renewAt);
}

/** The UAA server /info names (`options.url`, else the first of `options.urls`). */
export function uaaTarget(info: DirectorInfo, directorUrl: string): Target {
  const u = info.user_authentication.options?.url ?? info.user_authentication.options?.urls?.[0];
  if (!u) throw new BoshError('protocol', `The Director at ${directorUrl} uses UAA but /info gives no UAA url.`);
  const { host, port } = parseDirectorUrl(u, 443);
  const m = /^(?:[a-z][a-z0-9+.-]*:\/\/)?[^/]*(\/[^?#]*)?/i.exec(u);
  const p = (m?.[1] ?? '').replace(/\/+$/, '');
  const base = `https://${host.includes(':') ? `[${host}]` : host}:${port}${p}`;
  return { host, port, what: 'UAA', base, pathPrefix: p };
}

export interface AuthOptions {
  env: EnvironmentConfig;
  exchange: Exchange;
  /** The Director's /info (cached by the caller). */
  info: () => Promise<DirectorInfo>;
  /** Called after a refresh-token grant with the new tokens. */
  onTokens?: (t: DirectorTokens) => void;
  log: (line: string) => void;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

export interface DirectorAuth {
  /** Authorization header value, or undefined if there are no credentials. `force` = fetch a new token. */
  header(force: boolean): Promise<string | undefined>;
  /** Forget the cached token (the Director refused it). */
  invalidate(): void;
}

export function createAuth(opts: AuthOptions): DirectorAuth {
  const { env, exchange, log, onTokens } = opts;
  const now = opts.now ?? Date.now;
  let token: CachedToken | undefined;
  let tokenFetch: Promise<string | undefined> | undefined;
  let refreshToken = env.refreshToken;
  let storedAccessUsed = false;

  async function uaaGrant(
    info: DirectorInfo,
    form: Record<string, string>,
    client: string,
    secret: string,
    grantDesc: string,
  ): Promise<UaaGrantResult> {
    const t = uaaTarget(info, env.url);
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
          `UAA at ${t.base} rejected the ${grantDesc} (status ${r.status}: ${detail}). Check ${grantDesc.includes('refresh') ? 'your login: run bosh log-in again, or set BOSH_CLIENT and BOSH_CLIENT_SECRET' : credentialsAdvice(env)}.`,
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
      renewAt: renewalTime(j.access_token, j.expires_in, now()),
      refresh: j.refresh_token,
      type,
      access: j.access_token,
    };
  }

  /** A new token: client credentials if there is a client, else the stored login's tokens. */
  async function fetchToken(info: DirectorInfo, force: boolean): Promise<string | undefined> {
    if (env.client) {
      const t = await uaaGrant(
        info,
        { grant_type: 'client_credentials' },
        env.client,
        env.clientSecret ?? '',
        `client credentials of client '${env.client}'`,
      );
      token = { header: t.header, renewAt: t.renewAt };
      return token.header;
    }
    if (refreshToken) {
      // Start from the stored access token, as the CLI does, unless it is expired or was refused.
      if (!force && !storedAccessUsed && env.accessToken) {
        storedAccessUsed = true;
        const renewAt = renewalTime(env.accessToken, undefined, now());
        if (renewAt === undefined || now() < renewAt) {
          token = { header: `${env.accessTokenType || 'bearer'} ${env.accessToken}`, renewAt };
          return token.header;
        }
      }
      storedAccessUsed = true;
      const t = await uaaGrant(
        info,
        { grant_type: 'refresh_token', refresh_token: refreshToken },
        'bosh_cli',
        '',
        'refresh token (user login)',
      );
      if (t.refresh) refreshToken = t.refresh;
      token = { header: t.header, renewAt: t.renewAt };
      try {
        onTokens?.({ accessToken: t.access, accessTokenType: t.type, refreshToken: refreshToken });
      } catch (e) {
        log(`saving refreshed tokens failed: ${(e as Error).message}`);
      }
      return token.header;
    }
    return undefined;
  }

  return {
    async header(force: boolean): Promise<string | undefined> {
      const info = await opts.info();
      if (info.user_authentication.type === 'basic') {
        if (!env.client) return undefined;
        return 'Basic ' + Buffer.from(`${env.client}:${env.clientSecret ?? ''}`).toString('base64');
      }
      if (!force && isTokenUsable(token, now())) return token.header;
      if (tokenFetch) return tokenFetch;
      // One fetch at a time; cleared after it settles (not inside it: a fetch that needs no network,
      // like using the stored token, settles before the assignment would happen).
      const fetching = fetchToken(info, force);
      tokenFetch = fetching;
      const clear = () => {
        if (tokenFetch === fetching) tokenFetch = undefined;
      };
      fetching.then(clear, clear);
      return fetching;
    },
    invalidate(): void {
      token = undefined;
    },
  };
}
