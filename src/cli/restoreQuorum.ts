// `bosh-etcd restore-quorum --deployment D --survivor master/<uuid> [--dry-run] [--yes]`: the
// quorum-loss flow (src/disaster/quorum.ts) from a terminal. Prints the evidence of every master and
// the plan; in a terminal it asks for the survivor (the most advanced preselected when unambiguous)
// and y/N; without one --survivor is required and nothing changes without --yes. No `vscode` import here.
import * as readline from 'readline';
import { restoreQuorum } from '../disaster/quorum';
import { formatQuorumPlan, type QuorumPlan } from '../disaster/quorumPlan';
import { describeEvidence } from '../disaster/evidence';
import { EXIT } from './exitCodes';
import { readWords, takeCommonOption, unexpectedWord, UsageError, type CommonOptions } from './args';
import { confirmRun, defaultTranscriptDir, type CliIo } from './io';
import { exitCodeOf, recoveryPrinter } from './recover';
import { withDeployment } from './session';

export const RESTORE_QUORUM_USAGE = `  bosh-etcd restore-quorum --deployment D [--survivor master/UUID] [--dry-run] [--yes]
                    [--break-lock] [--transcript-dir DIR] [--known-hosts FILE]
      quorum lost (most masters lost their etcd data): force a new cluster from the survivor, add
      the others back; refused while quorum exists (use recover). Without a terminal --survivor is required.`;

export interface RestoreQuorumArgs extends CommonOptions {
  survivor?: string;
}

export function parseRestoreQuorumArgs(argv: string[]): RestoreQuorumArgs {
  const a: RestoreQuorumArgs = { dryRun: false, yes: false, breakLock: false };
  readWords(argv, (x, value) => {
    if (takeCommonOption(a, x, value, ['deployment', 'yes', 'dryRun', 'breakLock', 'transcriptDir', 'knownHosts']))
      return;
    if (x === '--survivor') a.survivor = value();
    else throw unexpectedWord(x);
  });
  if (a.survivor !== undefined && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9-]+$/.test(a.survivor))
    throw new UsageError(`--survivor ${JSON.stringify(a.survivor)} is not of the form master/<uuid>`);
  return a;
}

function ask(io: CliIo, question: string, signal: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: io.input ?? process.stdin, output: process.stderr });
    const done = (v: string | undefined) => {
      rl.close();
      resolve(v);
    };
    signal.addEventListener('abort', () => done(undefined), { once: true });
    rl.on('close', () => resolve(undefined));
    rl.question(question, (answer) => done(answer.trim()));
  });
}

export async function restoreQuorumMain(argv: string[], io: CliIo): Promise<number> {
  let a: RestoreQuorumArgs;
  try {
    a = parseRestoreQuorumArgs(argv);
  } catch (e) {
    io.err.write(`bosh-etcd: ${(e as Error).message}\nusage:\n${RESTORE_QUORUM_USAGE}\n`);
    return EXIT.USAGE;
  }
  if (!a.survivor && !io.interactive && !a.dryRun) {
    io.err.write(
      'bosh-etcd: --survivor master/<uuid> is required without a terminal (run with --dry-run to see the evidence of every master and the ranking).\n',
    );
    return EXIT.USAGE;
  }
  return withDeployment(io, a.deployment, { knownHosts: a.knownHosts, what: 'restoring quorum' }, async (run) => {
    const { session, signal, deployment } = run;
    io.out.write(`Reading the evidence of every master of ${deployment}…\n`);
    const chooseSurvivor = async (plan: QuorumPlan) => {
      if (!io.interactive) return undefined;
      io.out.write(`\n${plan.ranking.ranked.map((e, i) => `  ${i + 1}. ${describeEvidence(e)}`).join('\n')}\n`);
      const pre = plan.ranking.preselected?.label;
      if (!pre) io.out.write(`No automatic choice: ${plan.ranking.ambiguity}. Type the survivor explicitly.\n`);
      const answer = await ask(io, `Survivor${pre ? ` [${pre}]` : ''}: `, signal);
      if (answer === undefined) return undefined;
      return answer === '' ? pre : answer;
    };
    const confirm = async (plan: QuorumPlan): Promise<boolean> => {
      io.out.write('\n' + formatQuorumPlan(plan) + '\n\n');
      return confirmRun(io, {
        yes: a.yes,
        signal,
        notATerminal: 'not changing anything. Re-run with --yes, or --dry-run to see the plan.',
        question: `This stops kube-apiserver and etcd on every master and rebuilds the cluster from ${plan.survivor}; what the others had beyond it is lost (their data is kept aside). Proceed? [y/N] `,
      });
    };
    const res = await restoreQuorum(session, {
      survivor: a.survivor,
      dryRun: a.dryRun,
      yes: a.yes,
      breakLock: a.breakLock,
      signal,
      transcriptDir: a.transcriptDir ?? defaultTranscriptDir(),
      chooseSurvivor,
      confirm,
      onEvent: recoveryPrinter(io.out, io.err),
    });
    const ok = res.outcome === 'recovered' || res.outcome === 'dry-run';
    (ok ? io.out : io.err).write(`\n${res.outcome.toUpperCase()}: ${res.message}\n`);
    if (res.advice && !ok) io.err.write(`what to do: ${res.advice}\n`);
    io.out.write(`transcript: ${res.transcriptPath}\n`);
    return exitCodeOf(res);
  });
}
