// A UAA-like token service for the BOSH Director stand-in (STAND-IN: a real TKGI Director uses
// the UAA on the Director VM, port 8443). It implements only what the bosh CLI and our client call:
// POST /oauth/token (client_credentials, password, refresh_token), GET /login.
// Lifetimes as a Director's UAA gives them: `bosh_cli` user tokens live 120 s and come with a
// refresh token (one day); client-credentials grants come without a refresh token.
//
// Tokens are JWT-shaped (header.payload.signature, base64url) and HMAC-SHA256 signed with a
// per-process random key, so they verify, expire, and decode like UAA's (the CLI decodes the
// refresh token's payload for "Using environment … as user '…'").
import * as crypto from 'crypto';

export interface UaaClient {
  id: string;
  secret: string;
  scopes: string[];
  /** Allowed grant types (UAA authorized-grant-types). */
  grants: string[];
}

/** A UAA user for the password grant (through the `bosh_cli` client, like `bosh log-in`). */
export interface UaaUser {
  name: string;
  password: string;
  scopes: string[];
}

export interface TokenClaims {
  jti: string;
  sub: string;
  client_id: string;
  cid: string;
  user_name?: string;
  scope: string[];
  grant_type: string;
  iat: number;
  exp: number;
  iss: string;
  /** 'access' | 'refresh' (UAA marks refresh tokens with a `-r` jti suffix; we keep it explicit). */
  typ: 'access' | 'refresh';
}

export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  refresh_token?: string;
  expires_in: number;
  scope: string;
  jti: string;
}

/** An OAuth error as UAA shapes it: {"error":"…","error_description":"…"} with a status. */
export class UaaError extends Error {
  constructor(
    public readonly status: number,
    public readonly error: string,
    description: string,
  ) {
    super(description);
  }
  body(): string {
    return JSON.stringify({ error: this.error, error_description: this.message });
  }
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class TokenService {
  private readonly key = crypto.randomBytes(32);
  private readonly clients = new Map<string, UaaClient>();
  private readonly users = new Map<string, UaaUser>();

  constructor(
    clients: UaaClient[],
    users: UaaUser[],
    private readonly issuer: string,
    private readonly ttl: { clientCredentials: number; user: number; refresh: number },
  ) {
    for (const c of clients) this.clients.set(c.id, c);
    for (const u of users) this.users.set(u.name, u);
  }

  private sign(claims: TokenClaims): string {
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'stand-in' }));
    const body = b64url(JSON.stringify(claims));
    const sig = crypto.createHmac('sha256', this.key).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }

  /** Returns the claims of a valid, unexpired token of the given type, or undefined. */
  verify(token: string, typ: 'access' | 'refresh' = 'access'): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const expected = crypto.createHmac('sha256', this.key).update(`${parts[0]}.${parts[1]}`).digest();
    let given: Buffer;
    try {
      given = Buffer.from(parts[2], 'base64url');
    } catch {
      return undefined;
    }
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return undefined;
    }
    if (claims.typ !== typ) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) return undefined;
    return claims;
  }

  /** Checks HTTP Basic client credentials (constant-time on the secret). */
  authenticateClient(authorization: string | undefined): UaaClient {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
    if (!m) throw new UaaError(401, 'unauthorized', 'Full authentication is required to access this resource');
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new UaaError(401, 'unauthorized', 'Bad credentials');
    // OAuth clients form-urlencode their id and secret inside Basic auth; decode leniently.
    const dec = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        return s;
      }
    };
    const id = dec(decoded.slice(0, colon));
    const secret = dec(decoded.slice(colon + 1));
    const client = this.clients.get(id);
    const a = crypto.createHash('sha256').update(secret).digest();
    const b = crypto
      .createHash('sha256')
      .update(client?.secret ?? crypto.randomBytes(16))
      .digest();
    if (!client || !crypto.timingSafeEqual(a, b)) throw new UaaError(401, 'unauthorized', 'Bad credentials');
    return client;
  }

  private issue(
    client: UaaClient,
    grantType: string,
    scopes: string[],
    userName?: string,
    withRefresh = true,
  ): TokenResponse {
    const nowMs = Date.now();
    const now = Math.floor(nowMs / 1000);
    // exp rounded up, so that a token lives at least its TTL (not up to 1 s less)
    const expIn = (ttl: number) => Math.ceil(nowMs / 1000 + ttl);
    const jti = crypto.randomBytes(16).toString('hex');
    const base = {
      sub: userName ?? client.id,
      client_id: client.id,
      cid: client.id,
      ...(userName ? { user_name: userName } : {}),
      scope: scopes,
      grant_type: grantType,
      iat: now,
      iss: this.issuer,
    };
    const accessTtl = grantType === 'client_credentials' ? this.ttl.clientCredentials : this.ttl.user;
    const access = this.sign({ ...base, jti, exp: expIn(accessTtl), typ: 'access' });
    const resp: TokenResponse = {
      access_token: access,
      token_type: 'bearer',
      expires_in: accessTtl,
      scope: scopes.join(' '),
      jti,
    };
    if (withRefresh)
      resp.refresh_token = this.sign({ ...base, jti: `${jti}-r`, exp: expIn(this.ttl.refresh), typ: 'refresh' });
    return resp;
  }

  /** POST /oauth/token. `form` is the parsed x-www-form-urlencoded body. */
  token(authorization: string | undefined, form: URLSearchParams): TokenResponse {
    const client = this.authenticateClient(authorization);
    const grant = form.get('grant_type');
    if (!grant || !client.grants.includes(grant)) {
      throw new UaaError(401, 'invalid_client', `Unauthorized grant type: ${grant ?? '(none)'}`);
    }
    if (grant === 'client_credentials')
      return this.issue(client, 'client_credentials', client.scopes, undefined, false);
    if (grant === 'refresh_token') {
      const rt = form.get('refresh_token') ?? '';
      const claims = this.verify(rt, 'refresh');
      if (!claims) throw new UaaError(401, 'invalid_token', 'Invalid refresh token (expired or not issued here).');
      if (claims.client_id !== client.id)
        throw new UaaError(401, 'invalid_grant', 'Wrong client for this refresh token.');
      return this.issue(client, claims.grant_type, claims.scope, claims.user_name);
    }
    if (grant === 'password') {
      const user = this.users.get(form.get('username') ?? '');
      const given = crypto
        .createHash('sha256')
        .update(form.get('password') ?? '')
        .digest();
      const want = crypto
        .createHash('sha256')
        .update(user?.password ?? crypto.randomBytes(16))
        .digest();
      if (!user || !crypto.timingSafeEqual(given, want)) throw new UaaError(401, 'unauthorized', 'Bad credentials');
      return this.issue(client, 'password', user.scopes, user.name);
    }
    throw new UaaError(400, 'unsupported_grant_type', `Unsupported grant type: ${grant ?? '(none)'}`);
  }
}
