// activate(): builds the small container once (services, tree, health panels, status bar,
// wizard, commands) and registers every disposable in context.subscriptions. Nothing here
// touches the network: the tree loads when the view asks for it.
import * as path from 'path';
import * as vscode from 'vscode';
import * as os from 'os';
import { expandHome, fromSettings, resolveFromEnvironment, type SettingsEnvironmentEntry } from './bosh/config';
import { openEnvironment } from './session/session';
import type { SessionOptions } from './session/types';
import { BoshTreeModel, type EnvironmentEntry } from './views/treeModel';
import { BoshTreeProvider } from './views/boshTreeProvider';
import { EtcdStatusBar } from './views/etcdStatusBar';
import { healthCount } from './views/etcdMembership';
import { HealthPanelManager } from './webviews/health/healthPanelManager';
import { RecoveryWizard } from './wizard/recoveryWizard';
import { VscodeUi } from './ui/vscodeUi';
import type { Ui } from './ui/ui';
import type { Container } from './commands/container';
import { registerCommands } from './commands/registerCommands';
import { secretKey } from './commands/addEnvironment';
import type { TreeNode } from './views/nodes';

/** What activate() returns: lets extension-host tests inspect state and drive the Ui seam. */
export interface BoshEtcdApi {
  readonly container: Container;
  readonly model: BoshTreeModel;
  readonly panels: HealthPanelManager;
  readonly statusBar: EtcdStatusBar;
  readonly wizard: RecoveryWizard;
  readonly treeView: vscode.TreeView<TreeNode>;
  /** Replace the Ui (tests install a ScriptedUi); returns the previous one. */
  setUi(ui: Ui): Ui;
}

function setting<T>(key: string, fallback: T): T {
  const cfg = vscode.workspace.getConfiguration('boshEtcd');
  if (vscode.workspace.isTrusted) return cfg.get<T>(key, fallback);
  // Untrusted workspace: only user (global) settings count (reliability 20).
  const i = cfg.inspect<T>(key);
  return (i?.globalValue ?? i?.defaultValue ?? fallback) as T;
}

export function activate(context: vscode.ExtensionContext): BoshEtcdApi {
  const log = vscode.window.createOutputChannel('BOSH etcd', { log: true });
  context.subscriptions.push(log);
  let ui: Ui = new VscodeUi();

  const environments = async (): Promise<EnvironmentEntry[]> => {
    const out: EnvironmentEntry[] = [];
    const entries = setting<SettingsEnvironmentEntry[]>('environments', []);
    for (const e of Array.isArray(entries) ? entries : []) {
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
    if (setting<boolean>('useBoshEnvironmentVariables', true)) {
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
    const staticUser = setting<string>('ssh.staticUser', '');
    const keyPath = setting<string>('ssh.privateKeyPath', '');
    const knownHosts = expandHome(
      setting<string>('ssh.knownHostsPath', '~/.ssh/known_hosts') || '~/.ssh/known_hosts',
      os.homedir(),
    );
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
    log: (l) => log.debug(l),
  });
  context.subscriptions.push({
    dispose: () => {
      void model.dispose();
    },
  });
  const tree = new BoshTreeProvider(model);
  const treeView = vscode.window.createTreeView('boshEtcd.explorer', { treeDataProvider: tree, showCollapseAll: true });
  context.subscriptions.push(tree, treeView);

  const statusBar = new EtcdStatusBar();
  context.subscriptions.push(statusBar);
  const modelSub = model.onDidChange((n) => {
    if (n?.kind !== 'etcdMembers') return;
    const m = model.cachedEtcdMembers(n.envName, n.deployment);
    if (m === 'error')
      statusBar.update({
        envName: n.envName,
        deployment: n.deployment,
        healthy: 0,
        total: 0,
        error: 'etcd not reachable',
      });
    else if (m) statusBar.update({ envName: n.envName, deployment: n.deployment, ...healthCount(m) });
  });
  context.subscriptions.push({ dispose: () => modelSub.dispose() });

  const wizard = new RecoveryWizard(() => container);
  context.subscriptions.push(wizard);

  const panels = new HealthPanelManager({
    extensionUri: context.extensionUri,
    model,
    canRecover: () => vscode.workspace.isTrusted,
    onRecover: (envName, deployment, memberName) => {
      void vscode.commands.executeCommand('boshEtcd.recoverMember', { envName, deployment, instanceId: memberName });
    },
    onSnapshot: (s) =>
      statusBar.update({ envName: s.envName, deployment: s.deployment, healthy: s.healthy, total: s.total }),
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
    trusted: () => vscode.workspace.isTrusted,
    transcriptDir: () =>
      setting<string>('recovery.transcriptDirectory', '') || path.join(context.globalStorageUri.fsPath, 'transcripts'),
  };

  context.subscriptions.push(...registerCommands(container));
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => model.refresh()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (
        e.affectsConfiguration('boshEtcd.environments') ||
        e.affectsConfiguration('boshEtcd.useBoshEnvironmentVariables') ||
        e.affectsConfiguration('boshEtcd.ssh')
      )
        void model.reset();
    }),
  );

  return {
    container,
    model,
    panels,
    statusBar,
    wizard,
    treeView,
    setUi(u: Ui): Ui {
      const prev = ui;
      ui = u;
      return prev;
    },
  };
}

export function deactivate(): void {}
