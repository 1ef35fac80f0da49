// Finds the Director settings the way the bosh CLI does:
// BOSH_ENVIRONMENT (URL or alias of ~/.bosh/config or BOSH_CONFIG), BOSH_CA_CERT (PEM or path),
// BOSH_CLIENT/BOSH_CLIENT_SECRET, stored UAA tokens, and the jump host (BOSH_ALL_PROXY or
// BOSH_GW_HOST/USER/PRIVATE_KEY). Also turns the extension's `boshEtcd.environments` entries into the
// same EnvironmentConfig. Plain Node, no `vscode`; env, fs and home are parameters so tests can vary them.
import * as nodeFs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { BoshError, EnvironmentConfig, GatewayConfig } from './types';

/** The part of `fs` this module uses (so tests can pass a fake or a temp dir). */
export interface ConfigFs {
  readFileSync(p: string, enc: 'utf8'): string;
  existsSync(p: string): boolean;
  writeFileSync(p: string, data: string, opts: { mode: number }): void;
  renameSync(from: string, to: string): void;
  chmodSync(p: string, mode: number): void;
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  fs?: ConfigFs;
  /** Home directory for `~` and the default `~/.bosh/config`. */
  home?: string;
}

/** One `environments:` entry of ~/.bosh/config (yaml.v2 schema `fsConfigSchema_Environment`). */
export interface BoshConfigEntry {
  url: string;
  alias?: string;
  ca_cert?: string;
  username?: string;
  password?: string;
  access_token_type?: string;
  access_token?: string;
  refresh_token?: string;
}

/** An entry of the extension's `boshEtcd.environments` setting. */
export interface SettingsEnvironmentEntry {
  name: string;
  url: string;
  /** Path to a PEM file (`~` expanded). PEM text is accepted too. */
  caCert?: string;
  client?: string;
  /** `ssh+socks5://user@host:port?private-key=/path`, as BOSH_ALL_PROXY. */
  gateway?: string;
}

/** Secrets for a settings entry, from VS Code SecretStorage (never from settings). */
export interface SettingsSecrets {
  clientSecret?: string;
  /** Passphrase of the gateway's private key. */
  gatewayPassphrase?: string;
}

export const DEFAULT_DIRECTOR_PORT = 25555;

function deps(o?: ResolveOptions): { env: NodeJS.ProcessEnv; fs: ConfigFs; home: string } {
  return { env: o?.env ?? process.env, fs: o?.fs ?? (nodeFs as unknown as ConfigFs), home: o?.home ?? os.homedir() };
}

function configError(message: string): BoshError {
  return new BoshError('config', message);
}

/** `~` and `~/x` → home-relative (as the CLI's path expansion). */
export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

// ---------------------------------------------------------------------------------------------
// URLs

/**
 * Director URL as the CLI reads it: only host and port are kept,
 * the scheme is always https, the port defaults to 25555. `x`, `http://x`, `https://x:4443/`,
 * `[::1]:25555`, `https://[2600::1]` all work; a bare IPv6 address without brackets is accepted too.
 */
export function parseDirectorUrl(input: string, defaultPort = DEFAULT_DIRECTOR_PORT): { host: string; port: number } {
  const raw = (input ?? '').trim();
  if (!raw)
    throw configError(
      'Expected a non-empty Director URL: set BOSH_ENVIRONMENT to the Director URL or an alias from ~/.bosh/config.',
    );
  let rest = raw.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  // Drop path, query, fragment and user info.
  rest = rest.split(/[/?#]/)[0];
  if (rest.includes('@')) rest = rest.slice(rest.lastIndexOf('@') + 1);
  let host: string;
  let portStr: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw configError(`Invalid Director URL '${raw}': unclosed '[' in IPv6 address.`);
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after) {
      if (!after.startsWith(':')) throw configError(`Invalid Director URL '${raw}'.`);
      portStr = after.slice(1);
    }
  } else if ((rest.match(/:/g) ?? []).length > 1) {
    host = rest; // bare IPv6
  } else {
    const i = rest.indexOf(':');
    host = i < 0 ? rest : rest.slice(0, i);
    portStr = i < 0 ? undefined : rest.slice(i + 1);
  }
  if (!host) throw configError(`Invalid Director URL '${raw}': no host.`);
  let port = defaultPort;
  if (portStr !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portStr) || Number(portStr) < 1 || Number(portStr) > 65535) {
      throw configError(`Invalid Director URL '${raw}': port '${portStr}' is not a number between 1 and 65535.`);
    }
    port = Number(portStr);
  }
  return { host, port };
}

/** `https://host:port` (IPv6 in brackets). */
export function formatUrl(host: string, port: number): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Normalises anything `bosh -e` accepts to `https://host:port`. */
export function normalizeDirectorUrl(input: string): string {
  const { host, port } = parseDirectorUrl(input);
  return formatUrl(host, port);
}

// ---------------------------------------------------------------------------------------------
// CA certificate

/**
 * A CA value as `--ca-cert`/BOSH_CA_CERT take it: PEM if it contains `BEGIN`, otherwise a file path
 * (`~` expanded). `what` names the setting for the error message.
 */
export function readCaCert(value: string, what: string, o?: ResolveOptions): string {
  const { fs, home } = deps(o);
  if (value === undefined || value === null || value.trim() === '') {
    throw configError(
      `Expected CA cert to be non-empty: ${what} is set but empty. Set it to the Director's CA certificate (a PEM file path or the PEM text), or unset it.`,
    );
  }
  if (value.includes('BEGIN')) return value;
  const p = expandHome(value.trim(), home);
  let text: string;
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch (e) {
    throw configError(
      `Cannot read the Director CA certificate file '${p}' (from ${what}): ${(e as Error).message}. Set ${what} to an existing PEM file or to the PEM text.`,
    );
  }
  if (!text.includes('BEGIN')) {
    throw configError(
      `The file '${p}' (from ${what}) is not a PEM certificate (no 'BEGIN' line). Set ${what} to the Director's CA certificate.`,
    );
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// ~/.bosh/config

export function boshConfigPath(o?: ResolveOptions): string {
  const { env, home } = deps(o);
  const p = env.BOSH_CONFIG && env.BOSH_CONFIG.trim() ? env.BOSH_CONFIG.trim() : path.join(home, '.bosh', 'config');
  return expandHome(p, home);
}

/** Entries of the bosh CLI config file; [] if the file does not exist. */
export function readBoshConfig(o?: ResolveOptions): { path: string; entries: BoshConfigEntry[] } {
  const { fs } = deps(o);
  const p = boshConfigPath(o);
  if (!fs.existsSync(p)) return { path: p, entries: [] };
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(p, 'utf8'));
  } catch (e) {
    throw configError(
      `Cannot read the bosh CLI config '${p}': ${(e as Error).message}. Fix the file or point BOSH_CONFIG at another one.`,
    );
  }
  if (doc === null || doc === undefined) return { path: p, entries: [] };
  const envs = (doc as { environments?: unknown }).environments;
  if (envs === undefined || envs === null) return { path: p, entries: [] };
  if (!Array.isArray(envs)) throw configError(`The bosh CLI config '${p}' is malformed: 'environments' is not a list.`);
  const entries: BoshConfigEntry[] = [];
  for (const e of envs) {
    if (!e || typeof e !== 'object') continue;
    const r = e as Record<string, unknown>;
    const s = (k: string) =>
      typeof r[k] === 'string' && r[k] !== '' ? (r[k] as string) : typeof r[k] === 'number' ? String(r[k]) : undefined;
    const url = s('url');
    if (!url) continue;
    entries.push({
      url,
      alias: s('alias'),
      ca_cert: s('ca_cert'),
      username: s('username'),
      password: s('password'),
      access_token_type: s('access_token_type'),
      access_token: s('access_token'),
      refresh_token: s('refresh_token'),
    });
  }
  return { path: p, entries };
}

/**
 * As the CLI resolves an environment: the entry whose url or alias equals the value; if none, an entry whose
 * url normalises to the same https://host:port (a convenience the CLI does not have); if none,
 * undefined (the value itself is then the URL).
 */
export function findConfigEntry(entries: BoshConfigEntry[], urlOrAlias: string): BoshConfigEntry | undefined {
  const exact = entries.find((e) => e.url === urlOrAlias || e.alias === urlOrAlias);
  if (exact) return exact;
  let norm: string;
  try {
    norm = normalizeDirectorUrl(urlOrAlias);
  } catch {
    return undefined;
  }
  return entries.find((e) => {
    try {
      return normalizeDirectorUrl(e.url) === norm;
    } catch {
      return false;
    }
  });
}

function fromEntry(entry: BoshConfigEntry, configPath: string, o?: ResolveOptions): EnvironmentConfig {
  const cfg: EnvironmentConfig = {
    name: entry.alias ?? entry.url,
    url: normalizeDirectorUrl(entry.url),
    caCert: entry.ca_cert
      ? readCaCert(entry.ca_cert, `ca_cert of '${entry.alias ?? entry.url}' in ${configPath}`, o)
      : undefined,
    client: entry.username,
    clientSecret: entry.password,
    accessToken: entry.access_token,
    accessTokenType: entry.access_token_type,
    refreshToken: entry.refresh_token,
    source: 'bosh-config',
    boshConfig: { path: configPath, url: entry.url },
  };
  return stripUndefined(cfg);
}

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Every environment stored in ~/.bosh/config (for the tree), without env-variable overrides. */
export function listBoshConfigEnvironments(o?: ResolveOptions): EnvironmentConfig[] {
  const { path: p, entries } = readBoshConfig(o);
  return entries.map((e) => fromEntry(e, p, o));
}

/**
 * The environment the bosh CLI would use with no flags: BOSH_ENVIRONMENT resolved through the
 * config file, then BOSH_CA_CERT, BOSH_CLIENT/BOSH_CLIENT_SECRET and the gateway variables applied.
 * Returns undefined when BOSH_ENVIRONMENT is not set; throws BoshError('config') on bad values.
 */
export function resolveFromEnvironment(o?: ResolveOptions): EnvironmentConfig | undefined {
  const { env } = deps(o);
  const target = (env.BOSH_ENVIRONMENT ?? '').trim();
  if (!target) return undefined;
  const { path: p, entries } = readBoshConfig(o);
  const entry = findConfigEntry(entries, target);
  let cfg: EnvironmentConfig;
  if (entry) {
    cfg = fromEntry(entry, p, o);
    cfg.source = 'env';
  } else {
    cfg = { name: target, url: normalizeDirectorUrl(target), source: 'env' };
  }
  if (env.BOSH_CA_CERT !== undefined) {
    cfg.caCert = readCaCert(env.BOSH_CA_CERT, 'BOSH_CA_CERT', o);
  }
  // A non-empty BOSH_CLIENT replaces both client and secret (the secret may then be empty).
  if (env.BOSH_CLIENT !== undefined && env.BOSH_CLIENT !== '') {
    cfg.client = env.BOSH_CLIENT;
    cfg.clientSecret = env.BOSH_CLIENT_SECRET ?? '';
  }
  const gw = resolveGatewayFromEnv(o);
  if (gw) cfg.gateway = gw;
  return stripUndefined(cfg);
}

/** Like resolveFromEnvironment, but a missing BOSH_ENVIRONMENT is an error that says what to set. */
export function requireEnvironment(o?: ResolveOptions): EnvironmentConfig {
  const cfg = resolveFromEnvironment(o);
  if (!cfg) {
    throw configError(
      'No BOSH environment: set BOSH_ENVIRONMENT to the Director URL or an alias from ~/.bosh/config (with BOSH_CLIENT, BOSH_CLIENT_SECRET and BOSH_CA_CERT), or add one to the boshEtcd.environments setting.',
    );
  }
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// Gateway (jump host)

/**
 * `ssh+socks5://user@host:port?private-key=/path/key` (BOSH_ALL_PROXY form). Port defaults to 22.
 * Without private-key the ssh-agent is used. `what` names the setting for errors.
 */
export function parseAllProxy(value: string, what = 'BOSH_ALL_PROXY', o?: ResolveOptions): GatewayConfig {
  const { fs, home } = deps(o);
  const v = value.trim();
  const m = /^([a-z0-9+.-]+):\/\/(.*)$/i.exec(v);
  if (!m) {
    throw configError(`${what} must look like ssh+socks5://user@host:22?private-key=/path/to/key, got '${v}'.`);
  }
  const scheme = m[1].toLowerCase();
  if (scheme !== 'ssh+socks5') {
    throw configError(
      `${what} uses '${scheme}://'; only an SSH jump host is supported: set it to ssh+socks5://user@host:22?private-key=/path/to/key.`,
    );
  }
  let u: URL;
  try {
    u = new URL('http://' + m[2]);
  } catch {
    throw configError(
      `${what} is not a valid URL: '${v}'. Expected ssh+socks5://user@host:22?private-key=/path/to/key.`,
    );
  }
  const user = decodeURIComponent(u.username);
  if (!user)
    throw configError(
      `${what} has no user: set it to ssh+socks5://<user>@${u.hostname || 'host'}:22?private-key=/path/to/key.`,
    );
  if (!u.hostname)
    throw configError(`${what} has no host: expected ssh+socks5://user@host:22?private-key=/path/to/key.`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port ? Number(u.port) : 22;
  const gw: GatewayConfig = { host, port, user };
  const key = u.searchParams.get('private-key');
  if (key !== null) {
    if (!key.trim())
      throw configError(
        `${what} has an empty private-key: give the path of the jump host's private key, or drop it to use the ssh-agent.`,
      );
    const kp = expandHome(key.trim(), home);
    if (!fs.existsSync(kp))
      throw configError(`The jump host private key '${kp}' (from ${what}) does not exist. Fix the private-key= path.`);
    gw.privateKeyPath = kp;
  }
  return gw;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && !/^(false|0|no)$/i.test(v.trim());
}

/**
 * The jump host from the environment: BOSH_ALL_PROXY wins; otherwise BOSH_GW_HOST (`host` or
 * `host:port`) + BOSH_GW_USER (+ BOSH_GW_PRIVATE_KEY), unless BOSH_GW_DISABLE is set.
 */
export function resolveGatewayFromEnv(o?: ResolveOptions): GatewayConfig | undefined {
  const { env, fs, home } = deps(o);
  if (env.BOSH_ALL_PROXY && env.BOSH_ALL_PROXY.trim()) return parseAllProxy(env.BOSH_ALL_PROXY, 'BOSH_ALL_PROXY', o);
  if (truthy(env.BOSH_GW_DISABLE)) return undefined;
  const hostPort = (env.BOSH_GW_HOST ?? '').trim();
  if (!hostPort) {
    if ((env.BOSH_GW_USER ?? '').trim() || (env.BOSH_GW_PRIVATE_KEY ?? '').trim()) {
      throw configError(
        'BOSH_GW_USER/BOSH_GW_PRIVATE_KEY are set but BOSH_GW_HOST is not: set BOSH_GW_HOST to the jump host, or unset them.',
      );
    }
    return undefined;
  }
  const user = (env.BOSH_GW_USER ?? '').trim();
  if (!user)
    throw configError(
      `BOSH_GW_HOST is '${hostPort}' but BOSH_GW_USER is not set: set BOSH_GW_USER to the jump host's SSH user.`,
    );
  let host = hostPort;
  let port = 22;
  const m = /^\[(.+)\](?::(\d+))?$/.exec(hostPort) ?? /^([^:]+)(?::(\d+))?$/.exec(hostPort);
  if (m) {
    host = m[1];
    if (m[2]) port = Number(m[2]);
  }
  if (!(port >= 1 && port <= 65535)) throw configError(`BOSH_GW_HOST '${hostPort}' has an invalid port.`);
  const gw: GatewayConfig = { host, port, user };
  const key = (env.BOSH_GW_PRIVATE_KEY ?? '').trim();
  if (key) {
    const kp = expandHome(key, home);
    if (!fs.existsSync(kp))
      throw configError(
        `The jump host private key '${kp}' (BOSH_GW_PRIVATE_KEY) does not exist. Fix BOSH_GW_PRIVATE_KEY.`,
      );
    gw.privateKeyPath = kp;
  }
  return gw;
}

// ---------------------------------------------------------------------------------------------
// Extension settings

/** An entry of `boshEtcd.environments` plus its secrets from SecretStorage → EnvironmentConfig. */
export function fromSettings(
  entry: SettingsEnvironmentEntry,
  secret?: string | SettingsSecrets,
  o?: ResolveOptions,
): EnvironmentConfig {
  if (!entry || typeof entry !== 'object')
    throw configError('A boshEtcd.environments entry is not an object: each needs at least {"name": …, "url": …}.');
  const name = typeof entry.name === 'string' && entry.name.trim() ? entry.name.trim() : undefined;
  if (!name) throw configError(`A boshEtcd.environments entry has no name: give each entry a "name".`);
  if (typeof entry.url !== 'string' || !entry.url.trim()) {
    throw configError(
      `boshEtcd.environments entry '${name}' has no url: set "url" to the Director address (e.g. 10.0.0.6 or https://10.0.0.6:25555).`,
    );
  }
  const secrets: SettingsSecrets = typeof secret === 'string' ? { clientSecret: secret } : (secret ?? {});
  let url: string;
  try {
    url = normalizeDirectorUrl(entry.url);
  } catch (e) {
    throw configError(`boshEtcd.environments entry '${name}': ${(e as Error).message}`);
  }
  const cfg: EnvironmentConfig = { name, url, source: 'settings' };
  if (entry.caCert !== undefined && entry.caCert !== '') {
    cfg.caCert = readCaCert(entry.caCert, `caCert of boshEtcd.environments entry '${name}'`, o);
  }
  if (entry.client) {
    cfg.client = entry.client;
    cfg.clientSecret = secrets.clientSecret ?? '';
  }
  if (entry.gateway && entry.gateway.trim()) {
    cfg.gateway = parseAllProxy(entry.gateway, `gateway of boshEtcd.environments entry '${name}'`, o);
    if (secrets.gatewayPassphrase) cfg.gateway.passphrase = secrets.gatewayPassphrase;
  }
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// Writing refreshed tokens back

export interface StoredTokens {
  accessToken: string;
  accessTokenType: string;
  refreshToken: string;
}

/**
 * Writes refreshed UAA tokens into the bosh CLI config entry, as the CLI does after a refresh,
 * keeping every other entry and key; mode 0600; atomic (temp file + rename).
 * Returns false if the entry is no longer there (nothing written).
 */
export function saveTokens(target: { path: string; url: string }, tokens: StoredTokens, o?: ResolveOptions): boolean {
  const { fs } = deps(o);
  if (!fs.existsSync(target.path)) return false;
  const doc = YAML.parseDocument(fs.readFileSync(target.path, 'utf8'));
  if (doc.errors.length) {
    throw configError(
      `Cannot update tokens in '${target.path}': ${doc.errors[0].message}. Fix the file (or run bosh log-in).`,
    );
  }
  const envs = doc.get('environments');
  if (!YAML.isSeq(envs)) return false;
  const item = envs.items.find((it) => YAML.isMap(it) && String(it.get('url')) === target.url);
  if (!item || !YAML.isMap(item)) return false;
  item.set('access_token_type', tokens.accessTokenType);
  item.set('access_token', tokens.accessToken);
  item.set('refresh_token', tokens.refreshToken);
  const tmp = `${target.path}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, doc.toString({ lineWidth: 0 }), { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, target.path);
  return true;
}

/** An `onTokens` callback for createDirectorClient that persists tokens of a ~/.bosh/config environment. */
export function tokenSaverFor(env: EnvironmentConfig, o?: ResolveOptions): ((t: StoredTokens) => void) | undefined {
  if (!env.boshConfig) return undefined;
  const target = env.boshConfig;
  return (t) => {
    saveTokens(target, t, o);
  };
}
