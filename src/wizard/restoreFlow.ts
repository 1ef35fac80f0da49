// "Restore etcd from Snapshot…", independent of VS Code: environment → deployment → a local snapshot
// (the snapshot folder, this deployment's first, newest first) → options (dry run; on etcd ≥ 3.5.10
// --bump-revision/--mark-compacted, explained) → the engine (src/disaster/restore.ts) verifies the
// snapshot and checks the masters before anything is stopped, then asks: the review page shows its
// confirmation (the snapshot's revision and time, later writes lost) and the plan, and the operator
// types the deployment's name. The run shows every remote command in a terminal and can be cancelled
// and run again to finish. Every prompt goes through the Ui seam.
import type { DeploymentSession } from '../session/types';
import type { RestoreOptions, RestoreResult } from '../disaster/restore';
import type { DisasterEvent } from '../disaster/context';
import { bumpSupported, type Bump } from '../disaster/restoreCommands';
import type { SnapshotEntry } from '../snapshots';
import { parseEtcdVersion } from '../etcd/version';
import { explainForOperator } from '../util/errors';
import { CancelledError, type PickItem, type Ui } from '../ui/ui';
import { chooseDeployment } from './chooseDeployment';
import type { MaintenanceModel } from './maintenanceFlow';
import type { FlowHost } from './wizardTypes';
import { eventText } from './eventText';
import { restoreReviewMarkdown } from './disasterText';
import { snapshotItem } from './snapshotFlow';
import { reportRunFailure, tell } from './runGate';
import { refusedUntrusted } from './trust';

export interface RestoreWizardDeps extends FlowHost<MaintenanceModel> {
  runRestore(session: DeploymentSession, opts: RestoreOptions): Promise<RestoreResult>;
  listSnapshots(dir: string): Promise<SnapshotEntry[]>;
  snapshotDir(): string;
  showReview(markdown: string, name: string): Promise<void>;
  openHealthPanel(envName: string, deployment: string): void;
}

export interface RestoreWizardPreselect {
  envName?: string;
  deployment?: string;
  /** A snapshot file already chosen (e.g. from the snapshot list). */
  snapshot?: string;
}

export interface RestoreWizardResult {
  outcome: RestoreResult['outcome'] | 'aborted';
  envName?: string;
  deployment?: string;
  snapshot?: string;
  dryRun?: boolean;
  bump?: Bump;
  result?: RestoreResult;
  events: DisasterEvent[];
  reviews: string[];
}

const TITLE = 'Restore etcd from Snapshot';
const TOTAL = 4;
/** The revision bump offered (the CLI's usage suggests the same): far past anything a client saw. */
export const BUMP_REVISION = 1_000_000_000;

/** --bump-revision/--mark-compacted is offered for a snapshot of etcd ≥ 3.5.10 (the engine checks the masters too). */
export function bumpOffered(e: SnapshotEntry): boolean {
  return bumpSupported(parseEtcdVersion(e.metadata?.etcdVersion), 'etcdutl');
}

async function chooseSnapshot(deps: RestoreWizardDeps, deployment: string, file?: string): Promise<SnapshotEntry> {
  const dir = deps.snapshotDir();
  const all = await deps.listSnapshots(dir);
  if (file) {
    const e = all.find((x) => x.file === file);
    if (e) return e;
    throw new Error(`${file} is not in the snapshot folder ${dir}: copy it there (with its .json metadata) first`);
  }
  if (!all.length)
    throw new Error(
      `No etcd snapshot in ${dir}: take one with "BOSH etcd: Take etcd Snapshot" while the cluster is healthy, set the boshEtcd.snapshots.directory setting to the folder that holds yours, or restore a snapshot kept on a VM with bosh-etcd restore --snapshot-on-vm`,
    );
  const ours = all.filter((e) => e.deployment === deployment);
  const items: PickItem<SnapshotEntry>[] = [...ours, ...all.filter((e) => !ours.includes(e))].map((e) => {
    const it = snapshotItem(e);
    return e.deployment === deployment
      ? it
      : { ...it, description: `${it.description ?? ''} · of another deployment (${e.deployment ?? 'unknown'})` };
  });
  const chosen = await deps.ui.pick(items, {
    id: 'snapshot',
    title: `${TITLE}: which snapshot of ${deployment}? (${dir})`,
    placeholder: 'Newest first; every master is restored from the file you choose, later writes are lost',
    step: 3,
    totalSteps: TOTAL,
  });
  if (!chosen) throw new CancelledError();
  return chosen;
}

async function chooseOptions(ui: Ui, snap: SnapshotEntry): Promise<{ dryRun: boolean; bump?: Bump }> {
  type Opt = 'dryRun' | 'bump';
  const offered = bumpOffered(snap);
  const items: PickItem<Opt>[] = [
    {
      label: 'Dry-run',
      description: 'verify the snapshot, check the masters and show every command; stop and change nothing',
      value: 'dryRun',
    },
    ...(offered
      ? [
          {
            label: `Bump the revision by ${BUMP_REVISION.toLocaleString('en')} and mark older revisions compacted`,
            description: 'recommended when Kubernetes ran against this cluster (etcd ≥ 3.5.10)',
            detail:
              'Kubernetes watchers remember the last revision they saw; after a restore the revision goes back, so they could miss or misapply changes. --bump-revision/--mark-compacted move the revision past anything they saw and make every watcher re-list.',
            value: 'bump' as Opt,
            picked: true,
          },
        ]
      : []),
  ];
  const chosen = await ui.pickMany(items, {
    id: 'options',
    title: `${TITLE}: options`,
    placeholder: offered
      ? 'Select options, then OK'
      : `Select options, then OK (--bump-revision/--mark-compacted need etcd 3.5.10 or later; this snapshot is of etcd ${snap.metadata?.etcdVersion ?? 'unknown'})`,
    step: 4,
    totalSteps: TOTAL,
    canPickMany: true,
  });
  if (!chosen) throw new CancelledError();
  return {
    dryRun: chosen.includes('dryRun'),
    bump: chosen.includes('bump') ? { revision: BUMP_REVISION, markCompacted: true } : undefined,
  };
}

export async function runRestoreWizard(
  deps: RestoreWizardDeps,
  pre: RestoreWizardPreselect = {},
): Promise<RestoreWizardResult> {
  const out: RestoreWizardResult = { outcome: 'aborted', events: [], reviews: [] };
  const { ui } = deps;
  if (await refusedUntrusted(deps, 'The etcd restore from a snapshot')) return out;
  let envName: string, deployment: string, snap: SnapshotEntry, options: { dryRun: boolean; bump?: Bump };
  try {
    ({ envName, deployment } = await chooseDeployment(ui, deps.model, pre, {
      title: TITLE,
      steps: { environment: 1, deployment: 2, total: TOTAL },
    }));
    snap = await chooseSnapshot(deps, deployment, pre.snapshot);
    options = await chooseOptions(ui, snap);
  } catch (e) {
    if (e instanceof CancelledError) return out;
    tell(ui, 'error', explainForOperator(e, 'preparing the restore'));
    return out;
  }
  Object.assign(out, { envName, deployment, snapshot: snap.file, ...options });

  const sink = deps.openRunSink(`etcd restore ${deployment}${options.dryRun ? ' (dry-run)' : ''}`);
  const abort = new AbortController();
  sink.onClose(() => abort.abort());
  sink.write(
    `\x1b[1mRestore every master of ${deployment} from ${snap.name}\x1b[0m (environment ${envName})${options.dryRun ? ' — DRY-RUN, nothing will change' : ''}\r\nClose this terminal to stop before the next command.\r\n\r\n`,
  );
  let result: RestoreResult;
  try {
    const session = await deps.model.deploymentSession(envName, deployment);
    result = await ui.progress(
      `Restoring etcd of ${deployment} from a snapshot`,
      async (p) => {
        p.onCancel(() => abort.abort());
        return deps.runRestore(session, {
          snapshot: snap.file,
          dryRun: options.dryRun,
          bump: options.bump,
          // the typed name is checked in `confirm` below, before anything is stopped
          confirmDeployment: deployment,
          signal: abort.signal,
          transcriptDir: deps.transcriptDir(),
          onEvent: (e) => {
            out.events.push(e);
            sink.write(eventText(e));
            if (e.type === 'step-start') p.report(`Step ${e.number}/${e.total}: ${e.title}`);
          },
          confirm: async (lines) => {
            const md = restoreReviewMarkdown(deployment, lines, { dryRun: false });
            out.reviews.push(md);
            await deps.showReview(md, `${deployment}-restore`);
            p.report('Type the deployment name to confirm');
            const typed = await ui.input({
              id: 'confirmDeployment',
              title: `Restore ${deployment} to snapshot revision ${lines[1]?.match(/revision (\d+)/)?.[1] ?? snap.revision ?? '?'} (${snap.metadata?.takenAt ?? snap.takenAt.toISOString()}): every later write is LOST`,
              prompt: `kube-apiserver and etcd stop on every master; the current data is moved aside (kept). Type the deployment name (${deployment}) to restore, or press Escape to change nothing.`,
              validate: (v) =>
                v === deployment ? undefined : `Type ${deployment} exactly to restore (Escape changes nothing)`,
            });
            return typed === deployment;
          },
        });
      },
      { cancellable: true },
    );
  } catch (e) {
    await reportRunFailure(ui, sink, e, `restoring ${deployment}`);
    out.outcome = 'failed';
    return out;
  }
  out.result = result;
  out.outcome = result.outcome;
  sink.finished(result.outcome);
  deps.model.refreshDeployment(envName, deployment);
  if (result.outcome === 'dry-run' && result.plan) {
    const md = restoreReviewMarkdown(deployment, result.plan, { dryRun: true });
    out.reviews.push(md);
    await deps.showReview(md, `${deployment}-restore`);
  }
  switch (result.outcome) {
    case 'recovered': {
      deps.openHealthPanel(envName, deployment);
      const a = await ui.message('info', result.message, 'Open Transcript');
      if (a === 'Open Transcript') await deps.openFile(result.transcriptPath);
      break;
    }
    case 'dry-run':
      await ui.message(
        'info',
        `Dry-run of the restore of ${deployment} from ${snap.name} finished: nothing was stopped or changed. The review page lists every command.`,
      );
      break;
    case 'declined':
      await ui.message('info', `Restore of ${deployment} not confirmed: nothing was stopped or changed.`);
      break;
    default: {
      const a = await ui.message(
        result.outcome === 'cancelled' ? 'warning' : 'error',
        `The restore of ${deployment} ${result.outcome === 'refused' ? 'was refused' : result.outcome === 'cancelled' ? 'was cancelled' : 'stopped'}: ${result.message} ${result.advice ?? ''}${result.outcome === 'refused' ? '' : ' Run the same restore again to finish it.'}`,
        'Open Transcript',
      );
      if (a === 'Open Transcript') await deps.openFile(result.transcriptPath);
    }
  }
  return out;
}
