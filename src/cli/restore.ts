// `bosh-etcd restore`: every master restored from one snapshot (src/disaster/restore.ts) from a
// terminal. The operator passes the deployment's name again (--confirm-deployment) and --yes (or
// answers y in a terminal); --dry-run prints every command. Printed like `bosh-etcd recover`
// (recover.ts's printer and exit codes). No `vscode` import here.
import { runRestore, type RestoreResult } from '../disaster/restore';
import { EXIT } from './exitCodes';
import { readWords, takeCommonOption, unexpectedWord, UsageError, type CommonOptions } from './args';
import { confirmRun, defaultTranscriptDir, type CliIo } from './io';
import { exitCodeOf, recoveryPrinter } from './recover';
import { deploymentName, withDeployment } from './session';

export const RESTORE_USAGE = `  bosh-etcd restore --deployment D --confirm-deployment D
                    (--snapshot FILE | --snapshot-on-vm master/UUID:PATH | --snapshot-on-vms PATH)
                    [--yes] [--dry-run] [--bump-revision N [--mark-compacted]] [--break-lock]
                    [--transcript-dir DIR] [--known-hosts FILE]

restore brings every master back from the same snapshot (total loss, or a known snapshot preferred):
the snapshot is verified first (a truncated or altered file, or one from another etcd version than
the cluster's, is refused before anything is stopped), streamed to every master and its sha256
checked there (--snapshot-on-vm: a file on one master, copied here and verified first;
--snapshot-on-vms: the same file already at PATH on every master), kube-apiserver and
etcd are stopped on every master, each member is restored with its own name and peer URL, the old data
is moved aside (/var/vcap/store/etcd.bak-<time>, kept), etcd is started on all together, then one
cluster id, every member healthy and hashKV equal are checked before kube-apiserver starts again.
Every write after the snapshot is lost: --confirm-deployment must repeat the deployment's name.
--bump-revision N --mark-compacted (etcd 3.5.10+ with etcdutl): Kubernetes watchers remember the
last revision they saw; bumping the revision past it and marking older ones compacted makes them
re-list instead of missing changes. Running it again after a failure or Ctrl-C finishes the restore.`;

interface RestoreArgs extends CommonOptions {
  snapshot?: string;
  snapshotOnVms?: string;
  /** master/UUID and the path on it. */
  snapshotOnVm?: { vm: string; path: string };
  confirmDeployment?: string;
  bumpRevision?: number;
  markCompacted: boolean;
}

export function parseRestoreArgs(argv: string[]): RestoreArgs {
  const a: RestoreArgs = { yes: false, dryRun: false, markCompacted: false, breakLock: false };
  readWords(argv, (x, value) => {
    if (takeCommonOption(a, x, value, ['deployment', 'yes', 'dryRun', 'breakLock', 'transcriptDir', 'knownHosts']))
      return;
    if (x === '--snapshot') a.snapshot = value();
    else if (x === '--snapshot-on-vms') a.snapshotOnVms = value();
    else if (x === '--snapshot-on-vm') {
      const m = /^([^/:]+\/[^/:]+):(\/.+)$/.exec(value());
      if (!m) throw new UsageError('--snapshot-on-vm needs master/UUID:/absolute/path/of/the/snapshot.db');
      a.snapshotOnVm = { vm: m[1], path: m[2] };
    } else if (x === '--confirm-deployment') a.confirmDeployment = value();
    else if (x === '--mark-compacted') a.markCompacted = true;
    else if (x === '--bump-revision') {
      const v = value();
      if (!/^[1-9][0-9]{0,15}$/.test(v))
        throw new UsageError(`--bump-revision needs a positive whole number (got "${v}")`);
      a.bumpRevision = Number(v);
    } else throw unexpectedWord(x);
  });
  if ([a.snapshot, a.snapshotOnVm, a.snapshotOnVms].filter((x) => x !== undefined).length !== 1)
    throw new UsageError(
      'give exactly one of --snapshot FILE (on this workstation), --snapshot-on-vm master/UUID:PATH or --snapshot-on-vms PATH',
    );
  if (a.markCompacted && a.bumpRevision === undefined)
    throw new UsageError(
      '--mark-compacted goes with --bump-revision N (e.g. --bump-revision 1000000000 --mark-compacted)',
    );
  return a;
}

function report(res: RestoreResult, io: CliIo): number {
  if (res.plan && res.outcome === 'dry-run') io.out.write('\n' + res.plan.join('\n') + '\n');
  const ok = res.outcome === 'recovered' || res.outcome === 'dry-run';
  const stream = ok ? io.out : io.err;
  stream.write(`\n${res.outcome === 'recovered' ? 'RESTORED' : res.outcome.toUpperCase()}: ${res.message}\n`);
  if (res.lockHolder) stream.write(`lock held by: ${res.lockHolder}\n`);
  if (res.advice && !ok) stream.write(`what to do: ${res.advice}\n`);
  if (res.backupDirs?.length) io.out.write(`old data kept in: ${res.backupDirs.join(', ')}\n`);
  io.out.write(`transcript: ${res.transcriptPath}\n`);
  return exitCodeOf(res);
}

/** `bosh-etcd restore …` (argv without the command word). */
export async function restoreMain(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out.write(`usage:\n${RESTORE_USAGE}\n`);
    return EXIT.OK;
  }
  let a: RestoreArgs;
  try {
    a = parseRestoreArgs(argv);
  } catch (e) {
    io.err.write(`bosh-etcd restore: ${(e as Error).message}\nusage:\n${RESTORE_USAGE}\n`);
    return EXIT.USAGE;
  }
  const deployment = deploymentName(a.deployment, io);
  if (!deployment) return EXIT.USAGE;
  if (!a.dryRun && a.confirmDeployment !== deployment) {
    io.err.write(
      `bosh-etcd restore: every write after the snapshot is lost: repeat the deployment's name to confirm (--confirm-deployment ${deployment}), or use --dry-run to see the plan.\n`,
    );
    return EXIT.USAGE;
  }
  return withDeployment(
    io,
    deployment,
    {
      knownHosts: a.knownHosts,
      onInterrupt: 'stopping before the next command (run the restore again to finish it)',
      what: 'restoring from the snapshot',
    },
    async ({ session, signal }) => {
      const res = await runRestore(session, {
        snapshot: (a.snapshot ?? a.snapshotOnVm?.path ?? a.snapshotOnVms)!,
        snapshotOnVms: !!a.snapshotOnVms,
        snapshotVm: a.snapshotOnVm?.vm,
        confirmDeployment: a.confirmDeployment,
        dryRun: a.dryRun,
        bump: a.bumpRevision ? { revision: a.bumpRevision, markCompacted: a.markCompacted } : undefined,
        breakLock: a.breakLock,
        signal,
        transcriptDir: a.transcriptDir ?? defaultTranscriptDir(),
        onEvent: recoveryPrinter(io.out, io.err),
        confirm: async (lines) => {
          io.out.write('\n' + lines.join('\n') + '\n\n');
          return confirmRun(io, {
            yes: a.yes,
            signal,
            notATerminal: 'nothing was stopped or changed. Re-run with --yes to restore.',
            question: `Restore every master of ${deployment} from this snapshot? Later writes are lost. [y/N] `,
          });
        },
      });
      return report(res, io);
    },
  );
}
