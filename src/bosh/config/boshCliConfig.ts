// The bosh CLI config file (~/.bosh/config, or BOSH_CONFIG): reading its `environments:` entries,
// finding the one BOSH_ENVIRONMENT names, and writing refreshed UAA tokens back the way the CLI
// does. Plain Node, no `vscode`.
import * as path from 'path';
import * as YAML from 'yaml';
import type { EnvironmentConfig } from '../types';
import { configError, deps, expandHome, readCaCert, ResolveOptions, stripUndefined } from './common';
import { normalizeDirectorUrl } from './directorUrl';

/** One `environments:` entry of ~/.bosh/config (the keys the bosh CLI writes). */
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

export function fromEntry(entry: BoshConfigEntry, configPath: string, o?: ResolveOptions): EnvironmentConfig {
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

/** Every environment stored in ~/.bosh/config (for the tree), without env-variable overrides. */
export function listBoshConfigEnvironments(o?: ResolveOptions): EnvironmentConfig[] {
  const { path: p, entries } = readBoshConfig(o);
  return entries.map((e) => fromEntry(e, p, o));
}

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
