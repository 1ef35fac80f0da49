// The extension's `boshEtcd.environments` setting: one entry (plus its secrets from VS Code
// SecretStorage, never from settings) → EnvironmentConfig. Plain Node, no `vscode`.
import type { EnvironmentConfig } from '../types';
import { configError, readCaCert, ResolveOptions } from './common';
import { normalizeDirectorUrl } from './directorUrl';
import { parseAllProxy } from './gateway';

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
