// Small helpers to run host commands from the harness. Errors carry the command and its stderr so
// that whoever meets them knows what failed.
import { execFile, spawn } from 'child_process';
import * as net from 'net';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly result: RunResult,
  ) {
    super(`\`${cmd}\` failed (exit ${result.code}): ${(result.stderr || result.stdout).trim().slice(0, 2000)}`);
  }
}

/** Runs a command, resolves with its output; rejects with CommandError on non-zero exit unless allowFail. */
export function run(
  file: string,
  args: string[],
  opts: { input?: string; allowFail?: boolean; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
        const r = { stdout: String(stdout), stderr: String(stderr), code };
        if (code !== 0 && !opts.allowFail) reject(new CommandError([file, ...args].join(' '), r));
        else resolve(r);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** bash -c <script> */
export function bash(script: string, opts: { allowFail?: boolean; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  return run('/bin/bash', ['-c', script], opts);
}

/** Runs a bash script inside the mount namespace of process `nsPid` (a VM). */
export function inVm(nsPid: number, script: string, opts: { allowFail?: boolean; timeoutMs?: number } = {}) {
  return run('/usr/bin/nsenter', ['-m', '-t', String(nsPid), '/bin/bash', '-c', script], {
    ...opts,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' },
  });
}

/** Spawns a process whose stdio goes to a log file descriptor; resolves with its exit code. */
export function spawnToLog(file: string, args: string[], logFd: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', logFd, logFd] });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Thrown from a waitFor check: a condition that waiting will not fix (ends the wait at once). */
export class StopWaiting extends Error {}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes; throws `what` on timeout. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false>,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      if (e instanceof StopWaiting) throw e;
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}` +
          (lastErr ? ` (last error: ${(lastErr as Error).message})` : ''),
      );
    }
    await sleep(intervalMs);
  }
}

export function tcpOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
  });
}

/** Single-quotes a value for bash. */
export function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
