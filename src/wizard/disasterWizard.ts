// VS Code glue of the disaster-recovery flows (quorum loss, restore from a snapshot): the review page
// (a read-only Markdown document), the run terminal (the recovery wizard's, recoveryTerminal.ts) and
// the engines; the flows themselves are in quorumFlow.ts and restoreFlow.ts.
import * as vscode from 'vscode';
import { restoreQuorum } from '../disaster/quorum';
import { runRestore } from '../disaster/restore';
import { listSnapshots } from '../snapshots';
import type { Ui } from '../ui/ui';
import { RunGate } from './runGate';
import { RecoveryTerminal } from './recoveryTerminal';
import type { MaintenanceModel } from './maintenanceFlow';
import type { RunSink } from './wizardTypes';
import { runQuorumWizard, type QuorumWizardResult } from './quorumFlow';
import { runRestoreWizard, type RestoreWizardPreselect, type RestoreWizardResult } from './restoreFlow';

export const DISASTER_REVIEW_SCHEME = 'bosh-etcd-disaster-plan';

/** What the flows take from the extension. Read on every run (tests replace the Ui between runs). */
export interface DisasterHost {
  ui: Ui;
  model: MaintenanceModel;
  trusted(): boolean | Promise<boolean>;
  transcriptDir(): string;
  snapshotDir(): string;
  openHealthPanel(envName: string, deployment: string): void;
}

export class DisasterWizard implements vscode.Disposable {
  private readonly reviews = new Map<string, string>();
  private readonly sub: vscode.Disposable;
  private seq = 0;
  /** The runs' terminals (tests and e2e read their text). */
  readonly terminals: RecoveryTerminal[] = [];
  private readonly gate = new RunGate();

  constructor(private readonly host: () => DisasterHost) {
    this.sub = vscode.workspace.registerTextDocumentContentProvider(DISASTER_REVIEW_SCHEME, {
      provideTextDocumentContent: (uri) =>
        this.reviews.get(uri.path) ?? '# This review page is no longer available\n\nRun the command again.',
    });
  }

  private common() {
    const host = this.host();
    return {
      ui: host.ui,
      model: host.model,
      trusted: () => host.trusted(),
      transcriptDir: () => host.transcriptDir(),
      openRunSink: (title: string): RunSink => {
        const pty = new RecoveryTerminal();
        this.terminals.push(pty);
        const term = vscode.window.createTerminal({ name: title, pty, iconPath: new vscode.ThemeIcon('flame') });
        term.show(true);
        return this.gate.track(pty);
      },
      showReview: async (md: string, name: string) => {
        const path = `/${name.replace(/[^A-Za-z0-9._-]/g, '-')}-${++this.seq}.md`;
        this.reviews.set(path, md);
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: DISASTER_REVIEW_SCHEME, path }));
        await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
        await vscode.window.showTextDocument(doc, { preview: false, viewColumn: vscode.ViewColumn.Active });
      },
      openHealthPanel: (envName: string, deployment: string) => host.openHealthPanel(envName, deployment),
      openFile: async (p: string) => {
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(p)));
      },
    };
  }

  private once<R>(busy: R, f: () => Promise<R>): Promise<R> {
    return this.gate.once(async () => {
      await this.host().ui.message(
        'warning',
        'A disaster recovery is already running in this window: wait for it to finish (or close its terminal to stop it).',
      );
      return busy;
    }, f);
  }

  restoreQuorum(pre: { envName?: string; deployment?: string } = {}): Promise<QuorumWizardResult> {
    return this.once<QuorumWizardResult>({ outcome: 'aborted', results: [], events: [], reviews: [] }, () =>
      runQuorumWizard({ ...this.common(), restoreQuorum }, pre),
    );
  }

  restoreSnapshot(pre: RestoreWizardPreselect = {}): Promise<RestoreWizardResult> {
    return this.once<RestoreWizardResult>({ outcome: 'aborted', events: [], reviews: [] }, () =>
      runRestoreWizard(
        {
          ...this.common(),
          runRestore,
          listSnapshots: (dir) => listSnapshots(dir),
          snapshotDir: () => this.host().snapshotDir(),
        },
        pre,
      ),
    );
  }

  dispose(): void {
    this.sub.dispose();
  }
}
