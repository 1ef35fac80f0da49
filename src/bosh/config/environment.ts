// The environment the bosh CLI would use with no flags: BOSH_ENVIRONMENT (a URL or an alias of
// ~/.bosh/config), then BOSH_CA_CERT, BOSH_CLIENT / BOSH_CLIENT_SECRET and the jump host variables
// on top. Plain Node, no `vscode`.
import type { EnvironmentConfig } from '../types';
import { configError, deps, readCaCert, ResolveOptions, stripUndefined } from './common';
import { normalizeDirectorUrl } from './directorUrl';
import { findConfigEntry, fromEntry, readBoshConfig } from './boshCliConfig';
import { resolveGatewayFromEnv } from './gateway';

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
