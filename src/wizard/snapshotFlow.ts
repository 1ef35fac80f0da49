// Snapshots from the extension, independent of VS Code: "Take etcd Snapshot" (deployment → a
// streamed save with a progress in bytes that can be cancelled → the file, with Reveal) and "Show
// etcd Snapshots…" (age, size, revision, verified → verify / delete / reveal). Every prompt goes
// through the Ui seam.
import type { DeploymentSession } from '../session/types';
import type { SaveSnapshotOptions, SavedSnapshot, SnapshotEntry, VerifyResult } from '../snapshots';
import { formatBytes } from '../maintenance';
import { explainForOperator } from '../util/errors';
import { CancelledError, isCancelled, type PickItem, type Ui } from '../ui/ui';
import { chooseDeployment, type DeploymentChoiceModel } from './chooseDeployment';
import { refusedUntrusted } from './trust';

export interface SnapshotModel extends DeploymentChoiceModel {
  deploymentSession(envName: string, deployment: string): Promise<DeploymentSession>;
}

export interface SnapshotDeps {
  ui: Ui;
  model: SnapshotModel;
  saveSnapshot(session: DeploymentSession, opts: SaveSnapshotOptions): Promise<SavedSnapshot>;
  listSnapshots(dir: string, opts?: { deployment?: string }): Promise<SnapshotEntry[]>;
  verifySnapshot(file: string): Promise<VerifyResult>;
  deleteSnapshot(file: string): string[];
  trusted(): boolean | Promise<boolean>;
  /** The folder (boshEtcd.snapshots.directory, ~ expanded; default ~/.bosh-etcd/snapshots). */
  snapshotDir(): string;
  /** Shows the file in the operating system's file explorer. */
  reveal(file: string): Promise<void>;
  /** Verification results of this window, so the list shows what was checked (kept by the caller). */
  checked: Map<string, VerifyResult>;
  /** Opens "Restore etcd from Snapshot…" on this file (absent: not offered). */
  restore?(e: SnapshotEntry): Promise<void>;
}

export const REVEAL_ACTION = 'Reveal in File Explorer';
export const SHOW_SNAPSHOTS_ACTION = 'Show Snapshots';

export interface TakeSnapshotResult {
  outcome: 'saved' | 'cancelled' | 'failed' | 'aborted';
  saved?: SavedSnapshot;
  envName?: string;
  deployment?: string;
}

/** The CLI's words in the core's advice, said the extension's way. */
export function adviceForUi(text: string): string {
  return text
    .replace(/give another one with --dir/g, 'set another folder in the boshEtcd.snapshots.directory setting')
    .replace(/Give a writable folder with --dir/g, 'Set a writable folder in the boshEtcd.snapshots.directory setting');
}

/** "3 min", "5 h", "2 d": the age of a snapshot at a glance. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** The progress line of a save: bytes written, of the expected total when known. */
export function progressText(written: number, total: number | undefined): string {
  return total ? `${formatBytes(written)} of ${formatBytes(total)}` : `${formatBytes(written)}`;
}

/** What the list says of a snapshot's integrity. */
export function verificationText(e: SnapshotEntry, checked?: VerifyResult): string {
  if (checked) return checked.ok ? '$(pass) verified now' : `$(error) FAILED: ${checked.reason}`;
  if (e.metadataError) return `$(warning) metadata unreadable: ${e.metadataError}`;
  if (e.metadata) return '$(pass) verified when saved (sha256 recorded)';
  return '$(question) not verified (no metadata): Verify reads it whole';
}

export function snapshotItem(e: SnapshotEntry, checked?: VerifyResult): PickItem<SnapshotEntry> {
  return {
    label: `$(database) ${e.deployment ?? e.name}${e.revision ? ` · rev ${e.revision}` : ''}`,
    description: `${formatAge(e.ageMs)} ago · ${formatBytes(e.size)}${e.metadata ? ` · from ${e.metadata.environment}` : ''}`,
    detail: `${verificationText(e, checked)} · ${e.name}`,
    value: e,
  };
}

export async function takeSnapshot(
  deps: SnapshotDeps,
  pre: { envName?: string; deployment?: string } = {},
): Promise<TakeSnapshotResult> {
  const { ui } = deps;
  if (await refusedUntrusted(deps, 'Taking an etcd snapshot')) return { outcome: 'aborted' };
  let envName: string, deployment: string;
  try {
    ({ envName, deployment } = await chooseDeployment(ui, deps.model, pre, {
      title: 'Take etcd Snapshot',
      steps: { environment: 1, deployment: 2, total: 2 },
    }));
  } catch (e) {
    if (e instanceof CancelledError) return { outcome: 'aborted' };
    await ui.message('error', explainForOperator(e, 'preparing the snapshot'));
    return { outcome: 'aborted' };
  }
  const dir = deps.snapshotDir();
  let saved: SavedSnapshot;
  try {
    const session = await deps.model.deploymentSession(envName, deployment);
    saved = await ui.progress(
      `Taking an etcd snapshot of ${deployment}`,
      async (p) => {
        const abort = new AbortController();
        p.onCancel(() => abort.abort());
        let shownPercent = 0;
        let lastReport = 0;
        return deps.saveSnapshot(session, {
          dir,
          signal: abort.signal,
          onProgress: ({ written, total }) => {
            const now = Date.now();
            if (now - lastReport < 200 && (!total || written < total)) return;
            lastReport = now;
            const percent = total ? Math.min(100, Math.floor((written / total) * 100)) : 0;
            p.report(progressText(written, total), percent > shownPercent ? percent - shownPercent : undefined);
            shownPercent = Math.max(shownPercent, percent);
          },
        });
      },
      { cancellable: true },
    );
  } catch (e) {
    if (isCancelled(e)) {
      await ui.message('info', `Snapshot of ${deployment} cancelled: no file was kept.`);
      return { outcome: 'cancelled', envName, deployment };
    }
    await ui.message('error', adviceForUi(explainForOperator(e, `taking a snapshot of ${deployment}`)));
    return { outcome: 'failed', envName, deployment };
  }
  const m = saved.metadata;
  const a = await ui.message(
    'info',
    `Saved the etcd snapshot of ${deployment} at revision ${m.revision} (${formatBytes(m.size)}, ${m.totalKeys} keys, from ${m.member.name}) to ${saved.file}. Verified: etcd's sha256 and the database structure.`,
    REVEAL_ACTION,
    SHOW_SNAPSHOTS_ACTION,
  );
  if (a === REVEAL_ACTION) await deps.reveal(saved.file);
  if (a === SHOW_SNAPSHOTS_ACTION) await showSnapshots(deps, { deployment });
  return { outcome: 'saved', saved, envName, deployment };
}

export interface ShowSnapshotsResult {
  listed: SnapshotEntry[];
  chosen?: SnapshotEntry;
  action?: 'verify' | 'delete' | 'reveal' | 'restore';
  verification?: VerifyResult;
  deleted?: string[];
}

export async function showSnapshots(
  deps: SnapshotDeps,
  pre: { deployment?: string } = {},
): Promise<ShowSnapshotsResult> {
  const { ui } = deps;
  const out: ShowSnapshotsResult = { listed: [] };
  if (await refusedUntrusted(deps, 'The etcd snapshot list')) return out;
  const dir = deps.snapshotDir();
  try {
    out.listed = await deps.listSnapshots(dir, { deployment: pre.deployment });
  } catch (e) {
    await ui.message('error', explainForOperator(e, `listing the snapshots in ${dir}`));
    return out;
  }
  if (!out.listed.length) {
    await ui.message(
      'info',
      `No etcd snapshot${pre.deployment ? ` of ${pre.deployment}` : ''} in ${dir}. Run "BOSH etcd: Take etcd Snapshot" to take one.`,
    );
    return out;
  }
  const chosen = await ui.pick(
    out.listed.map((e) => snapshotItem(e, deps.checked.get(e.file))),
    {
      id: 'snapshot',
      title: `etcd snapshots${pre.deployment ? ` of ${pre.deployment}` : ''} in ${dir} (newest first)`,
      placeholder: 'Choose a snapshot to verify, delete or reveal',
    },
  );
  if (!chosen) return out;
  out.chosen = chosen;
  const action = await ui.pick<'verify' | 'delete' | 'reveal' | 'restore'>(
    [
      {
        label: '$(verified) Verify',
        description: "etcd's sha256, the recorded sha256, the database structure",
        value: 'verify',
      },
      { label: `$(folder-opened) ${REVEAL_ACTION}`, value: 'reveal' },
      { label: '$(trash) Delete', description: 'the file and its metadata', value: 'delete' },
      ...(deps.restore
        ? [
            {
              label: '$(history) Restore the cluster from this snapshot…',
              description: 'every master; later writes are lost (asks before anything is stopped)',
              value: 'restore' as const,
            },
          ]
        : []),
    ],
    { id: 'snapshotAction', title: chosen.name },
  );
  if (!action) return out;
  out.action = action;
  switch (action) {
    case 'reveal':
      await deps.reveal(chosen.file);
      return out;
    case 'restore':
      await deps.restore?.(chosen);
      return out;
    case 'verify': {
      const v = await ui.progress(`Verifying ${chosen.name}`, () => deps.verifySnapshot(chosen.file));
      deps.checked.set(chosen.file, v);
      out.verification = v;
      if (v.ok)
        await ui.message(
          'info',
          `${chosen.name} is intact: revision ${v.status.revision}, ${v.status.totalKeys} keys, hash ${v.status.hash}, ${formatBytes(v.size)}${v.metadata ? ', matches its metadata' : ''}.`,
        );
      else await ui.message('error', `${chosen.name} failed verification: ${v.reason} What to do: ${v.advice}`);
      return out;
    }
    case 'delete': {
      const sure = await ui.confirm({
        id: 'deleteSnapshot',
        message: `Delete the etcd snapshot ${chosen.name}?`,
        detail: `${chosen.file} and its metadata are removed for good (${formatBytes(chosen.size)}, taken ${formatAge(chosen.ageMs)} ago).`,
        confirmLabel: 'Delete Snapshot',
        modal: true,
      });
      if (!sure) return out;
      try {
        out.deleted = deps.deleteSnapshot(chosen.file);
        deps.checked.delete(chosen.file);
        await ui.message('info', `Deleted ${out.deleted.join(' and ')}.`);
      } catch (e) {
        await ui.message('error', explainForOperator(e, `deleting ${chosen.file}`));
      }
      return out;
    }
  }
}
