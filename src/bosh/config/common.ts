// What every part of the environment resolution shares: the injectable env, fs and home (so tests
// can vary them), the BoshError('config') the operator sees, `~` expansion, and reading a CA
// certificate given as PEM text or a file path. Plain Node, no `vscode`.
import * as nodeFs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BoshError } from '../types';

/** The part of `fs` the config modules use (so tests can pass a fake or a temp dir). */
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

export function deps(o?: ResolveOptions): { env: NodeJS.ProcessEnv; fs: ConfigFs; home: string } {
  return { env: o?.env ?? process.env, fs: o?.fs ?? (nodeFs as unknown as ConfigFs), home: o?.home ?? os.homedir() };
}

export function configError(message: string): BoshError {
  return new BoshError('config', message);
}

/** `~` and `~/x` → home-relative (as the CLI's path expansion). */
export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

export function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

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
