// Status bar item for the deployments the diagnosis monitor holds (those the tree shows or a panel
// watches; the monitor forgets the others): the worst severity across
// them ("etcd: SPLIT BRAIN", "etcd 2/3", "etcd ok"), error / warning background; a click opens the
// health panel of the worst deployment. Fed by the monitor only, so it cannot flip between sources.
import * as vscode from 'vscode';
import type { DiagnosisMonitor } from '../diagnosis/monitor';
import { summarize, type StatusSummary } from './statusSummary';

export class EtcdStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subs: { dispose(): void }[];
  current?: StatusSummary;

  constructor(private readonly monitor: DiagnosisMonitor) {
    this.item = vscode.window.createStatusBarItem('boshEtcd.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'BOSH etcd health';
    // A new result, or a deployment nothing shows any more (monitor.sweep()): say it again.
    this.subs = [monitor.onDidChange(() => this.render()), monitor.onDidForget(() => this.render())];
    this.render();
  }

  /** The background colour id shown (tests read it; undefined when all is well). */
  get backgroundColorId(): string | undefined {
    return this.current?.level === 'critical'
      ? 'statusBarItem.errorBackground'
      : this.current?.level === 'warning'
        ? 'statusBarItem.warningBackground'
        : undefined;
  }

  render(): void {
    const s = summarize(this.monitor.entries());
    this.current = s;
    if (!s) {
      this.item.hide();
      return;
    }
    this.item.text = s.text;
    this.item.tooltip = s.tooltip;
    const bg = this.backgroundColorId;
    this.item.backgroundColor = bg ? new vscode.ThemeColor(bg) : undefined;
    this.item.command = { command: 'boshEtcd.openHealthPanel', title: 'Open etcd Health Panel', arguments: [s.target] };
    this.item.show();
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.item.dispose();
  }
}
