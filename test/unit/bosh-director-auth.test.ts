// The Director client's auth module alone, against a small UAA in the test (plain HTTP on
// 127.0.0.1: TLS is the transport's job, tested in the testbed tier). The UAA behaves as the real
// one does for the CLI: tokens live 120 s, client-credentials grants return no refresh token.
import * as assert from 'assert';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { createAuth, DirectorTokens, isTokenUsable, renewalTime, uaaTarget } from '../../src/bosh/director/auth';
import type { Exchange } from '../../src/bosh/director/transport';
import { BoshError, DirectorInfo, EnvironmentConfig } from '../../src/bosh/types';

const T0 = 1_800_000_000_000;

function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.sig`;
}

function uaaInfo(url: string): DirectorInfo {
  return {
    name: 'd',
    uuid: 'u',
    version: '280.0.0',
    user: null,
    user_authentication: { type: 'uaa', options: { url } },
  };
}

interface Grant {
  path: string;
  authorization: string;
  form: URLSearchParams;
}

/** A UAA: POST /oauth/token, 120 s tokens, a refresh token only for the refresh_token grant. */
class TestUaa {
  readonly grants: Grant[] = [];
  reject = false;
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      this.grants.push({ path: req.url ?? '', authorization: req.headers.authorization ?? '', form });
      res.setHeader('Content-Type', 'application/json');
      if (this.reject || req.method !== 'POST' || req.url !== '/oauth/token') {
        res.statusCode = 401;
        res.end(JSON.stringify({ error: 'unauthorized', error_description: 'Bad credentials' }));
        return;
      }
      const n = this.grants.length;
      const answer: Record<string, unknown> = { access_token: `token-${n}`, token_type: 'bearer', expires_in: 120 };
      if (form.get('grant_type') === 'refresh_token') answer.refresh_token = `refresh-${n}`;
      res.end(JSON.stringify(answer));
    });
  });
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Plain-HTTP exchange to the target's host and port (the transport would add TLS). */
const plainExchange: Exchange = (t, method, path, headers, body) =>
  new Promise((resolve, reject) => {
    const req = http.request({ host: t.host, port: t.port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });

describe('Director client auth (src/bosh/director/auth.ts)', () => {
  describe('token lifetime decisions', () => {
    it('renews a 120 s token 24 s before it expires (20% of its life), a long one 60 s before', () => {
      assert.strictEqual(renewalTime('opaque', 120, T0), T0 + 96_000);
      assert.strictEqual(renewalTime('opaque', 3600, T0), T0 + 3_540_000);
    });

    it('reads the expiry from the JWT when the answer has no expires_in, and none from an opaque token', () => {
      const token = jwt({ exp: (T0 + 100_000) / 1000 });
      assert.strictEqual(renewalTime(token, undefined, T0), T0 + 80_000);
      assert.strictEqual(renewalTime('opaque', undefined, T0), undefined);
    });

    it('uses a cached token until its renewal time, one without expiry until it is refused', () => {
      assert.ok(isTokenUsable({ header: 'bearer a', renewAt: T0 + 1 }, T0));
      assert.ok(!isTokenUsable({ header: 'bearer a', renewAt: T0 }, T0));
      assert.ok(isTokenUsable({ header: 'bearer a' }, T0));
      assert.ok(!isTokenUsable(undefined, T0));
    });

    it('talks to UAA where /info says: its own port at the root path, or under a path', () => {
      const own = uaaTarget(uaaInfo('https://10.0.0.5:8443'), 'https://10.0.0.5:25555');
      assert.deepStrictEqual(
        { host: own.host, port: own.port, pathPrefix: own.pathPrefix },
        { host: '10.0.0.5', port: 8443, pathPrefix: '' },
      );
      const mounted = uaaTarget(uaaInfo('https://uaa.example.com/uaa/'), 'https://d:25555');
      assert.deepStrictEqual(
        { host: mounted.host, port: mounted.port, pathPrefix: mounted.pathPrefix },
        { host: 'uaa.example.com', port: 443, pathPrefix: '/uaa' },
      );
      assert.throws(
        () => uaaTarget({ ...uaaInfo(''), user_authentication: { type: 'uaa', options: {} } }, 'https://d:25555'),
        (e: unknown) => e instanceof BoshError && /gives no UAA url/.test(e.message),
      );
    });
  });

  describe('against a UAA on its own port', () => {
    const uaa = new TestUaa();
    let clock = T0;
    const env: EnvironmentConfig = {
      name: 'test',
      url: 'https://127.0.0.1:25555',
      client: 'ops_manager',
      clientSecret: 's3cret',
      source: 'env',
    };
    before(() => uaa.start());
    after(() => uaa.stop());
    beforeEach(() => {
      uaa.grants.length = 0;
      uaa.reject = false;
      clock = T0;
    });
    const auth = (e: EnvironmentConfig = env, onTokens?: (t: DirectorTokens) => void) =>
      createAuth({
        env: e,
        exchange: plainExchange,
        info: () => Promise.resolve(uaaInfo(`https://127.0.0.1:${uaa.port}`)),
        onTokens,
        log: () => undefined,
        now: () => clock,
      });

    it('gets a client-credentials token at /oauth/token with the client id and secret, and caches it', async () => {
      const a = auth();
      assert.strictEqual(await a.header(false), 'bearer token-1');
      clock += 95_000;
      assert.strictEqual(await a.header(false), 'bearer token-1');
      assert.strictEqual(uaa.grants.length, 1);
      const g = uaa.grants[0];
      assert.strictEqual(g.path, '/oauth/token');
      assert.strictEqual(g.form.get('grant_type'), 'client_credentials');
      assert.strictEqual(g.authorization, 'Basic ' + Buffer.from('ops_manager:s3cret').toString('base64'));
    });

    it('without a refresh token, authenticates again with the client credentials when the token is about to expire', async () => {
      const a = auth();
      assert.strictEqual(await a.header(false), 'bearer token-1');
      clock += 97_000; // 23 s left of 120 s: inside the renewal margin
      assert.strictEqual(await a.header(false), 'bearer token-2');
      assert.deepStrictEqual(
        uaa.grants.map((g) => g.form.get('grant_type')),
        ['client_credentials', 'client_credentials'],
      );
    });

    it('after the Director refuses the token, invalidate + force fetch exactly one new token', async () => {
      const a = auth();
      await a.header(false);
      a.invalidate();
      assert.strictEqual(await a.header(true), 'bearer token-2');
      assert.strictEqual(await a.header(false), 'bearer token-2');
      assert.strictEqual(uaa.grants.length, 2);
    });

    it('requests made together share one grant', async () => {
      const a = auth();
      const headers = await Promise.all([a.header(false), a.header(false), a.header(false)]);
      assert.deepStrictEqual(headers, ['bearer token-1', 'bearer token-1', 'bearer token-1']);
      assert.strictEqual(uaa.grants.length, 1);
    });

    it('a UAA that rejects the client is one auth error naming the client, not a retry loop', async () => {
      uaa.reject = true;
      const a = auth();
      await assert.rejects(
        a.header(false),
        (e: unknown) =>
          e instanceof BoshError &&
          e.kind === 'auth' &&
          /client credentials of client 'ops_manager'/.test(e.message) &&
          /BOSH_CLIENT and BOSH_CLIENT_SECRET/.test(e.message),
      );
      assert.strictEqual(uaa.grants.length, 1);
    });

    it('a user login: an expired stored access token is refreshed as bosh_cli and the new tokens are handed back', async () => {
      const saved: DirectorTokens[] = [];
      const login: EnvironmentConfig = {
        name: 'login',
        url: env.url,
        source: 'bosh-config',
        accessToken: jwt({ exp: (T0 - 1000) / 1000 }),
        accessTokenType: 'bearer',
        refreshToken: 'stored-refresh',
      };
      const a = auth(login, (t) => saved.push(t));
      assert.strictEqual(await a.header(false), 'bearer token-1');
      const g = uaa.grants[0];
      assert.strictEqual(g.form.get('grant_type'), 'refresh_token');
      assert.strictEqual(g.form.get('refresh_token'), 'stored-refresh');
      assert.strictEqual(g.authorization, 'Basic ' + Buffer.from('bosh_cli:').toString('base64'));
      assert.deepStrictEqual(saved, [{ accessToken: 'token-1', accessTokenType: 'bearer', refreshToken: 'refresh-1' }]);
      clock += 100_000;
      assert.strictEqual(await a.header(false), 'bearer token-2');
      assert.strictEqual(uaa.grants[1].form.get('refresh_token'), 'refresh-1');
    });

    it('a still valid stored access token is used without asking UAA', async () => {
      const stored = jwt({ exp: (T0 + 600_000) / 1000 });
      const a = auth({ ...env, client: undefined, accessToken: stored, refreshToken: 'r' });
      assert.strictEqual(await a.header(false), `bearer ${stored}`);
      assert.strictEqual(uaa.grants.length, 0);
    });

    it('a basic-auth Director gets the client id and secret, never a UAA call', async () => {
      const a = createAuth({
        env,
        exchange: plainExchange,
        info: () => Promise.resolve({ ...uaaInfo(''), user_authentication: { type: 'basic' as const, options: {} } }),
        log: () => undefined,
      });
      assert.strictEqual(await a.header(false), 'Basic ' + Buffer.from('ops_manager:s3cret').toString('base64'));
      assert.strictEqual(uaa.grants.length, 0);
    });
  });
});
