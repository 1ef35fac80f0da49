// bosh-etcd defrag / recover-nospace: the maintenance flows (src/maintenance) from a terminal, in
// the same style as `bosh-etcd recover` (recover.ts): the plan and every command printed, y/N in a
// terminal, nothing changed without a terminal unless --yes, a Markdown transcript.
// No `vscode` import here.
import {
  defragCluster,
  defragConsequences,
  formatBytes,
  recoverNospace,
  DEFAULT_PAUSE_MS,
  type DefragMemberResult,
  type MaintenanceEvent,
  type MaintenanceOutcome,
} from '../maintenance';
import { EXIT } from './exitCodes';
import { readWords, takeCommonOption, unexpectedWord, UsageError, type CommonOptions } from './args';
import { confirmRun, defaultTranscriptDir, isSharedRunEvent, lineWriter, printSharedRunEvent, type CliIo } from './io';
import { exitCodeOf } from './recover';
import { withDeployment } from './session';

export const MAINTENANCE_COMMANDS: readonly string[] = ['defrag', 'recover-nospace'];

export const MAINTENANCE_USAGE = `  bosh-etcd defrag          --deployment D [--dry-run] [--yes] [--pause-seconds N] [--force]
                            [--break-lock] [--transcript-dir DIR] [--known-hosts FILE]
  bosh-etcd recover-nospace --deployment D [--dry-run] [--yes] [--pause-seconds N]
                            [--break-lock] [--transcript-dir DIR] [--known-hosts FILE]

Both hold the cluster lock of the recovery flows for the whole run: while another run (a recovery,
a restore, another maintenance run) holds it they refuse and name it (exit 3); a stale lock is broken
only with --break-lock.

defrag defragments every etcd member one at a time, followers first and the leader last, only when
every member is healthy; after each member its health and raft index are checked before the next,
with a pause between members (--pause-seconds, default ${DEFAULT_PAUSE_MS / 1000}). A member being defragmented answers
no reads or writes. Members less than 10 % / 1 MiB fragmented are skipped (--force: all), so running
it again after an interruption continues with the members not yet done.
recover-nospace clears the NOSPACE alarm: compaction to the current revision, the rolling
defragmentation, alarm disarm, a test write, then the size in use against the job's quota. CORRUPT
is never disarmed (replace that member); with a member down it refuses (replace it first).
exit codes as for recover (bosh-etcd --help), and 8: recover-nospace: the data needs more than the quota (raise it).`;

interface MaintenanceArgs extends CommonOptions {
  cmd: string;
  force: boolean;
  pauseSeconds?: number;
}

export function parseMaintenanceArgs(argv: string[]): MaintenanceArgs {
  const a: MaintenanceArgs = { cmd: '', dryRun: false, yes: false, breakLock: false, force: false };
  readWords(argv, (x, value) => {
    if (!a.cmd) a.cmd = x;
    else if (takeCommonOption(a, x, value, ['deployment', 'yes', 'dryRun', 'breakLock', 'transcriptDir', 'knownHosts']))
      return;
    else if (x === '--force') {
      if (a.cmd !== 'defrag') throw new UsageError('--force is an option of defrag');
      a.force = true;
    } else if (x === '--pause-seconds') {
      const v = value();
      if (!/^\d+(\.\d+)?$/.test(v)) throw new UsageError(`--pause-seconds needs a number of seconds (got "${v}")`);
      a.pauseSeconds = Number(v);
    } else throw unexpectedWord(x);
  });
  return a;
}

function printer(out: NodeJS.WritableStream, err: NodeJS.WritableStream): (e: MaintenanceEvent) => void {
  const w = lineWriter(out);
  const { line } = w;
  const sizes = (r: DefragMemberResult) =>
    r.before && r.after
      ? `${formatBytes(r.before.dbSize)} (${formatBytes(r.before.dbSizeInUse)} in use) → ${formatBytes(r.after.dbSize)}`
      : r.before
        ? `${formatBytes(r.before.dbSize)} (${formatBytes(r.before.dbSizeInUse)} in use)`
        : '';
  return (e) => {
    if (isSharedRunEvent(e)) return printSharedRunEvent(e, w, err);
    switch (e.type) {
      case 'plan':
        line('');
        for (const s of e.lines) line(s);
        break;
      case 'step-start':
        line(`\n== ${e.title}`);
        break;
      case 'command':
        line(e.skipped ? `[${e.host}] (not run: ${e.skipped}) $ ${e.command}` : `[${e.host}] $ ${e.command}`);
        break;
      case 'member-done':
        line(
          `-- ${e.result.label}: ${e.result.outcome} ${sizes(e.result)}${e.result.reason ? ` (${e.result.reason})` : ''}`,
        );
        break;
      case 'pause':
        line(`   pausing ${Math.round(e.ms / 100) / 10} s before ${e.next}`);
        break;
      case 'step-done':
        line(`-- done${e.detail ? `: ${e.detail}` : ''}`);
        break;
      case 'step-failed':
        err.write(`\nFAILED: ${e.error}\n  what to do: ${e.advice}\n`);
        break;
      case 'done':
        break;
    }
  };
}

/** As recover (exitCodeOf), plus done / nothing-to-do (0) and a quota too small for the data (8). */
function maintenanceExitCode(o: MaintenanceOutcome): number {
  if (o === 'done' || o === 'nothing-to-do') return EXIT.OK;
  return o === 'quota-too-small' ? EXIT.QUOTA_TOO_SMALL : exitCodeOf({ outcome: o });
}

export async function maintenanceMain(argv: string[], io: CliIo): Promise<number> {
  let a: MaintenanceArgs;
  try {
    a = parseMaintenanceArgs(argv);
  } catch (e) {
    io.err.write(`bosh-etcd: ${(e as Error).message}\nusage:\n${MAINTENANCE_USAGE}\n`);
    return EXIT.USAGE;
  }
  return withDeployment(io, a.deployment, { knownHosts: a.knownHosts, what: `running ${a.cmd}` }, async (run) => {
    const { session, signal, deployment } = run;
    const common = {
      dryRun: a.dryRun,
      breakLock: a.breakLock,
      signal,
      transcriptDir: a.transcriptDir ?? defaultTranscriptDir(),
      onEvent: printer(io.out, io.err),
      pauseMs: a.pauseSeconds !== undefined ? a.pauseSeconds * 1000 : undefined,
    };
    /** The consequences, then confirmRun's rule (as recover): --yes, no terminal: no change, else y/N. */
    const confirmWith = async (consequences: string[], what: string): Promise<boolean> => {
      io.out.write(`\n${consequences.map((c) => `- ${c}`).join('\n')}\n`);
      return confirmRun(io, {
        yes: a.yes,
        signal,
        notATerminal: `not changing anything. Re-run with --yes to ${what}, or --dry-run to only see the plan.`,
        question: 'Proceed? [y/N] ',
      });
    };
    io.out.write(`Observing the etcd members of ${deployment}…\n`);
    const res =
      a.cmd === 'defrag'
        ? await defragCluster(session, {
            ...common,
            force: a.force,
            confirm: (plan) => confirmWith(defragConsequences(plan), 'defragment'),
          })
        : await recoverNospace(session, {
            ...common,
            confirm: (plan) =>
              confirmWith(
                [
                  `the history before revision ${plan.revision} is compacted away for good (watchers further behind must re-list)`,
                  ...defragConsequences(plan.defrag),
                  'then NOSPACE is disarmed and a test key is written and deleted',
                ],
                'recover from NOSPACE',
              ),
          });
    const ok = ['done', 'dry-run', 'nothing-to-do'].includes(res.outcome);
    const stream = ok ? io.out : io.err;
    stream.write(`\n${res.outcome.toUpperCase()}: ${res.message}\n`);
    if (res.advice && res.outcome !== 'refused') stream.write(`what to do: ${res.advice}\n`);
    if (res.transcriptPath) io.out.write(`transcript: ${res.transcriptPath}\n`);
    return maintenanceExitCode(res.outcome);
  });
}
