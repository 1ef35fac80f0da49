// Putting the snapshot on every master: streamed from the workstation through the SSH channel's stdin
// (read in chunks with backpressure, never whole in memory) and hashed on the VM as it arrives, then
// checked there — that sha256 equal to the workstation's, and `snapshot status` (etcdutl or etcdctl,
// src/etcd/version.ts) reading the file written to the same revision, key count and hash. A file
// already there with the right sha256 is not sent again (a resumed run). No `vscode` import here.
import * as fs from 'fs';
import { finished } from 'stream/promises';
import { shellQuote } from '../util/shell';
import { parseSnapshotStatus } from '../etcd/parsers';
import { RESUME_ADVICE, StepError } from '../recovery/context';
import { DisasterRun } from './context';
import {
  parseSha256Sum,
  sha256OnVm,
  snapshotStatusOnVm,
  uploadSnapshot,
  validateRemotePath,
  type RestoreTool,
} from './restoreCommands';
import type { SnapshotFacts } from './restoreChecks';

/**
 * DisasterRun that also says which step it is in (for commands it emits itself, like the upload),
 * and polls with backoff: soon after the action first (most waits end within a second), then less
 * often, up to the interval the caller gave.
 */
export class RestoreRun extends DisasterRun {
  currentStep = 'precheck';

  override setStep(s: string): void {
    super.setStep(s);
    this.currentStep = s;
  }

  override until<T>(what: string, ms: number, f: () => Promise<T | undefined>, interval = 400): Promise<T> {
    let gap = Math.min(100, interval);
    let next = 0;
    return super.until(
      what,
      ms,
      async () => {
        if (Date.now() < next) return undefined;
        const v = await f();
        next = Date.now() + gap;
        gap = Math.min(gap * 2, interval);
        return v;
      },
      Math.min(50, interval),
    );
  }
}

/** The sha256 `sha256sum` printed for the file; null when it failed (no such file). */
export async function sha256On(run: RestoreRun, host: string, remotePath: string): Promise<string | null> {
  const r = await run.exec({ host, ...sha256OnVm(remotePath) }, { allowFail: true, timeoutMs: 600_000 });
  const sha = parseSha256Sum(r.stdout);
  return r.code === 0 ? sha : null;
}

/**
 * One streamed command on a master, shown as a command event and its end (exit code, duration):
 * stdin from a local file (the upload) or stdout to one (the download), never whole in memory;
 * `open` makes the stream once the master's connection is up.
 * A transport failure or a non-zero exit is a StepError with `failure`'s wording. Returns the
 * command's stdout (empty when it went to a file).
 */
async function streamed(
  run: RestoreRun,
  host: string,
  c: { command: string; shown: string; purpose: string; mutates: boolean; timeoutMs: number },
  open: () => { stdin: fs.ReadStream } | { stdoutTo: fs.WriteStream },
  failure: { transport: string; exit: string; advice: string },
): Promise<string> {
  run.checkAbort();
  const h = await run.host(host);
  const step = run.currentStep;
  const time = () => new Date().toISOString();
  run.emit({ type: 'command', time: time(), step, host, command: c.shown, purpose: c.purpose, mutates: c.mutates });
  const started = Date.now();
  const io = open();
  let code: number | null = null;
  let signal: string | null = null;
  let stderr = '';
  let stdout = '';
  try {
    ({ code, signal, stderr, stdout } = await h.exec(c.command, { sudo: true, timeoutMs: c.timeoutMs, ...io }));
    if ('stdoutTo' in io) await finished(io.stdoutTo);
  } catch (e) {
    throw new StepError(`${failure.transport}: ${(e as Error).message}`, RESUME_ADVICE);
  } finally {
    if ('stdin' in io) io.stdin.destroy();
    else io.stdoutTo.destroy();
    run.emit({
      type: 'command-done',
      time: time(),
      step,
      host,
      command: c.command,
      exitCode: code,
      signal,
      durationMs: Date.now() - started,
    });
  }
  if (code !== 0) throw new StepError(`${failure.exit} ${code ?? signal}: ${stderr.trim()}`, failure.advice);
  return stdout;
}

/**
 * Streams the local file to `remotePath` on the master through the run's visible command events;
 * returns the sha256 the VM computed of what it received (null if it printed none).
 */
export async function upload(
  run: RestoreRun,
  host: string,
  localFile: string,
  remotePath: string,
  timeoutMs: number,
): Promise<string | null> {
  run.checkAbort();
  const c = uploadSnapshot(remotePath);
  const out = await streamed(
    run,
    host,
    { ...c, shown: `${c.command}  < ${localFile}`, mutates: true, timeoutMs },
    () => ({ stdin: fs.createReadStream(localFile, { highWaterMark: 1 << 20 }) }),
    {
      transport: `uploading the snapshot to ${host} failed`,
      exit: `uploading the snapshot to ${host} exited`,
      advice: RESUME_ADVICE,
    },
  );
  return parseSha256Sum(out);
}

/**
 * Streams a file from a master to the workstation (`sudo cat`, piped to disk with backpressure, mode
 * 0600, never whole in memory), so that a snapshot already on one VM is verified like a local one
 * and then put on every master from there.
 */
export async function download(run: RestoreRun, host: string, remotePath: string, localFile: string): Promise<void> {
  run.checkAbort();
  const command = `cat -- ${shellQuote(validateRemotePath(remotePath))}`;
  await streamed(
    run,
    host,
    {
      command,
      shown: `${command}  > ${localFile}`,
      purpose: 'copy the snapshot to the workstation to verify it (streamed)',
      mutates: false,
      timeoutMs: 1_800_000,
    },
    () => ({ stdoutTo: fs.createWriteStream(localFile, { flags: 'wx', mode: 0o600 }) }),
    {
      transport: `copying ${remotePath} from ${host} failed`,
      exit: `reading ${remotePath} on ${host} exited`,
      advice: 'Check the path on that master (it must be a snapshot file), then run again.',
    },
  );
}

/**
 * The snapshot on `host` at `remotePath` is the verified one: same sha256, and `snapshot status`
 * there reads the same revision, keys and hash. `localFile` given: uploaded first unless already there.
 */
export async function placeSnapshot(
  run: RestoreRun,
  host: string,
  snap: SnapshotFacts,
  remotePath: string,
  tool: RestoreTool,
  opts: { localFile?: string; uploadMs: number },
): Promise<void> {
  let sha = opts.localFile ? await sha256On(run, host, remotePath) : null;
  if (opts.localFile && sha === snap.sha256)
    run.info(`${host}: ${remotePath} is already there (same sha256): not sent again`);
  else {
    // hashed on the VM while it arrived; a path already on the VMs is read there
    sha = opts.localFile
      ? await upload(run, host, opts.localFile, remotePath, opts.uploadMs)
      : await sha256On(run, host, remotePath);
  }
  run.check(
    `sha256 of the snapshot on ${host}`,
    sha === snap.sha256,
    sha === snap.sha256
      ? `${sha.slice(0, 16)}… as on the workstation`
      : `${sha ?? 'unreadable'} on the VM, ${snap.sha256} expected: the transfer was damaged (run again)`,
  );
  const st = await run.exec({ host, ...snapshotStatusOnVm(remotePath, tool) }, { timeoutMs: 600_000 });
  let status;
  try {
    status = parseSnapshotStatus(st.stdout);
  } catch (e) {
    throw new StepError(`reading \`snapshot status\` on ${host} failed: ${(e as Error).message}`, RESUME_ADVICE);
  }
  const same =
    status.revision === snap.revision &&
    status.totalKeys === snap.totalKeys &&
    parseInt(status.hash, 16) === parseInt(snap.hash, 16);
  run.check(
    `snapshot status on ${host}`,
    same,
    `revision ${status.revision}, ${status.totalKeys} keys, hash ${status.hash}` +
      (same ? '' : ` — expected revision ${snap.revision}, ${snap.totalKeys} keys, hash ${snap.hash}`),
  );
}

/**
 * A path already on every master (no upload): read there — the same sha256 on every master — and
 * described as SnapshotFacts from `snapshot status` (no metadata: no time, no etcd version).
 */
export async function factsOnVms(
  run: RestoreRun,
  hosts: string[],
  remotePath: string,
  tool: RestoreTool,
): Promise<{ facts?: SnapshotFacts; problem?: string }> {
  const shas = await Promise.all(hosts.map(async (h) => ({ h, sha: await sha256On(run, h, remotePath) })));
  const missing = shas.filter((s) => !s.sha).map((s) => s.h);
  if (missing.length) return { problem: `${remotePath} cannot be read on ${missing.join(', ')}` };
  if (new Set(shas.map((s) => s.sha)).size !== 1)
    return {
      problem: `${remotePath} differs between the masters (${shas.map((s) => `${s.h}: ${s.sha!.slice(0, 16)}…`).join(', ')}): every master must restore from the same snapshot`,
    };
  const st = await run.exec(
    { host: hosts[0], ...snapshotStatusOnVm(remotePath, tool) },
    { allowFail: true, timeoutMs: 600_000 },
  );
  try {
    const s = parseSnapshotStatus(st.stdout);
    return {
      facts: {
        file: remotePath,
        source: 'vm',
        sha256: shas[0].sha!,
        size: s.totalSize,
        revision: s.revision,
        totalKeys: s.totalKeys,
        hash: s.hash,
      },
    };
  } catch (e) {
    return { problem: `\`snapshot status\` cannot read ${remotePath}: ${st.stderr.trim() || (e as Error).message}` };
  }
}
