// VS Code glue of the recovery wizard: the review page (a read-only Markdown document), the run
// terminal, and the engine; the flow itself is in wizardFlow.ts.
import * as vscode from 'vscode';
import { runRecovery } from '../recovery';
import { RecoveryTerminal } from './recoveryTerminal';
import { reviewTabName } from './reviewName';
import { RunGate } from './runGate';
import { runWizard } from './wizardFlow';
import type { WizardDeps, WizardPreselect, WizardResult } from './wizardTypes';

export const REVIEW_SCHEME = 'bosh-etcd-plan';

/**
 * What the wizard takes from the extension: the Ui seam, the model, trust, the settings it reads
 * and the health panel to open on success. Read on every run (tests replace the Ui between runs).
 */
export type WizardHost = Pick<
  WizardDeps,
  'ui' | 'model' | 'trusted' | 'transcriptDir' | 'downloadSnapshotDefault' | 'openHealthPanel'
>;

export class RecoveryWizard implements vscode.Disposable {
  private readonly reviews = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  private readonly sub: vscode.Disposable;
  private seq = 0;
  /** Last run's terminals (tests / e2e read their text). */
  readonly terminals: RecoveryTerminal[] = [];
  private readonly gate = new RunGate();

  constructor(private readonly host: () => WizardHost) {
    this.sub = vscode.workspace.registerTextDocumentContentProvider(REVIEW_SCHEME, {
      onDidChange: this.emitter.event,
      provideTextDocumentContent: (uri) =>
        this.reviews.get(uri.path) ?? '# This review page is no longer available\n\nRun the wizard again.',
    });
  }

  deps(): WizardDeps {
    const host = this.host();
    return {
      ui: host.ui,
      model: host.model,
      runRecovery,
      trusted: () => host.trusted(),
      transcriptDir: () => host.transcriptDir(),
      downloadSnapshotDefault: () => host.downloadSnapshotDefault(),
      openRunSink: (title) => {
        const pty = new RecoveryTerminal();
        this.terminals.push(pty);
        const term = vscode.window.createTerminal({
          name: title,
          pty,
          iconPath: new vscode.ThemeIcon('debug-restart'),
        });
        term.show(true);
        return this.gate.track(pty);
      },
      showReview: async (md, plan) => {
        const path = `/${reviewTabName(plan)}-${++this.seq}.md`;
        this.reviews.set(path, md);
        const uri = vscode.Uri.from({ scheme: REVIEW_SCHEME, path });
        const doc = await vscode.workspace.openTextDocument(uri);
        await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
        await vscode.window.showTextDocument(doc, { preview: false, viewColumn: vscode.ViewColumn.Active });
      },
      openHealthPanel: (envName, deployment) => host.openHealthPanel(envName, deployment),
      openFile: async (p) => {
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(p)));
      },
    };
  }

  async start(pre: WizardPreselect = {}): Promise<WizardResult> {
    return this.gate.once<WizardResult>(
      async () => {
        await this.host().ui.message(
          'warning',
          'A recovery is already running in this window: wait for it to finish (or close its terminal to stop it).',
        );
        return { outcome: 'aborted', results: [], reviews: [], events: [] };
      },
      () => runWizard(this.deps(), pre),
    );
  }

  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}
