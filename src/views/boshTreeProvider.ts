// VS Code adapter of the BOSH tree: turns the model's ItemSpecs into TreeItems, forwards its
// change events, and refreshes itself on the configured interval.
import * as vscode from 'vscode';
import type { BoshTreeModel } from './treeModel';
import type { ItemSpec, TreeNode } from './nodes';
import type { Settings } from '../settings';

export function toTreeItem(spec: ItemSpec): vscode.TreeItem {
  const collapsible =
    spec.collapsible === 'none'
      ? vscode.TreeItemCollapsibleState.None
      : spec.collapsible === 'expanded'
        ? vscode.TreeItemCollapsibleState.Expanded
        : vscode.TreeItemCollapsibleState.Collapsed;
  const item = new vscode.TreeItem(spec.label, collapsible);
  item.id = spec.id;
  item.description = spec.description;
  if (spec.tooltip) item.tooltip = new vscode.MarkdownString(spec.tooltip, true);
  if (spec.icon)
    item.iconPath = new vscode.ThemeIcon(
      spec.icon.id,
      spec.icon.color ? new vscode.ThemeColor(spec.icon.color) : undefined,
    );
  item.contextValue = spec.contextValue;
  if (spec.command) item.command = spec.command;
  return item;
}

export class BoshTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly subs: vscode.Disposable[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    readonly model: BoshTreeModel,
    private readonly settings: Settings,
  ) {
    const sub = model.onDidChange((n) => this.queue(n));
    this.subs.push({ dispose: () => sub.dispose() }, this.emitter);
    this.applyInterval();
    this.subs.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('boshEtcd.refreshIntervalSeconds')) this.applyInterval();
      }),
    );
  }

  private pending = new Set<TreeNode | undefined>();
  private flushTimer?: NodeJS.Timeout;

  /**
   * Coalesces change events (a deployment refresh and the etcd summary arriving right after it):
   * VS Code rejects a refresh of an element whose parent is being re-read ("Element with id … is
   * already registered"), so only the outermost changed nodes are fired, once, after a short pause.
   */
  private queue(n: TreeNode | undefined): void {
    this.pending.add(n);
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const nodes = [...this.pending];
      this.pending.clear();
      if (nodes.includes(undefined)) {
        this.emitter.fire(undefined);
        return;
      }
      const keys = nodes.map((x) => x!.key);
      for (const x of nodes) {
        if (!keys.some((k) => k !== x!.key && x!.key.startsWith(`${k}/`))) this.emitter.fire(x);
      }
    }, 150);
  }

  private applyInterval(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const secs = this.settings.refreshIntervalSeconds();
    if (secs > 0) this.timer = setInterval(() => this.model.refresh(), Math.max(5, secs) * 1000);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    return toTreeItem(this.model.getItem(node));
  }

  getChildren(node?: TreeNode): Promise<TreeNode[]> {
    return this.model.getChildren(node);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const s of this.subs) s.dispose();
  }
}
