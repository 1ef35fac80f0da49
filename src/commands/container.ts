// The small container activate() builds once: everything a command handler needs.
import type * as vscode from 'vscode';
import type { BoshTreeModel } from '../views/treeModel';
import type { TreeNode } from '../views/nodes';
import type { HealthPanelManager } from '../webviews/health/healthPanelManager';
import type { EtcdStatusBar } from '../views/etcdStatusBar';
import type { Ui } from '../ui/ui';
import type { RecoveryWizard } from '../wizard/recoveryWizard';
import type { MaintenanceWizard } from '../wizard/maintenanceWizard';
import type { DisasterWizard } from '../wizard/disasterWizard';
import type { Settings } from '../settings';

export interface Container {
  readonly context: vscode.ExtensionContext;
  readonly model: BoshTreeModel;
  readonly treeView: vscode.TreeView<TreeNode>;
  readonly panels: HealthPanelManager;
  readonly statusBar: EtcdStatusBar;
  /** Replaceable: extension-host tests install a ScriptedUi. */
  ui: Ui;
  readonly log: vscode.LogOutputChannel;
  readonly wizard: RecoveryWizard;
  /** Rolling defragmentation, NOSPACE recovery and snapshots. */
  readonly maintenance: MaintenanceWizard;
  /** Quorum loss and restore from a snapshot. */
  readonly disaster: DisasterWizard;
  /** The boshEtcd.* settings, with workspace trust applied. */
  readonly settings: Settings;
  /** Workspace trust: untrusted → no wizard, no workspace-level environments. */
  trusted(): boolean;
  /** Where recovery transcripts go. */
  transcriptDir(): string;
}

export interface CommandDef {
  id: string;
  run(c: Container, ...args: unknown[]): unknown;
}
