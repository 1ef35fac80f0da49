// What every `bosh-etcd` command shares for talking to the operator: the streams, the y/N question,
// Ctrl-C handling and small text formatting. No `vscode` import here.
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import type { DeploymentSession } from '../session/types';
import { CancelledError } from '../util/cancel';
import { EXIT } from './exitCodes';
import { formatBytes } from '../maintenance/plan';

export interface CliIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** stdin and stdout are a terminal: questions are asked (y/N). */
  interactive: boolean;
  /** Opens the deployment (tests inject one). */
  open?: (deployment: string) => DeploymentSession;
  /** Where questions are read from (default process.stdin). */
  input?: NodeJS.ReadableStream;
  /** Ends the process at once (a second Ctrl-C); default process.exit. */
  exit?: (code: number) => void;
}

export interface QuestionOptions {
  input?: NodeJS.ReadableStream;
  /** Where the question is written (default process.stderr: stdout stays the command's output). */
  output?: NodeJS.WritableStream;
  /** An abort (the first Ctrl-C, when the terminal delivers it as a signal) answers no. */
  signal?: AbortSignal;
}

/**
 * Asks a y/N question. Anything but y/yes is no, and so are Ctrl-C at the question, the end of input
 * (stdin closed) and an abort of the signal: the promise always settles, it never hangs.
 */
export function askYesNo(question: string, opts: QuestionOptions = {}): Promise<boolean> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stderr;
  return new Promise((resolve) => {
    if (opts.signal?.aborted) return resolve(false);
    const rl = readline.createInterface({ input, output });
    let settled = false;
    const finish = (yes: boolean, note?: string) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      if (note) output.write(note);
      rl.close();
      resolve(yes);
    };
    const onAbort = () => finish(false, '\n(interrupted: answered no)\n');
    // In a terminal readline reads Ctrl-C as a key and reports it here (no process signal).
    rl.on('SIGINT', () => finish(false, '^C (answered no)\n'));
    rl.on('close', () => finish(false, '\n(end of input: answered no)\n'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    rl.question(question, (answer) => finish(/^y(es)?$/i.test(answer.trim())));
  });
}

export interface Interrupts {
  /** Aborted by the first Ctrl-C / SIGTERM (its reason is a CancelledError). */
  readonly signal: AbortSignal;
  dispose(): void;
}

/**
 * Ctrl-C and SIGTERM during a command: the first aborts the run through the signal and lets it clean
 * up (close connections, release the lock, remove temporary users); a second one exits at once with
 * EXIT.CANCELLED.
 */
export function handleInterrupts(io: CliIo, whatHappens: string): Interrupts {
  const ac = new AbortController();
  const onSignal = () => {
    if (!ac.signal.aborted) {
      io.err.write(`\nInterrupted: ${whatHappens}. Press Ctrl-C again to exit at once without cleaning up.\n`);
      ac.abort(new CancelledError('Interrupted (Ctrl-C)'));
      return;
    }
    io.err.write(
      '\nInterrupted again: exiting now. Temporary SSH users left on the VMs are recorded and removed by the next run.\n',
    );
    (io.exit ?? process.exit)(EXIT.CANCELLED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * The confirmation of every command that changes the cluster: --yes proceeds; without a terminal
 * nothing changes (`notATerminal` says so and how to proceed); otherwise the y/N `question`.
 */
export function confirmRun(
  io: CliIo,
  opts: { yes: boolean; signal: AbortSignal; notATerminal: string; question: string },
): Promise<boolean> {
  if (opts.yes) {
    io.out.write('--yes given: proceeding.\n');
    return Promise.resolve(true);
  }
  if (!io.interactive) {
    io.err.write(`Not a terminal and no --yes: ${opts.notATerminal}\n`);
    return Promise.resolve(false);
  }
  return askYesNo(opts.question, { input: io.input, signal: opts.signal });
}

/** Asks only in a terminal; otherwise no. For host keys and confirmations. */
export function questioner(io: CliIo, signal?: AbortSignal): ((question: string) => Promise<boolean>) | undefined {
  return io.interactive ? (q) => askYesNo(q, { input: io.input, signal }) : undefined;
}

/** Sizes in binary units, as everywhere the tool prints them (KiB, MiB, GiB: etcd's quota counts in bytes). */
export function formatSize(n: number): string {
  return formatBytes(n);
}

/** Writes one line ensuring it starts on a fresh line after streamed command output. */
export function lineWriter(out: NodeJS.WritableStream): { line: (s: string) => void; raw: (text: string) => void } {
  let atLineStart = true;
  return {
    line: (s) => {
      if (!atLineStart) out.write('\n');
      out.write(s + '\n');
      atLineStart = true;
    },
    raw: (text) => {
      out.write(text);
      atLineStart = text.endsWith('\n');
    },
  };
}

/** The events every run prints alike (recover, restore, restore-quorum, defrag, recover-nospace). */
export type SharedRunEvent =
  | { type: 'observed'; summary: string[] }
  | { type: 'refused'; refusals: { code: string; message: string; advice: string }[] }
  | { type: 'output'; text: string }
  | { type: 'command-done'; exitCode: number | null; signal: string | null }
  | { type: 'check'; ok: boolean; name: string; detail: string }
  | { type: 'info'; message: string }
  | { type: 'cancelled'; message: string };

const SHARED_RUN_EVENTS: ReadonlySet<string> = new Set<SharedRunEvent['type']>([
  'observed',
  'refused',
  'output',
  'command-done',
  'check',
  'info',
  'cancelled',
]);

export const isSharedRunEvent = <E extends { type: string }>(e: E): e is Extract<E, { type: SharedRunEvent['type'] }> =>
  SHARED_RUN_EVENTS.has(e.type);

/** Prints one of the shared run events: lines to `w` (refusals to `err`), command output as it came. */
export function printSharedRunEvent(
  e: SharedRunEvent,
  w: ReturnType<typeof lineWriter>,
  err: NodeJS.WritableStream,
): void {
  switch (e.type) {
    case 'observed':
      for (const s of e.summary) w.line(`  ${s}`);
      break;
    case 'refused':
      for (const r of e.refusals) err.write(`REFUSED (${r.code}): ${r.message}\n  what to do: ${r.advice}\n`);
      break;
    case 'output':
      w.raw(e.text);
      break;
    case 'command-done':
      if (e.exitCode !== 0) w.line(`  (exit ${e.exitCode ?? 'none'}${e.signal ? `, signal ${e.signal}` : ''})`);
      break;
    case 'check':
      w.line(`  ${e.ok ? 'ok  ' : 'FAIL'} ${e.name}: ${e.detail}`);
      break;
    case 'info':
      w.line(`  ${e.message}`);
      break;
    case 'cancelled':
      w.line(`Cancelled: ${e.message}`);
      break;
  }
}

/** Where the Markdown transcripts of recover, defrag and recover-nospace go without --transcript-dir. */
export function defaultTranscriptDir(): string {
  return path.join(os.homedir(), '.bosh-etcd', 'transcripts');
}
