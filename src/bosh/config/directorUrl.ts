// Director addresses as the bosh CLI reads them (`bosh -e x`, BOSH_ENVIRONMENT, `url:` in
// ~/.bosh/config): host and port only, always https, port 25555 unless given. Plain Node, no `vscode`.
import { configError } from './common';

export const DEFAULT_DIRECTOR_PORT = 25555;

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
