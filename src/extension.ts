// activate(): builds the small container once (services, tree, health panels, status bar,
// wizard, commands) and registers every disposable in context.subscriptions. Nothing here
// touches the network: the tree loads when the view asks for it.
import * as path from 'path';
import * as vscode from 'vscode';
import * as os from 'os';
import { expandHome, fromSettings, resolveFromEnvironment } from './bosh/config';
import { openEnvironment } from './session/session';
import type { SessionOptions } from './session/types';
import { BoshTreeModel } from './views/treeModel';
import type { EnvironmentEntry, TreeNode } from './views/nodes';
import { BoshTreeProvider } from './views/boshTreeProvider';
import { EtcdStatusBar } from './views/etcdStatusBar';
import { HealthPanelManager } from './webviews/health/healthPanelManager';
import { RecoveryWizard } from './wizard/recoveryWizard';
import { MaintenanceWizard } from './wizard/maintenanceWizard';
import { DisasterWizard } from './wizard/disasterWizard';
import { defaultSnapshotDir, snapshotDirFrom } from './snapshots';
import { VscodeUi } from './ui/vscodeUi';
import type { Ui } from './ui/ui';
import type { Container } from './commands/container';
import { registerCommands } from './commands/registerCommands';
import { secretKey } from './commands/addEnvironment';
import { SESSION_SETTINGS, SETTINGS_SECTION, Settings } from './settings';
import { withTimeout } from './util/async';
import { FLOW_COMMANDS } from './diagnosis/actions';
import { settledTrust } from './wizard/trust';

/**
 * Set by the test runners (test/runners/extensionTier.ts) for the extension host: only then does
 * activate() return the test hooks. An installed extension returns nothing, so no other extension
 * can reach its sessions, its model or swap its Ui.
 */
export const TEST_HOOKS_ENV = 'BOSH_ETCD_TEST_HOOKS';

/** What activate() returns under the test runners: lets extension-host tests inspect state and drive the Ui seam. */
export interface BoshEtcdApi {
  readonly container: Container;
  readonly model: BoshTreeModel;
  readonly panels: HealthPanelManager;
  readonly statusBar: EtcdStatusBar;
  readonly wizard: RecoveryWizard;
  readonly maintenance: MaintenanceWizard;
  readonly disaster: DisasterWizard;
  readonly treeView: vscode.TreeView<TreeNode>;
  /** Replace the Ui (tests install a ScriptedUi); returns the previous one. */
  setUi(ui: Ui): Ui;
}

export function activate(context: vscode.ExtensionContext): BoshEtcdApi | undefined {
  const log = vscode.window.createOutputChannel('BOSH etcd', { log: true });
  const activatedAt = Date.now();
  log.info(`activated; workspace ${vscode.workspace.isTrusted ? 'trusted' : 'not trusted (yet)'}`);
  context.subscriptions.push(log);
  let ui: Ui = new VscodeUi();
  const settings = new Settings({
    configuration: () => vscode.workspace.getConfiguration(SETTINGS_SECTION),
    trusted: () => vscode.workspace.isTrusted,
  });

  const environments = async (): Promise<EnvironmentEntry[]> => {
    const out: EnvironmentEntry[] = [];
    for (const e of settings.environments()) {
      const name = typeof e?.name === 'string' && e.name.trim() ? e.name.trim() : '(unnamed environment)';
      try {
        const clientSecret = await context.secrets.get(secretKey(name, 'clientSecret'));
        const gatewayPassphrase = await context.secrets.get(secretKey(name, 'gatewayPassphrase'));
        const cfg = fromSettings(e, { clientSecret, gatewayPassphrase });
        if (cfg.client && !clientSecret)
          out.push({
            name,
            error: `No client secret stored for ${name}: run "BOSH etcd: Add Environment…" with the same name to enter it`,
          });
        else out.push({ name, config: cfg });
      } catch (err) {
        out.push({ name, error: (err as Error).message });
      }
    }
    if (settings.useBoshEnvironmentVariables()) {
      try {
        const env = resolveFromEnvironment();
        if (env && !out.some((o) => o.name === env.name)) out.push({ name: env.name, config: env });
      } catch (err) {
        out.push({ name: process.env.BOSH_ENVIRONMENT ?? 'BOSH_ENVIRONMENT', error: (err as Error).message });
      }
    }
    return out;
  };

  const sessionOptions = (): SessionOptions => {
    const { staticUser, privateKeyPath: keyPath, knownHostsPath } = settings.ssh();
    const knownHosts = expandHome(knownHostsPath, os.homedir());
    return {
      gatewayKnownHostsPath: knownHosts,
      log: (line) => log.debug(line),
      onNote: (note) => {
        log.warn(note);
        void container.ui.message('warning', note);
      },
      hostKeyPrompt: (host, keyType, fp) =>
        container.ui.confirm({
          id: 'hostKey',
          message: `Unknown SSH host key for ${host}`,
          detail: `${keyType} key fingerprint ${fp}. Trust it only if it matches the VM's key (compare with the Director or the IaaS console).`,
          confirmLabel: 'Trust this Host Key',
          modal: true,
        }),
      staticSsh: staticUser
        ? {
            user: staticUser,
            privateKeyPath: keyPath ? expandHome(keyPath, os.homedir()) : undefined,
            useAgent: !keyPath,
            knownHostsPath: knownHosts,
          }
        : undefined,
    };
  };

  const model = new BoshTreeModel({
    environments,
    openSession: (env) => openEnvironment(env, sessionOptions()),
    probeMaxAgeMs: () => settings.probeCacheSeconds() * 1000,
    // the diagnosis reports the age of the newest snapshot in boshEtcd.snapshots.directory
    observeOptions: { snapshotDir: () => snapshotDirFrom(settings.snapshotDirectory()) },
    log: (l) => log.debug(l),
  });
  let modelDisposed: Promise<void> | undefined;
  disposeSessions = () => (modelDisposed ??= model.dispose());
  context.subscriptions.push({
    dispose: () => {
      void disposeSessions?.();
    },
  });
  const tree = new BoshTreeProvider(model, settings);
  const treeView = vscode.window.createTreeView('boshEtcd.explorer', { treeDataProvider: tree, showCollapseAll: true });
  context.subscriptions.push(tree, treeView);
  // A collapsed environment or deployment is no longer shown: the status bar forgets it (unless a panel watches it).
  context.subscriptions.push(treeView.onDidCollapseElement((e) => model.collapsed(e.element)));

  // The status bar reads the model's diagnosis monitor only (the tree and the panels feed that monitor).
  const statusBar = new EtcdStatusBar(model.monitor);
  context.subscriptions.push(statusBar);

  // A flow started while the window still settles its trust waits for the grant (src/wizard/trust.ts).
  const workspaceTrust = {
    get isTrusted() {
      return settings.trusted();
    },
    onDidGrant: (listener: () => void) => vscode.workspace.onDidGrantWorkspaceTrust(listener),
  };
  const flowTrust = () => settledTrust(workspaceTrust);

  const wizard = new RecoveryWizard(() => ({
    ui: container.ui,
    model,
    trusted: flowTrust,
    transcriptDir: () => container.transcriptDir(),
    downloadSnapshotDefault: () => settings.downloadSnapshot(),
    openHealthPanel: (envName, deployment) => {
      panels.open(envName, deployment);
    },
  }));
  context.subscriptions.push(wizard);

  const snapshotDir = () => {
    const dir = settings.snapshotDirectory();
    return dir ? expandHome(dir, os.homedir()) : defaultSnapshotDir();
  };
  const maintenance = new MaintenanceWizard(() => ({
    ui: container.ui,
    model,
    trusted: flowTrust,
    transcriptDir: () => container.transcriptDir(),
    pauseSeconds: () => settings.defragPauseSeconds(),
    snapshotDir,
    recoverMember: (envName, deployment, instanceId) => {
      void vscode.commands.executeCommand('boshEtcd.recoverMember', { envName, deployment, instanceId });
    },
  }));
  context.subscriptions.push(maintenance);

  const disaster = new DisasterWizard(() => ({
    ui: container.ui,
    model,
    trusted: flowTrust,
    transcriptDir: () => container.transcriptDir(),
    snapshotDir,
    openHealthPanel: (envName, deployment) => {
      panels.open(envName, deployment);
    },
  }));
  context.subscriptions.push(disaster);

  const panels = new HealthPanelManager({
    extensionUri: context.extensionUri,
    monitor: model.monitor,
    pollSeconds: () => settings.healthPollSeconds(),
    canRecover: () => settings.trusted(),
    onRecover: (envName, deployment, memberName) =>
      vscode.commands.executeCommand(FLOW_COMMANDS['recover-member'], { envName, deployment, instanceId: memberName }),
    onFlow: (envName, deployment, flow) => vscode.commands.executeCommand(FLOW_COMMANDS[flow], { envName, deployment }),
  });
  context.subscriptions.push(panels);

  const container: Container = {
    context,
    model,
    treeView,
    panels,
    statusBar,
    get ui() {
      return ui;
    },
    set ui(u: Ui) {
      ui = u;
    },
    log,
    wizard,
    maintenance,
    disaster,
    settings,
    trusted: () => settings.trusted(),
    transcriptDir: () => settings.transcriptDirectory() || path.join(context.globalStorageUri.fsPath, 'transcripts'),
  };

  context.subscriptions.push(...registerCommands(container));
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      log.info(`workspace trust granted ${Date.now() - activatedAt} ms after activation`);
      model.refresh();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (SESSION_SETTINGS.some((s) => e.affectsConfiguration(s))) void model.reset();
    }),
  );

  if (process.env[TEST_HOOKS_ENV] !== '1') return undefined;
  return {
    container,
    model,
    panels,
    statusBar,
    wizard,
    maintenance,
    disaster,
    treeView,
    setUi(u: Ui): Ui {
      const prev = ui;
      ui = u;
      return prev;
    },
  };
}

/** The sessions' dispose (SSH connections closed, temporary users removed by the Director). */
let disposeSessions: (() => Promise<void>) | undefined;
/** VS Code waits for deactivate() only a few seconds: stay under that. */
const DEACTIVATE_CLEANUP_MS = 4000;

export async function deactivate(): Promise<void> {
  const dispose = disposeSessions;
  disposeSessions = undefined;
  if (dispose) await withTimeout(dispose(), DEACTIVATE_CLEANUP_MS, 'session cleanup').catch(() => undefined);
}
