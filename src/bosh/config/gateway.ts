// The jump host, as the bosh CLI takes it: BOSH_ALL_PROXY=ssh+socks5://user@host:port?private-key=…
// (also the form of a settings entry's `gateway`), or BOSH_GW_HOST / BOSH_GW_USER /
// BOSH_GW_PRIVATE_KEY. Plain Node, no `vscode`.
import type { GatewayConfig } from '../types';
import { configError, deps, expandHome, ResolveOptions } from './common';

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
