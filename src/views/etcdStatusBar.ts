// Status bar item "etcd 2/3" for the deployments being watched (shown in the tree or a panel);
// warning background when degraded; click opens the health panel.
import * as vscode from 'vscode';
import { summarize, type WatchedCluster, type StatusSummary } from './statusSummary';

export class EtcdStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly clusters = new Map<string, WatchedCluster>();
  current?: StatusSummary;

  constructor() {
    this.item = vscode.window.createStatusBarItem('boshEtcd.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'BOSH etcd health';
  }

  update(c: WatchedCluster): void {
    this.clusters.set(`${c.envName}\u0000${c.deployment}`, c);
    this.render();
  }

  forget(envName: string, deployment: string): void {
    this.clusters.delete(`${envName}\u0000${deployment}`);
    this.render();
  }

  private render(): void {
    const s = summarize([...this.clusters.values()]);
    this.current = s;
    if (!s) {
      this.item.hide();
      return;
    }
    this.item.text = s.text;
    this.item.tooltip = s.tooltip;
    this.item.backgroundColor =
      s.level === 'ok'
        ? undefined
        : new vscode.ThemeColor(
            s.level === 'critical' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground',
          );
    this.item.command = { command: 'boshEtcd.openHealthPanel', title: 'Open etcd Health Panel', arguments: [s.target] };
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
