// VS Code glue of the maintenance flows and of the snapshots: the review page (a read-only
// Markdown document), the run terminal, the engines and the file explorer; the flows themselves
// are in maintenanceFlow.ts and snapshotFlow.ts.
import * as vscode from 'vscode';
import { defragCluster, recoverNospace } from '../maintenance';
import { deleteSnapshot, listSnapshots, saveSnapshot, verifySnapshot, type VerifyResult } from '../snapshots';
import type { Ui } from '../ui/ui';
import { RunGate } from './runGate';
import { RecoveryTerminal } from './recoveryTerminal';
import {
  runMaintenance,
  type MaintenanceDeps,
  type MaintenanceFlowResult,
  type MaintenanceModel,
  type MaintenancePreselect,
} from './maintenanceFlow';
import type { MaintenanceKind } from './maintenanceText';
import {
  showSnapshots,
  takeSnapshot,
  type ShowSnapshotsResult,
  type SnapshotDeps,
  type TakeSnapshotResult,
} from './snapshotFlow';

export const MAINTENANCE_REVIEW_SCHEME = 'bosh-etcd-maintenance-plan';

/** What the maintenance flows take from the extension. Read on every run (tests replace the Ui between runs). */
export interface MaintenanceHost {
  ui: Ui;
  model: MaintenanceModel;
  trusted(): boolean | Promise<boolean>;
  transcriptDir(): string;
  pauseSeconds(): number;
  snapshotDir(): string;
  recoverMember(envName: string, deployment: string, instanceId?: string): void;
}

export class MaintenanceWizard implements vscode.Disposable {
  private readonly reviews = new Map<string, string>();
  private readonly sub: vscode.Disposable;
  private readonly checked = new Map<string, VerifyResult>();
  private seq = 0;
  /** The runs' terminals (tests and e2e read their text). */
  readonly terminals: RecoveryTerminal[] = [];
  private readonly gate = new RunGate();

  constructor(private readonly host: () => MaintenanceHost) {
    this.sub = vscode.workspace.registerTextDocumentContentProvider(MAINTENANCE_REVIEW_SCHEME, {
      provideTextDocumentContent: (uri) =>
        this.reviews.get(uri.path) ?? '# This review page is no longer available\n\nRun the command again.',
    });
  }

  private deps(): MaintenanceDeps {
    const host = this.host();
    return {
      ui: host.ui,
      model: host.model,
      defragCluster,
      recoverNospace,
      trusted: () => host.trusted(),
      transcriptDir: () => host.transcriptDir(),
      pauseSeconds: () => host.pauseSeconds(),
      openRunSink: (title) => {
        const pty = new RecoveryTerminal();
        this.terminals.push(pty);
        const term = vscode.window.createTerminal({ name: title, pty, iconPath: new vscode.ThemeIcon('tools') });
        term.show(true);
        return this.gate.track(pty);
      },
      showReview: async (md, deployment) => {
        const path = `/${deployment.replace(/[^A-Za-z0-9._-]/g, '-')}-${++this.seq}.md`;
        this.reviews.set(path, md);
        const doc = await vscode.workspace.openTextDocument(
          vscode.Uri.from({ scheme: MAINTENANCE_REVIEW_SCHEME, path }),
        );
        await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
        await vscode.window.showTextDocument(doc, { preview: false, viewColumn: vscode.ViewColumn.Active });
      },
      openFile: async (p) => {
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(p)));
      },
      recoverMember: (envName, deployment, instanceId) => host.recoverMember(envName, deployment, instanceId),
    };
  }

  private snapshotDeps(): SnapshotDeps {
    const host = this.host();
    return {
      ui: host.ui,
      model: host.model,
      saveSnapshot,
      listSnapshots,
      verifySnapshot: (file) => verifySnapshot(file),
      deleteSnapshot,
      trusted: () => host.trusted(),
      snapshotDir: () => host.snapshotDir(),
      checked: this.checked,
      restore: async (e) => {
        await vscode.commands.executeCommand('boshEtcd.restoreSnapshot', {
          deployment: e.deployment,
          snapshot: e.file,
        });
      },
      reveal: async (file) => {
        try {
          await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(file));
        } catch {
          // No file explorer here (a remote or web window): hand over the path instead.
          await vscode.env.clipboard.writeText(file);
          await host.ui.message('info', `This window cannot open a file explorer; the path was copied: ${file}`);
        }
      },
    };
  }

  async run(kind: MaintenanceKind, pre: MaintenancePreselect = {}): Promise<MaintenanceFlowResult> {
    return this.gate.once<MaintenanceFlowResult>(
      async () => {
        await this.host().ui.message(
          'warning',
          'A maintenance run is already going on in this window: wait for it to finish (or close its terminal to stop it).',
        );
        return { outcome: 'aborted', events: [], reviews: [] };
      },
      () => runMaintenance(this.deps(), kind, pre),
    );
  }

  takeSnapshot(pre: MaintenancePreselect = {}): Promise<TakeSnapshotResult> {
    return takeSnapshot(this.snapshotDeps(), pre);
  }

  showSnapshots(pre: { deployment?: string } = {}): Promise<ShowSnapshotsResult> {
    return showSnapshots(this.snapshotDeps(), pre);
  }

  dispose(): void {
    this.sub.dispose();
  }
}
