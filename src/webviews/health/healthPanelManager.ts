// VS Code side of the etcd health panels: one WebviewPanel per deployment, a strict CSP with a
// nonce, local resources only, a serializer that restores panels after a reload, and a
// HealthController per panel that does the work.
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import type { DiagnosisMonitor } from '../../diagnosis/monitor';
import { HealthController } from './healthController';
import type { HostToPanel, PanelFlow } from './protocol';
import { isPanelState } from './protocolGuards';

export const HEALTH_VIEW_TYPE = 'boshEtcd.health';

export interface HealthPanelDeps {
  extensionUri: vscode.Uri;
  /** The shared diagnosis monitor (the tree's: sessions and results are shared). */
  monitor: DiagnosisMonitor;
  /** Seconds between polls (the boshEtcd.healthPanel.pollIntervalSeconds setting). */
  pollSeconds: () => number;
  canRecover: () => boolean;
  onRecover: (envName: string, deployment: string, memberName: string) => unknown;
  /** Starts a maintenance flow on the deployment (its command, so failures reach the operator the usual way). */
  onFlow: (envName: string, deployment: string, flow: PanelFlow) => unknown;
}

interface OpenPanel {
  panel: vscode.WebviewPanel;
  controller: HealthController;
}

export function panelKey(envName: string, deployment: string): string {
  return `${envName}\u0000${deployment}`;
}

export class HealthPanelManager implements vscode.Disposable {
  private readonly panels = new Map<string, OpenPanel>();
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly deps: HealthPanelDeps) {
    this.subs.push(
      vscode.window.registerWebviewPanelSerializer(HEALTH_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state) => {
          if (!isPanelState(state)) {
            panel.dispose();
            return;
          }
          this.attach(panel, state.envName, state.deployment);
        },
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('boshEtcd.healthPanel.pollIntervalSeconds'))
          for (const p of this.panels.values()) p.controller.setPollSeconds(this.pollSeconds());
      }),
    );
  }

  private pollSeconds(): number {
    return this.deps.pollSeconds();
  }

  /** Opens (or reveals) the panel of a deployment. */
  open(envName: string, deployment: string): HealthController {
    const existing = this.panels.get(panelKey(envName, deployment));
    if (existing) {
      existing.panel.reveal();
      return existing.controller;
    }
    const panel = vscode.window.createWebviewPanel(
      HEALTH_VIEW_TYPE,
      `etcd: ${deployment}`,
      vscode.ViewColumn.Active,
      this.webviewOptions(),
    );
    return this.attach(panel, envName, deployment);
  }

  get(envName: string, deployment: string): HealthController | undefined {
    return this.panels.get(panelKey(envName, deployment))?.controller;
  }

  openPanels(): { envName: string; deployment: string; controller: HealthController }[] {
    return [...this.panels.entries()].map(([k, p]) => {
      const [envName, deployment] = k.split('\u0000');
      return { envName, deployment, controller: p.controller };
    });
  }

  private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(this.deps.extensionUri, 'dist', 'webviews')],
    };
  }

  /** A controller not bound to a webview: tests drive it with the panel's own messages. */
  createController(envName: string, deployment: string, post: (m: HostToPanel) => void): HealthController {
    return new HealthController({
      envName,
      deployment,
      monitor: this.deps.monitor,
      post,
      pollSeconds: this.pollSeconds(),
      canRecover: this.deps.canRecover(),
      onRecover: (name) => this.deps.onRecover(envName, deployment, name),
      onFlow: (flow) => this.deps.onFlow(envName, deployment, flow),
      copyText: (text) => vscode.env.clipboard.writeText(text),
    });
  }

  private attach(panel: vscode.WebviewPanel, envName: string, deployment: string): HealthController {
    panel.webview.options = this.webviewOptions();
    panel.title = `etcd: ${deployment}`;
    panel.iconPath = vscode.Uri.joinPath(this.deps.extensionUri, 'media', 'bosh.svg');
    const controller = this.createController(envName, deployment, (m) => {
      void panel.webview.postMessage(m);
    });
    panel.webview.html = this.html(panel.webview);
    const key = panelKey(envName, deployment);
    this.panels.set(key, { panel, controller });
    const msgSub = panel.webview.onDidReceiveMessage((m) => {
      void controller.handle(m);
    });
    panel.onDidDispose(() => {
      msgSub.dispose();
      controller.dispose();
      if (this.panels.get(key)?.panel === panel) this.panels.delete(key);
    });
    return controller;
  }

  private html(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, 'dist', 'webviews', 'health.js'));
    const csp = [
      `default-src 'none'`,
      `img-src ${webview.cspSource} data:`,
      `style-src 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
      `font-src ${webview.cspSource}`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en"><head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>etcd health</title>
<style nonce="${nonce}">${PANEL_CSS}</style>
</head><body>
<header>
  <div><h1 id="title">etcd health</h1><div id="subtitle" class="muted"></div></div>
  <div class="actions"><span id="live" class="pill live">live</span>
    <button id="defrag" class="secondary flow" hidden>Defragment…</button> <button id="snapshot" class="secondary flow" hidden>Take snapshot</button>
    <button id="pause">Pause live refresh</button> <button id="refresh" class="secondary">Refresh now</button>
    <div id="notice" class="muted" role="status"></div></div>
</header>
<div id="banners"></div>
<div id="summary" class="summary">Diagnosing the etcd cluster…</div>
<div id="meta" class="muted"></div>
<div id="error"></div>
<div id="problems"></div>
<h2>Findings</h2><div id="findings"></div>
<div id="unchecked" class="muted"></div>
<h2>Endpoint status</h2><div id="status"></div>
<h2>Members</h2><div id="members"></div>
<h2>Database size</h2><div id="sizes"></div>
<h2>Alarms</h2><div id="alarms"></div>
<h2>History</h2><div id="charts" class="charts"></div>
<script nonce="${nonce}" src="${script}"></script>
</body></html>`;
  }

  dispose(): void {
    for (const p of this.panels.values()) {
      p.controller.dispose();
      p.panel.dispose();
    }
    this.panels.clear();
    for (const s of this.subs) s.dispose();
  }
}

const PANEL_CSS = `
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-editor-background); padding: 0 16px 16px; }
header { display: flex; justify-content: space-between; align-items: center; gap: 16px; }
h1 { font-size: 1.4em; margin: 12px 0 2px; } h2 { font-size: 1.1em; margin: 18px 0 6px; border-bottom: 1px solid var(--vscode-panel-border); padding-bottom: 2px; }
.muted { color: var(--vscode-descriptionForeground); }
.mono { font-family: var(--vscode-editor-font-family); font-size: 0.95em; }
button { background: var(--vscode-button-background); color: var(--vscode-button-foreground); border: none; padding: 4px 10px; cursor: pointer; }
button:hover { background: var(--vscode-button-hoverBackground); }
button.secondary { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); }
.pill { padding: 1px 8px; border-radius: 8px; margin-right: 6px; font-size: 0.9em; }
.pill.live { background: var(--vscode-testing-iconPassed); color: var(--vscode-editor-background); }
.pill.paused { background: var(--vscode-disabledForeground); color: var(--vscode-editor-background); }
.summary { margin: 10px 0 4px; padding: 8px 10px; border-left: 4px solid; }
.summary.good { border-color: var(--vscode-testing-iconPassed); background: var(--vscode-editor-inactiveSelectionBackground); }
.summary.bad { border-color: var(--vscode-errorForeground); background: var(--vscode-inputValidation-errorBackground); }
.summary.warn { border-color: var(--vscode-list-warningForeground); background: var(--vscode-inputValidation-warningBackground); }
.alarm-banner { margin: 12px 0; padding: 14px 16px; width: auto; border: 2px solid var(--vscode-errorForeground); border-left-width: 10px; background: var(--vscode-inputValidation-errorBackground); color: var(--vscode-errorForeground); }
.alarm-banner .alarm-title { font-size: 1.5em; font-weight: bold; letter-spacing: 0.02em; }
.alarm-banner .alarm-text { color: var(--vscode-foreground); margin-top: 6px; font-size: 1.05em; }
.alarm-banner .alarm-todo { color: var(--vscode-foreground); margin-top: 4px; font-weight: bold; }
.finding { display: grid; grid-template-columns: 1.6em 1fr; gap: 2px 6px; padding: 6px 8px; margin: 4px 0; border-left: 4px solid var(--vscode-panel-border); }
.finding.critical { border-color: var(--vscode-errorForeground); background: var(--vscode-inputValidation-errorBackground); }
.finding.warning { border-color: var(--vscode-list-warningForeground); background: var(--vscode-inputValidation-warningBackground); }
.finding .sev { font-weight: bold; }
.finding.critical .sev { color: var(--vscode-errorForeground); }
.finding.warning .sev { color: var(--vscode-list-warningForeground); }
.finding .ftitle { font-weight: bold; }
.finding .action { font-style: italic; }
.finding button, .alarm button { margin-top: 4px; }
.alarm { padding: 6px 10px; margin: 4px 0; border-left: 4px solid var(--vscode-errorForeground); background: var(--vscode-inputValidation-errorBackground); }
.alarm .rule { margin-top: 2px; }
#notice { margin-top: 4px; text-align: right; }
tr.warning td { background: var(--vscode-inputValidation-warningBackground); }
tr.warning td:first-child { border-left: 4px solid var(--vscode-list-warningForeground); }
.icon.warn, .warntext { color: var(--vscode-list-warningForeground); font-weight: bold; }
.bar { display: inline-block; width: 80px; height: 8px; background: var(--vscode-editor-inactiveSelectionBackground); vertical-align: middle; margin-right: 6px; }
.bar > span { display: block; height: 100%; background: var(--vscode-charts-blue); }
.bar.near > span { background: var(--vscode-errorForeground); }
line.quota { stroke: var(--vscode-errorForeground); stroke-dasharray: 2 3; }
.big { font-size: 1.2em; font-weight: bold; }
table.grid { border-collapse: collapse; width: 100%; }
table.grid th { text-align: left; font-size: 0.85em; color: var(--vscode-descriptionForeground); border-bottom: 1px solid var(--vscode-panel-border); padding: 3px 6px; white-space: nowrap; }
table.grid td { padding: 3px 6px; border-bottom: 1px solid var(--vscode-panel-border); vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.errors { min-width: 16em; max-width: 30em; word-break: break-word; font-size: 0.9em; }
td.nowrap { white-space: nowrap; }
tr.failing td { background: var(--vscode-inputValidation-errorBackground); }
tr.failing td:first-child { border-left: 4px solid var(--vscode-errorForeground); }
.icon.bad, .badtext { color: var(--vscode-errorForeground); font-weight: bold; }
.icon.good { color: var(--vscode-testing-iconPassed); }
.banner { padding: 6px 10px; margin: 4px 0; border-left: 4px solid var(--vscode-errorForeground); background: var(--vscode-inputValidation-errorBackground); }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
.chart-title { font-weight: bold; margin-bottom: 4px; }
rect.plot { fill: var(--vscode-editor-inactiveSelectionBackground); }
text.axis { fill: var(--vscode-descriptionForeground); font-size: 10px; }
.legend { margin-top: 4px; font-size: 0.9em; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
`;
