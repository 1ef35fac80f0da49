// `bosh-etcd recover`: the recovery engine (src/recovery) from a terminal. The plan and every command
// are printed as they run; in a terminal it asks y/N, without one it changes nothing unless --yes.
// No `vscode` import here.
import { formatPlan, runRecovery, type RecoveryEvent, type RecoveryResult } from '../recovery';
import type { DeploymentSession } from '../session/types';
import type { Args } from './args';
import { EXIT } from './exitCodes';
import { confirmRun, defaultTranscriptDir, isSharedRunEvent, lineWriter, printSharedRunEvent, type CliIo } from './io';

type Result = RecoveryResult;
type Targets = string | string[] | 'all-broken';

/** Prints the engine's events as a terminal transcript. */
export function recoveryPrinter(
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): (e: RecoveryEvent<string>) => void {
  const w = lineWriter(out);
  const { line } = w;
  return (e) => {
    if (isSharedRunEvent(e)) return printSharedRunEvent(e, w, err);
    switch (e.type) {
      case 'step-start':
        line(`\n== Step ${e.number}/${e.total}: ${e.title}${e.alreadyDone ? ' (already done)' : ''}`);
        break;
      case 'command':
        line(e.skipped ? `[${e.host}] (skipped: ${e.skipped}) $ ${e.command}` : `[${e.host}] $ ${e.command}`);
        break;
      case 'step-done':
        line(`-- step ${e.number} ${e.skipped ? 'already done' : 'done'}`);
        break;
      case 'step-failed':
        err.write(`\nStep ${e.number} FAILED: ${e.error}\n  what to do: ${e.advice}\n`);
        break;
      default:
        break;
    }
  };
}

/** The exit code of a run's outcome (the words recover, restore and the maintenance flows share). */
export function exitCodeOf(r: { outcome: string }): number {
  switch (r.outcome) {
    case 'recovered':
    case 'dry-run':
      return EXIT.OK;
    case 'refused':
      return EXIT.REFUSED;
    case 'declined':
      return EXIT.DECLINED;
    case 'cancelled':
      return EXIT.CANCELLED;
    default:
      return EXIT.FAILED;
  }
}

/** A lock holder described as stale by src/session/clusterLock.ts's describeLock. */
const isStaleHolder = (holder: string) => /\bSTALE\b/.test(holder);

/** The end of a run: outcome, what to do, the lock holder on a lock refusal, the transcript. */
export function reportRecovery(res: Result, io: CliIo): number {
  if (res.outcome === 'dry-run' && res.plan)
    io.out.write('\n' + formatPlan(res.plan) + '\n\nDry-run: nothing was changed.\n');
  const ok = res.outcome === 'recovered' || res.outcome === 'dry-run';
  const stream = ok ? io.out : io.err;
  if (res.outcome === 'refused' && res.lockHolder) {
    stream.write(`\nREFUSED: another run holds the cluster lock: ${res.lockHolder}\nNothing was changed.\n`);
    stream.write(
      isStaleHolder(res.lockHolder)
        ? 'what to do: the lock is stale; if that run is really gone (check with its operator), run again with --break-lock to break it.\n'
        : 'what to do: wait until that run finishes (or stop it where it runs), then run again.\n',
    );
  } else {
    const summary =
      res.outcome === 'dry-run'
        ? 'nothing was changed'
        : res.outcome === 'refused'
          ? 'nothing was changed (the reasons and what to do are above)'
          : res.message;
    stream.write(`\n${res.outcome.toUpperCase()}: ${summary}\n`);
    if (res.advice && res.outcome !== 'refused') stream.write(`what to do: ${res.advice}\n`);
  }
  if (res.targets?.length) io.out.write(`members: ${res.targets.join(', ')}\n`);
  if (res.transcriptPath) io.out.write(`transcript: ${res.transcriptPath}\n`);
  return exitCodeOf(res);
}

export async function cmdRecover(a: Args, io: CliIo, session: DeploymentSession, signal: AbortSignal): Promise<number> {
  const what = a.allBroken ? 'every broken member' : a.instances.join(', ');
  io.out.write(`Observing ${what} in ${session.deployment}…\n`);
  const confirm = async (plan: Parameters<typeof formatPlan>[0]): Promise<boolean> => {
    io.out.write('\n' + formatPlan(plan) + '\n\n');
    return confirmRun(io, {
      yes: a.yes,
      signal,
      notATerminal:
        'not changing anything. Re-run with --yes to replace the member, or --dry-run to only see the plan.',
      question: `This removes the etcd member of ${what} from the cluster and re-adds it with empty data, as planned above. Proceed? [y/N] `,
    });
  };
  const targets: Targets = a.allBroken ? 'all-broken' : a.instances.length === 1 ? a.instances[0] : a.instances;
  const res = await runRecovery(session, targets, {
    dryRun: a.dryRun,
    learner: a.learner,
    breakLock: a.breakLock,
    signal,
    transcriptDir: a.transcriptDir ?? defaultTranscriptDir(),
    downloadSnapshotTo: a.downloadSnapshot,
    confirm,
    onEvent: recoveryPrinter(io.out, io.err),
  });
  return reportRecovery(res, io);
}
