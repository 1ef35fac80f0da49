import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import {
  findConfigEntry,
  fromSettings,
  listBoshConfigEnvironments,
  normalizeDirectorUrl,
  parseAllProxy,
  parseDirectorUrl,
  requireEnvironment,
  resolveFromEnvironment,
  resolveGatewayFromEnv,
  saveTokens,
  tokenSaverFor,
} from '../../src/bosh/config';
import { BoshError } from '../../src/bosh/types';

const PEM_A = '-----BEGIN CERTIFICATE-----\nMIIA-config-file-ca\n-----END CERTIFICATE-----\n';
const PEM_B = '-----BEGIN CERTIFICATE-----\nMIIB-env-ca\n-----END CERTIFICATE-----\n';

function isConfigError(re: RegExp) {
  return (e: unknown) => e instanceof BoshError && e.kind === 'config' && re.test(e.message);
}

describe('bosh environment resolution (src/bosh/config/)', () => {
  let home: string;
  const cfgPath = () => path.join(home, '.bosh', 'config');
  const writeConfig = (doc: unknown) => {
    fs.mkdirSync(path.dirname(cfgPath()), { recursive: true });
    fs.writeFileSync(cfgPath(), typeof doc === 'string' ? doc : YAML.stringify(doc), { mode: 0o600 });
  };
  const resolve = (env: NodeJS.ProcessEnv) => resolveFromEnvironment({ env, home });

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-config-test-'));
    fs.writeFileSync(path.join(home, 'ca.pem'), PEM_B);
    fs.writeFileSync(path.join(home, 'gw_key'), 'not-a-real-key\n', { mode: 0o600 });
    writeConfig({
      environments: [
        {
          url: '172.16.1.11',
          ca_cert: PEM_A,
          alias: 'pks',
          username: 'ops_manager',
          password: 'from-config',
        },
        {
          url: 'https://10.0.0.6:25555',
          alias: 'lab',
          access_token_type: 'bearer',
          access_token: 'at-stored',
          refresh_token: 'rt-stored',
        },
      ],
    });
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  describe('URLs', () => {
    it('forces https and defaults the port to 25555, as the CLI', () => {
      assert.strictEqual(normalizeDirectorUrl('172.16.1.11'), 'https://172.16.1.11:25555');
      assert.strictEqual(normalizeDirectorUrl('http://director.example'), 'https://director.example:25555');
      assert.strictEqual(normalizeDirectorUrl('https://host:4443/'), 'https://host:4443');
      assert.strictEqual(normalizeDirectorUrl('host:4443'), 'https://host:4443');
      assert.strictEqual(normalizeDirectorUrl('https://[2600:1f18::e31f]:25555'), 'https://[2600:1f18::e31f]:25555');
      assert.strictEqual(normalizeDirectorUrl('[::1]'), 'https://[::1]:25555');
      assert.strictEqual(normalizeDirectorUrl('fd00::6'), 'https://[fd00::6]:25555');
      assert.deepStrictEqual(parseDirectorUrl('https://[2600:1f18::e31f]:25555'), {
        host: '2600:1f18::e31f',
        port: 25555,
      });
      assert.deepStrictEqual(parseDirectorUrl('https://uaa.example/uaa', 443), { host: 'uaa.example', port: 443 });
    });
    it('rejects empty URLs and bad ports', () => {
      assert.throws(() => normalizeDirectorUrl(''), isConfigError(/BOSH_ENVIRONMENT/));
      assert.throws(() => normalizeDirectorUrl('host:99999'), isConfigError(/port '99999'/));
      assert.throws(() => normalizeDirectorUrl('host:abc'), isConfigError(/port 'abc'/));
    });
  });

  describe('BOSH_ENVIRONMENT and ~/.bosh/config', () => {
    it('is undefined without BOSH_ENVIRONMENT; requireEnvironment says what to set', () => {
      assert.strictEqual(resolve({}), undefined);
      assert.throws(() => requireEnvironment({ env: {}, home }), isConfigError(/set BOSH_ENVIRONMENT/));
    });

    it('resolves an alias to its entry: URL, CA, client and secret from the config file', () => {
      const e = resolve({ BOSH_ENVIRONMENT: 'pks' })!;
      assert.strictEqual(e.url, 'https://172.16.1.11:25555');
      assert.strictEqual(e.name, 'pks');
      assert.strictEqual(e.caCert, PEM_A);
      assert.strictEqual(e.client, 'ops_manager');
      assert.strictEqual(e.clientSecret, 'from-config');
      assert.strictEqual(e.source, 'env');
      assert.deepStrictEqual(e.boshConfig, { path: cfgPath(), url: '172.16.1.11' });
    });

    it('matches the entry by its url too, and by the normalised URL', () => {
      assert.strictEqual(resolve({ BOSH_ENVIRONMENT: '172.16.1.11' })!.client, 'ops_manager');
      assert.strictEqual(resolve({ BOSH_ENVIRONMENT: 'https://172.16.1.11:25555' })!.client, 'ops_manager');
      assert.strictEqual(findConfigEntry([{ url: 'a' }, { url: 'b', alias: 'a' }], 'a')!.url, 'a');
    });

    it('an unknown value is the URL itself, without credentials', () => {
      const e = resolve({ BOSH_ENVIRONMENT: '192.168.50.6' })!;
      assert.deepStrictEqual(e, { name: '192.168.50.6', url: 'https://192.168.50.6:25555', source: 'env' });
    });

    it('reads stored tokens of a user login', () => {
      const e = resolve({ BOSH_ENVIRONMENT: 'lab' })!;
      assert.strictEqual(e.accessToken, 'at-stored');
      assert.strictEqual(e.accessTokenType, 'bearer');
      assert.strictEqual(e.refreshToken, 'rt-stored');
      assert.strictEqual(e.client, undefined);
    });

    it('BOSH_CONFIG points at another config file (~ expanded)', () => {
      fs.writeFileSync(
        path.join(home, 'other.yml'),
        YAML.stringify({ environments: [{ url: '10.9.9.9', alias: 'pks', username: 'other' }] }),
      );
      const e = resolve({ BOSH_ENVIRONMENT: 'pks', BOSH_CONFIG: '~/other.yml' })!;
      assert.strictEqual(e.url, 'https://10.9.9.9:25555');
      assert.strictEqual(e.client, 'other');
    });

    it('lists every config environment for the tree', () => {
      assert.deepStrictEqual(
        listBoshConfigEnvironments({ env: {}, home }).map((e) => [e.name, e.url, e.source]),
        [
          ['pks', 'https://172.16.1.11:25555', 'bosh-config'],
          ['lab', 'https://10.0.0.6:25555', 'bosh-config'],
        ],
      );
    });

    it('a malformed config file is a config error naming the file', () => {
      writeConfig('environments: [\n');
      assert.throws(() => resolve({ BOSH_ENVIRONMENT: 'pks' }), isConfigError(/Cannot read the bosh CLI config/));
      writeConfig('environments: 12\n');
      assert.throws(() => resolve({ BOSH_ENVIRONMENT: 'pks' }), isConfigError(/not a list/));
    });
  });

  describe('CA certificate', () => {
    it('BOSH_CA_CERT as a path (~ expanded) wins over the config ca_cert', () => {
      assert.strictEqual(resolve({ BOSH_ENVIRONMENT: 'pks', BOSH_CA_CERT: '~/ca.pem' })!.caCert, PEM_B);
      assert.strictEqual(resolve({ BOSH_ENVIRONMENT: 'pks', BOSH_CA_CERT: path.join(home, 'ca.pem') })!.caCert, PEM_B);
    });
    it('BOSH_CA_CERT containing BEGIN is the PEM itself', () => {
      assert.strictEqual(resolve({ BOSH_ENVIRONMENT: 'x', BOSH_CA_CERT: PEM_B })!.caCert, PEM_B);
    });
    it('empty, missing or non-PEM values are errors that name BOSH_CA_CERT', () => {
      assert.throws(
        () => resolve({ BOSH_ENVIRONMENT: 'x', BOSH_CA_CERT: '' }),
        isConfigError(/Expected CA cert to be non-empty: BOSH_CA_CERT/),
      );
      assert.throws(
        () => resolve({ BOSH_ENVIRONMENT: 'x', BOSH_CA_CERT: '~/nope.pem' }),
        isConfigError(/nope\.pem.*BOSH_CA_CERT/),
      );
      assert.throws(
        () => resolve({ BOSH_ENVIRONMENT: 'x', BOSH_CA_CERT: '~/gw_key' }),
        isConfigError(/not a PEM certificate/),
      );
    });
  });

  describe('client precedence', () => {
    it('a non-empty BOSH_CLIENT replaces client and secret (secret may be empty)', () => {
      const e = resolve({ BOSH_ENVIRONMENT: 'pks', BOSH_CLIENT: 'admin', BOSH_CLIENT_SECRET: 's3cret' })!;
      assert.strictEqual(e.client, 'admin');
      assert.strictEqual(e.clientSecret, 's3cret');
      const noSecret = resolve({ BOSH_ENVIRONMENT: 'pks', BOSH_CLIENT: 'admin' })!;
      assert.strictEqual(noSecret.clientSecret, '', 'the config password is not kept');
    });
    it('BOSH_CLIENT_SECRET alone, or an empty BOSH_CLIENT, changes nothing', () => {
      assert.strictEqual(
        resolve({ BOSH_ENVIRONMENT: 'pks', BOSH_CLIENT_SECRET: 'ignored' })!.clientSecret,
        'from-config',
      );
      const e = resolve({ BOSH_ENVIRONMENT: 'pks', BOSH_CLIENT: '', BOSH_CLIENT_SECRET: 'ignored' })!;
      assert.strictEqual(e.client, 'ops_manager');
      assert.strictEqual(e.clientSecret, 'from-config');
    });
  });

  describe('gateway', () => {
    const key = () => path.join(home, 'gw_key');
    it('parses BOSH_ALL_PROXY=ssh+socks5://user@host:port?private-key=path', () => {
      const e = resolve({
        BOSH_ENVIRONMENT: 'pks',
        BOSH_ALL_PROXY: `ssh+socks5://ubuntu@opsman.example:2222?private-key=${key()}`,
      })!;
      assert.deepStrictEqual(e.gateway, { host: 'opsman.example', port: 2222, user: 'ubuntu', privateKeyPath: key() });
      assert.deepStrictEqual(parseAllProxy('ssh+socks5://ubuntu@[fd00::10]', 'X', { env: {}, home }), {
        host: 'fd00::10',
        port: 22,
        user: 'ubuntu',
      });
      assert.strictEqual(
        parseAllProxy('ssh+socks5://u@h:22?private-key=~/gw_key', 'X', { env: {}, home }).privateKeyPath,
        key(),
      );
    });
    it('BOSH_GW_HOST/USER/PRIVATE_KEY, and BOSH_ALL_PROXY wins over them', () => {
      assert.deepStrictEqual(
        resolveGatewayFromEnv({
          env: { BOSH_GW_HOST: 'jump:2200', BOSH_GW_USER: 'vcap', BOSH_GW_PRIVATE_KEY: '~/gw_key' },
          home,
        }),
        { host: 'jump', port: 2200, user: 'vcap', privateKeyPath: key() },
      );
      assert.deepStrictEqual(resolveGatewayFromEnv({ env: { BOSH_GW_HOST: 'jump', BOSH_GW_USER: 'vcap' }, home }), {
        host: 'jump',
        port: 22,
        user: 'vcap',
      });
      const both = resolveGatewayFromEnv({
        env: { BOSH_ALL_PROXY: 'ssh+socks5://a@proxy:22', BOSH_GW_HOST: 'jump', BOSH_GW_USER: 'vcap' },
        home,
      });
      assert.strictEqual(both!.host, 'proxy');
    });
    it('BOSH_GW_DISABLE turns the BOSH_GW_* gateway off', () => {
      assert.strictEqual(
        resolveGatewayFromEnv({ env: { BOSH_GW_DISABLE: 'true', BOSH_GW_HOST: 'jump', BOSH_GW_USER: 'vcap' }, home }),
        undefined,
      );
      assert.strictEqual(resolveGatewayFromEnv({ env: {}, home }), undefined);
    });
    it('errors say which variable to fix', () => {
      const r = (env: NodeJS.ProcessEnv) => () => resolveGatewayFromEnv({ env, home });
      assert.throws(r({ BOSH_ALL_PROXY: 'socks5://proxy:1080' }), isConfigError(/only an SSH jump host.*ssh\+socks5/));
      assert.throws(r({ BOSH_ALL_PROXY: 'ssh+socks5://proxy:22' }), isConfigError(/BOSH_ALL_PROXY has no user/));
      assert.throws(
        r({ BOSH_ALL_PROXY: 'ssh+socks5://u@proxy:22?private-key=/nonexistent/key' }),
        isConfigError(/\/nonexistent\/key.*BOSH_ALL_PROXY/),
      );
      assert.throws(r({ BOSH_ALL_PROXY: 'just-a-host' }), isConfigError(/must look like ssh\+socks5/));
      assert.throws(r({ BOSH_GW_HOST: 'jump' }), isConfigError(/set BOSH_GW_USER/));
      assert.throws(r({ BOSH_GW_USER: 'vcap' }), isConfigError(/BOSH_GW_HOST is not/));
      assert.throws(
        r({ BOSH_GW_HOST: 'jump', BOSH_GW_USER: 'v', BOSH_GW_PRIVATE_KEY: '~/missing' }),
        isConfigError(/BOSH_GW_PRIVATE_KEY/),
      );
    });
  });

  describe('extension settings entries', () => {
    it('builds an environment from {name,url,caCert,client,gateway} and the stored secret', () => {
      const e = fromSettings(
        {
          name: 'Lab',
          url: '10.0.0.6',
          caCert: '~/ca.pem',
          client: 'ops_manager',
          gateway: `ssh+socks5://ubuntu@opsman:22?private-key=${path.join(home, 'gw_key')}`,
        },
        { clientSecret: 'sek', gatewayPassphrase: 'pp' },
        { env: {}, home },
      );
      assert.deepStrictEqual(e, {
        name: 'Lab',
        url: 'https://10.0.0.6:25555',
        source: 'settings',
        caCert: PEM_B,
        client: 'ops_manager',
        clientSecret: 'sek',
        gateway: {
          host: 'opsman',
          port: 22,
          user: 'ubuntu',
          privateKeyPath: path.join(home, 'gw_key'),
          passphrase: 'pp',
        },
      });
      assert.strictEqual(
        fromSettings({ name: 'L', url: 'h', client: 'c' }, 'plain-secret', { env: {}, home }).clientSecret,
        'plain-secret',
      );
      assert.strictEqual(
        fromSettings({ name: 'L', url: 'h', client: 'c' }, undefined, { env: {}, home }).clientSecret,
        '',
      );
    });
    it('errors name the settings entry', () => {
      assert.throws(
        () => fromSettings({ name: 'Lab', url: '' }, undefined, { env: {}, home }),
        isConfigError(/'Lab' has no url/),
      );
      assert.throws(() => fromSettings({ name: '', url: 'x' }, undefined, { env: {}, home }), isConfigError(/no name/));
      assert.throws(
        () => fromSettings({ name: 'Lab', url: 'x', caCert: '~/none.pem' }, undefined, { env: {}, home }),
        isConfigError(/caCert of boshEtcd.environments entry 'Lab'/),
      );
      assert.throws(
        () => fromSettings({ name: 'Lab', url: 'x', gateway: 'http://p' }, undefined, { env: {}, home }),
        isConfigError(/gateway of boshEtcd.environments entry 'Lab'/),
      );
    });
  });

  describe('writing refreshed tokens back', () => {
    it('updates only the matching entry, keeps the rest, mode 0600', () => {
      fs.chmodSync(cfgPath(), 0o644);
      const env = resolve({ BOSH_ENVIRONMENT: 'lab' })!;
      const save = tokenSaverFor(env, { env: {}, home })!;
      save({ accessToken: 'at-new', accessTokenType: 'bearer', refreshToken: 'rt-new' });
      const doc = YAML.parse(fs.readFileSync(cfgPath(), 'utf8'));
      assert.deepStrictEqual(doc.environments[1], {
        url: 'https://10.0.0.6:25555',
        alias: 'lab',
        access_token_type: 'bearer',
        access_token: 'at-new',
        refresh_token: 'rt-new',
      });
      assert.deepStrictEqual(doc.environments[0], {
        url: '172.16.1.11',
        ca_cert: PEM_A,
        alias: 'pks',
        username: 'ops_manager',
        password: 'from-config',
      });
      assert.strictEqual(fs.statSync(cfgPath()).mode & 0o777, 0o600);
      assert.deepStrictEqual(fs.readdirSync(path.dirname(cfgPath())), ['config'], 'no temp file left behind');
      assert.strictEqual(resolve({ BOSH_ENVIRONMENT: 'lab' })!.refreshToken, 'rt-new');
    });
    it('does nothing for an entry that is gone or an environment not from the config', () => {
      assert.strictEqual(
        saveTokens(
          { path: cfgPath(), url: 'nope' },
          { accessToken: 'a', accessTokenType: 'bearer', refreshToken: 'r' },
          { env: {}, home },
        ),
        false,
      );
      assert.strictEqual(tokenSaverFor({ name: 'x', url: 'https://x:25555', source: 'env' }), undefined);
    });
  });
});
