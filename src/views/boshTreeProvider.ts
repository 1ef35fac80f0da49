// VS Code adapter of the BOSH tree: turns the model's ItemSpecs into TreeItems, forwards its
// change events, and refreshes itself on the configured interval.
import * as vscode from 'vscode';
import type { BoshTreeModel } from './treeModel';
import type { ItemSpec, TreeNode } from './nodes';

export function toTreeItem(spec: ItemSpec): vscode.TreeItem {
  const collapsible = spec.collapsible === 'none' ? vscode.TreeItemCollapsibleState.None : spec.collapsible === 'expanded' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
  const item = new vscode.TreeItem(spec.label, collapsible);
  item.id = spec.id;
  item.description = spec.description;
  if (spec.tooltip) item.tooltip = new vscode.MarkdownString(spec.tooltip);
  if (spec.icon) item.iconPath = new vscode.ThemeIcon(spec.icon.id, spec.icon.color ? new vscode.ThemeColor(spec.icon.color) : undefined);
  item.contextValue = spec.contextValue;
  if (spec.command) item.command = spec.command;
  return item;
}

export class BoshTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly subs: vscode.Disposable[] = [];
  private timer?: NodeJS.Timeout;

  constructor(readonly model: BoshTreeModel) {
    const sub = model.onDidChange((n) => this.emitter.fire(n));
    this.subs.push({ dispose: () => sub.dispose() }, this.emitter);
    this.applyInterval();
    this.subs.push(vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('boshEtcd.refreshIntervalSeconds')) this.applyInterval(); }));
  }

  private applyInterval(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const secs = vscode.workspace.getConfiguration('boshEtcd').get<number>('refreshIntervalSeconds', 30);
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
    for (const s of this.subs) s.dispose();
  }
}
