// Key material for SSH: fresh key pairs (as `bosh ssh` makes them), OpenSSH fingerprints,
// known_hosts lookup, and remote command lines. Plain Node, no `vscode`.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { shellQuote } from '../util/shell';

export interface GeneratedKeyPair {
  /** PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`), kept in memory only. */
  privateKey: string;
  /** OpenSSH public key line `ssh-rsa AAAA…` (no trailing newline, no comment). */
  publicKey: string;
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
}

/** Unsigned big-endian integer as an SSH `mpint` (leading zero when the top bit is set). */
function sshMpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return sshString(v);
}

/** A fresh RSA 2048 key pair, as `bosh ssh` makes one (PKCS#1 private key, authorized_keys line). */
export function generateRsaKeyPair(): GeneratedKeyPair {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return encodeRsaKeyPair(privateKey, publicKey);
}

/**
 * The same, generated on libuv's thread pool: the prime search takes 0.2 to 1 s of CPU and would
 * otherwise block the event loop (and every other SSH setup, etcd call and UI update) meanwhile.
 */
export function generateRsaKeyPairAsync(): Promise<GeneratedKeyPair> {
  return new Promise((resolve, reject) =>
    crypto.generateKeyPair('rsa', { modulusLength: 2048 }, (err, publicKey, privateKey) => {
      if (err) reject(err);
      else resolve(encodeRsaKeyPair(privateKey, publicKey));
    }),
  );
}

/**
 * The first of `n` RSA key pairs generated at once in the thread pool. The prime search's time is
 * random (measured on a 2-core machine: 40 to 310 ms, median ~105 ms; the first of two: median ~80 ms,
 * rarely above 150 ms). The other generations run to their end and are dropped. Each costs a core
 * for that long, so n is capped at the machine's cores. Fails only when every generation failed.
 */
export function generateFirstRsaKeyPair(
  n = 2,
  generate: () => Promise<GeneratedKeyPair> = generateRsaKeyPairAsync,
  cores = os.cpus().length,
): Promise<GeneratedKeyPair> {
  const count = Math.max(1, Math.min(n, cores || 1));
  const runs = Array.from({ length: count }, () => generate());
  return Promise.any(runs).catch((e: AggregateError) => {
    throw e.errors?.[0] ?? e;
  });
}

function encodeRsaKeyPair(privateKey: crypto.KeyObject, publicKey: crypto.KeyObject): GeneratedKeyPair {
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  const blob = Buffer.concat([
    sshString(Buffer.from('ssh-rsa')),
    sshMpint(Buffer.from(jwk.e, 'base64url')),
    sshMpint(Buffer.from(jwk.n, 'base64url')),
  ]);
  return { privateKey: pem, publicKey: `ssh-rsa ${blob.toString('base64')}` };
}

/** The key type named inside an SSH public key blob (its first string), e.g. 'ssh-ed25519'. */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  if (n <= 0 || n > 64 || 4 + n > blob.length) return 'unknown';
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** `SHA256:<base64 without padding>` — what `ssh-keygen -lf` and ssh's prompts print. */
export function sha256Fingerprint(blob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Parses an OpenSSH public key line (`type base64 [comment]`) into its type and raw blob. */
export function parsePublicKeyLine(line: string): { type: string; blob: Buffer } {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2) throw new Error(`Not an OpenSSH public key line: '${line.slice(0, 40)}'`);
  const blob = Buffer.from(parts[1], 'base64');
  const type = keyTypeOfBlob(blob);
  if (type !== parts[0]) throw new Error(`Public key line says '${parts[0]}' but the key inside is '${type}'`);
  return { type, blob };
}

export interface KnownHostEntry {
  marker?: '@cert-authority' | '@revoked';
  /** Comma-separated patterns, or a hashed `|1|salt|hash` entry. */
  hosts: string;
  keyType: string;
  blob: Buffer;
  line: number;
}

/** Parses known_hosts text. Malformed lines are skipped (ssh does the same). */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (parts[0] === '@cert-authority' || parts[0] === '@revoked') marker = parts.shift() as KnownHostEntry['marker'];
    if (parts.length < 3) return;
    const blob = Buffer.from(parts[2], 'base64');
    if (keyTypeOfBlob(blob) !== parts[1]) return;
    out.push({ marker, hosts: parts[0], keyType: parts[1], blob, line: i + 1 });
  });
  return out;
}

/** The name ssh looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re =
    '^' +
    pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.') +
    '$';
  return new RegExp(re, 'i').test(name);
}

/** Does a known_hosts host field match this name (plain patterns with `*`/`?`/`!`, or `|1|` hashed)? */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const h = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return h === hash;
  }
  let matched = false;
  for (const p of field.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) matched = true;
  }
  return matched;
}

export type KnownHostVerdict =
  /** A listed key for this host equals the offered key. */
  | { verdict: 'match' }
  /** The host is listed with a different key of the same type (or the key is @revoked): refuse. */
  | { verdict: 'changed'; line: number }
  /** Not listed (or only with other key types): ask. */
  | { verdict: 'unknown' };

export function checkKnownHosts(entries: KnownHostEntry[], host: string, port: number, blob: Buffer): KnownHostVerdict {
  const name = knownHostsName(host, port);
  const keyType = keyTypeOfBlob(blob);
  let changedLine: number | undefined;
  let ok = false;
  for (const e of entries) {
    if (e.marker === '@cert-authority') continue;
    if (!hostFieldMatches(e.hosts, name)) continue;
    if (e.marker === '@revoked') {
      if (e.blob.equals(blob)) return { verdict: 'changed', line: e.line };
      continue;
    }
    if (e.blob.equals(blob)) ok = true;
    else if (e.keyType === keyType && changedLine === undefined) changedLine = e.line;
  }
  if (ok) return { verdict: 'match' };
  if (changedLine !== undefined) return { verdict: 'changed', line: changedLine };
  return { verdict: 'unknown' };
}

/** Expands `~/` and reads a known_hosts file; a missing file is an empty list. */
export function readKnownHostsFile(file: string): KnownHostEntry[] {
  const p = file.startsWith('~/') ? path.join(os.homedir(), file.slice(2)) : file;
  try {
    return parseKnownHosts(fs.readFileSync(p, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export function expandHome(file: string): string {
  return file.startsWith('~/') ? path.join(os.homedir(), file.slice(2)) : file;
}

/** The command line actually sent: env exports, then the command, optionally wrapped in `sudo -n sh -c`. */
export function buildRemoteCommand(
  command: string,
  opts: { sudo?: boolean; env?: Record<string, string> } = {},
): string {
  let cmd = command;
  if (opts.env) {
    const exports = Object.entries(opts.env).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`Invalid environment variable name '${k}'`);
      return `export ${k}=${shellQuote(v)};`;
    });
    if (exports.length) cmd = `${exports.join(' ')} ${cmd}`;
  }
  return opts.sudo ? `sudo -n sh -c ${shellQuote(cmd)}` : cmd;
}

/** `bosh_` + 15 hex characters, as the bosh CLI names its temporary users (≤ 20 chars). */
export function boshSshUserName(): string {
  return 'bosh_' + crypto.randomUUID().replace(/-/g, '').slice(0, 15);
}

/** Key types listed for this host in known_hosts (not revoked / CA lines), in file order. */
export function knownKeyTypesFor(entries: KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const types: string[] = [];
  for (const e of entries) {
    if (e.marker) continue;
    if (hostFieldMatches(e.hosts, name) && !types.includes(e.keyType)) types.push(e.keyType);
  }
  return types;
}

const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * Host key algorithms to offer, the preferred key types first (as OpenSSH orders them after the
 * keys it already knows). A VM's sshd has several host keys and the Director reports only the RSA
 * one: without this, the server would show its ed25519 key and the pin could never match.
 * `only`: offer nothing else (pinned key).
 */
export function hostKeyAlgorithms(preferredKeyTypes: string[], only: boolean): string[] {
  const algs: string[] = [];
  for (const t of preferredKeyTypes) {
    const fam = t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t];
    for (const a of fam) if (!algs.includes(a)) algs.push(a);
  }
  if (!only) for (const a of DEFAULT_HOST_KEY_ALGORITHMS) if (!algs.includes(a)) algs.push(a);
  return algs;
}
