/// <reference lib="dom" />
// Browser side of the etcd health panel (bundled by esbuild.js to dist/webviews/health.js).
// Renders what the host sends; never trusts it: every message goes through parseHostMessage.
// All text goes in with textContent (no HTML from data), no external resources.
// The tables, findings and charts are drawn by panelTables.ts, panelFindings.ts and panelChart.ts.
import type { HealthSnapshot, HostToPanel, PanelState, PanelToHost } from './protocol';
import { formatBytes } from './protocol';
import { isPanelState, parseHostMessage } from './protocolGuards';
import { chart } from './panelChart';
import { byId, el, type PanelActions } from './panelDom';
import { renderAlarms, renderBanners, renderFindings } from './panelFindings';
import { renderMembers, renderSizes, renderTable } from './panelTables';

interface VsCodeApi {
  postMessage(m: PanelToHost): void;
  getState(): unknown;
  setState(s: PanelState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
let nextRequestId = 1;
let paused = false;
let canRecover = false;
let last: HealthSnapshot | undefined;

function send(m: PanelToHost): void {
  vscode.postMessage(m);
}

/** The buttons drawn by the tables and findings: requests numbered on the click, flows only when trusted. */
const actions: PanelActions = {
  get canRecover() {
    return canRecover;
  },
  request: (make) => send(make(nextRequestId++)),
};

function render(s: HealthSnapshot): void {
  last = s;
  const banners = byId('banners');
  banners.textContent = '';
  banners.append(...renderBanners(s.banners));
  const sum = byId('summary');
  sum.textContent = '';
  sum.className = s.worst === 'critical' ? 'summary bad' : s.worst === 'warning' ? 'summary warn' : 'summary good';
  sum.append(el('span', 'big', `${s.worst === 'critical' ? '✖' : s.worst === 'warning' ? '⚠' : '✔'} ${s.headline}`));
  sum.append(el('span', '', ` — ${s.healthy}/${s.total} members healthy · ${s.summaryLine}`));
  byId('meta').textContent =
    `cluster id ${s.clusterId ?? 'unknown'} · leader ${s.leader ?? 'none'} · updated ${new Date(s.at).toLocaleTimeString()}`;
  const probs = byId('problems');
  probs.textContent = '';
  for (const p of s.problems) probs.append(el('div', 'banner', p));
  const fl = byId('findings');
  fl.textContent = '';
  fl.append(renderFindings(s.findings, actions));
  byId('unchecked').textContent = s.unchecked.length ? `Not checked: ${s.unchecked.join('; ')}` : '';
  const sz = byId('sizes');
  sz.textContent = '';
  sz.append(renderSizes(s));
  const st = byId('status');
  st.textContent = '';
  st.append(renderTable(s));
  const mem = byId('members');
  mem.textContent = '';
  mem.append(renderMembers(s, actions));
  const al = byId('alarms');
  al.textContent = '';
  al.append(renderAlarms(s.alarms, actions));
  const ch = byId('charts');
  ch.textContent = '';
  ch.append(
    chart(
      'Raft index',
      s,
      (p) => p.raftIndex,
      (n) => String(Math.round(n)),
    ),
    chart('DB size', s, (p) => p.dbSize, formatBytes, 'zero'),
  );
}

function showPaused(): void {
  byId('pause').textContent = paused ? 'Resume live refresh' : 'Pause live refresh';
  byId('live').textContent = paused ? 'paused' : 'live';
  byId('live').className = paused ? 'pill paused' : 'pill live';
}

function onMessage(m: HostToPanel): void {
  switch (m.type) {
    case 'init':
      paused = m.paused;
      canRecover = m.canRecover;
      byId('defrag').hidden = !canRecover;
      byId('snapshot').hidden = !canRecover;
      byId('title').textContent = `etcd health — ${m.deployment}`;
      byId('subtitle').textContent = `environment ${m.envName} · polling every ${m.pollSeconds} s`;
      vscode.setState({ envName: m.envName, deployment: m.deployment });
      showPaused();
      return;
    case 'snapshot':
      byId('error').textContent = '';
      render(m.snapshot);
      return;
    case 'paused':
      paused = m.paused;
      showPaused();
      return;
    case 'error': {
      const e = byId('error');
      e.textContent = '';
      e.append(el('div', 'banner', m.message));
      if (m.detail) e.append(el('div', 'muted mono', m.detail));
      return;
    }
    case 'notice':
      byId('notice').textContent = m.message;
      return;
  }
}

window.addEventListener('message', (ev: MessageEvent) => {
  const m = parseHostMessage(ev.data);
  if (m) onMessage(m);
});

byId('pause').addEventListener('click', () => send({ type: 'setPaused', requestId: nextRequestId++, paused: !paused }));
byId('refresh').addEventListener('click', () => send({ type: 'refresh', requestId: nextRequestId++ }));
byId('defrag').addEventListener('click', () => send({ type: 'startFlow', requestId: nextRequestId++, flow: 'defrag' }));
byId('snapshot').addEventListener('click', () =>
  send({ type: 'startFlow', requestId: nextRequestId++, flow: 'take-snapshot' }),
);

const saved = vscode.getState();
if (isPanelState(saved)) byId('title').textContent = `etcd health — ${saved.deployment}`;
void last;
send({ type: 'ready' });
