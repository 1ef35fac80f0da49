/// <reference lib="dom" />
// Browser side of the etcd health panel (bundled by esbuild.js to dist/webviews/health.js).
// Renders what the host sends; never trusts it: every message goes through parseHostMessage.
// All text goes in with textContent (no HTML from data), no external resources.
import type {
  AlarmRow,
  BannerRow,
  EndpointRow,
  FindingRow,
  HealthSnapshot,
  HostToPanel,
  MemberRow,
  PanelButton,
  PanelState,
  PanelToHost,
  SizeRow,
} from './protocol';
import { formatBytes, isPanelState, parseHostMessage } from './protocol';

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

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function send(m: PanelToHost): void {
  vscode.postMessage(m);
}

function byId(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e;
}

function shortId(id: string): string {
  return id || '—';
}

const COLUMNS = [
  '',
  'ENDPOINT',
  'MEMBER (BOSH INSTANCE)',
  'ID',
  'VERSION',
  'DB SIZE',
  'IS LEADER',
  'IS LEARNER',
  'RAFT TERM',
  'RAFT INDEX',
  'RAFT APPLIED INDEX',
  'ERRORS',
  'HEALTH',
];

function statusCell(r: EndpointRow): HTMLTableCellElement {
  const td = el('td', 'state');
  if (r.severity === 'critical') {
    td.append(el('span', 'icon bad', '✖'), el('span', 'badtext', ` ${r.state.toUpperCase()}`));
  } else if (r.severity === 'warning') {
    td.append(el('span', 'icon warn', '⚠'), el('span', 'warntext', ` ${r.state.toUpperCase()}`));
  } else if (r.isLeader) {
    td.append(el('span', 'icon good', '★'), el('span', '', ' leader'));
  } else {
    td.append(el('span', 'icon good', '✔'), el('span', '', r.isLearner ? ' learner' : ' ok'));
  }
  return td;
}

function renderTable(s: HealthSnapshot): HTMLTableElement {
  const t = el('table', 'grid');
  t.id = 'status-table';
  const head = el('tr');
  for (const c of COLUMNS) head.append(el('th', '', c));
  t.append(el('thead'));
  t.tHead!.append(head);
  const body = el('tbody');
  for (const r of s.rows) {
    const tr = el('tr', r.severity === 'critical' ? 'row failing' : r.severity === 'warning' ? 'row warning' : 'row');
    tr.dataset.endpoint = r.endpoint;
    tr.dataset.failing = String(r.failing);
    tr.dataset.severity = r.severity;
    tr.append(statusCell(r));
    tr.append(el('td', 'mono', r.endpoint));
    tr.append(el('td', 'mono', `${r.instance ?? r.memberName}${r.az ? ` (${r.az})` : ''}`));
    tr.append(el('td', 'mono nowrap', shortId(r.id)));
    tr.append(el('td', '', r.version || '—'));
    tr.append(el('td', 'num', r.unreachable ? '—' : formatBytes(r.dbSize)));
    tr.append(el('td', '', r.unreachable ? '—' : String(r.isLeader)));
    tr.append(el('td', '', r.unreachable ? '—' : String(r.isLearner)));
    tr.append(el('td', 'num', r.raftTerm || '—'));
    tr.append(el('td', 'num', r.raftIndex || '—'));
    tr.append(el('td', 'num', r.raftAppliedIndex || '—'));
    const errs = [...r.errors];
    if (r.error) errs.push(r.error);
    // Long gRPC errors: the gist in the cell, the whole text on hover.
    const errText = errs.join('; ');
    const errCell = el(
      'td',
      errs.length ? 'errors badtext' : 'errors',
      errText.length > 140 ? `${errText.slice(0, 140)}…` : errText,
    );
    errCell.title = errText;
    tr.append(errCell);
    const health =
      r.healthy === undefined
        ? '—'
        : `${r.healthy ? 'healthy' : 'UNHEALTHY'}${r.healthMs !== undefined ? `, ${Math.round(r.healthMs)} ms` : ''}`;
    tr.append(el('td', r.healthy === false && r.severity !== 'ok' ? 'badtext' : '', health));
    body.append(tr);
  }
  t.append(body);
  return t;
}

function renderMembers(s: HealthSnapshot): HTMLElement {
  const t = el('table', 'grid');
  t.id = 'member-table';
  const head = el('tr');
  for (const c of ['', 'ID', 'NAME', 'BOSH INSTANCE', 'STATE', 'PEER URLS', 'CLIENT URLS', 'IS LEARNER', 'NOTES', ''])
    head.append(el('th', '', c));
  t.append(el('thead'));
  t.tHead!.append(head);
  const body = el('tbody');
  for (const m of s.members) body.append(memberRow(m));
  t.append(body);
  return t;
}

function memberRow(m: MemberRow): HTMLTableRowElement {
  const bad = m.severity === 'critical';
  const warn = m.severity === 'warning';
  const tr = el('tr', bad ? 'row failing' : warn ? 'row warning' : 'row');
  tr.dataset.member = m.name || m.instance?.split('/')[1] || '';
  tr.dataset.severity = m.severity;
  tr.append(el('td', 'state', bad ? '✖' : warn ? '⚠' : '✔'));
  tr.lastElementChild!.className = bad ? 'state icon bad' : warn ? 'state icon warn' : 'state icon good';
  tr.append(el('td', 'mono nowrap', shortId(m.id)));
  tr.append(el('td', 'mono', m.name || '(unstarted)'));
  tr.append(el('td', 'mono', m.instance ?? '—'));
  tr.append(el('td', bad ? 'badtext' : warn ? 'warntext' : '', bad || warn ? m.state.toUpperCase() : m.state));
  tr.append(el('td', 'mono', m.peerURLs.join(', ')));
  tr.append(el('td', 'mono', m.clientURLs.join(', ')));
  tr.append(el('td', '', String(m.isLearner)));
  const notes = m.flags.join('; ');
  const notesCell = el(
    'td',
    m.flags.length ? `errors ${bad ? 'badtext' : 'warntext'}` : '',
    notes.length > 200 ? `${notes.slice(0, 200)}…` : notes,
  );
  notesCell.title = notes;
  tr.append(notesCell);
  const act = el('td');
  // Offered only where the diagnosis has positive evidence that a replacement is the fix.
  if (canRecover && m.recoverable && m.name) {
    const b = el('button', 'secondary', 'Recover this member…');
    b.addEventListener('click', () => send({ type: 'recoverMember', requestId: nextRequestId++, memberName: m.name }));
    act.append(b);
  }
  tr.append(act);
  return tr;
}

/** The button of a finding or an alarm: the flow that fixes it, or a copy of the bosh command. */
function actionButton(b: PanelButton | undefined): HTMLButtonElement | undefined {
  if (!b) return undefined;
  // Copying needs no trust; starting a flow does (the host refuses it too).
  if (b.kind !== 'copy-command' && !canRecover) return undefined;
  const button = el('button', 'secondary', b.label);
  button.dataset.action = b.kind;
  button.addEventListener('click', () => {
    const requestId = nextRequestId++;
    switch (b.kind) {
      case 'recover-member':
        send({ type: 'recoverMember', requestId, memberName: b.instanceId });
        return;
      case 'defrag':
        send({ type: 'startFlow', requestId, flow: 'defrag' });
        return;
      case 'recover-nospace':
        send({ type: 'startFlow', requestId, flow: 'recover-nospace' });
        return;
      case 'copy-command':
        send({ type: 'copyCommand', requestId, command: b.command });
        return;
    }
  });
  return button;
}

function renderAlarms(alarms: AlarmRow[]): HTMLElement {
  const box = el('div');
  box.id = 'alarm-list';
  if (!alarms.length) {
    box.append(el('div', 'muted', 'No alarms.'));
    return box;
  }
  // Per member: the member, its alarm, and the one way this tool clears it.
  const sorted = [...alarms].sort((a, b) => (a.member ?? a.memberId).localeCompare(b.member ?? b.memberId));
  for (const a of sorted) {
    const row = el('div', 'alarm');
    row.dataset.alarm = a.alarm;
    row.dataset.member = a.memberId;
    row.append(
      el('div', 'badtext', `ALARM ${a.alarm}`),
      el('div', 'mono', `member ${a.memberId}${a.member ? ` (${a.member})` : ''}`),
      el('div', 'rule', a.rule),
    );
    const b = actionButton(a.button);
    if (b) row.append(b);
    box.append(row);
  }
  return box;
}

const SEVERITY_MARK: Record<FindingRow['severity'], string> = { critical: '✖', warning: '⚠', info: 'ℹ' };

function renderBanners(banners: BannerRow[]): HTMLElement[] {
  return banners.map((b) => {
    const box = el('div', 'alarm-banner');
    box.dataset.kind = b.kind;
    box.setAttribute('role', 'alert');
    box.append(
      el('div', 'alarm-title', `✖ ${b.title}`),
      el('div', 'alarm-text', b.meaning),
      el('div', 'alarm-todo', `What to do: ${b.todo}`),
    );
    return box;
  });
}

function renderFindings(findings: FindingRow[]): HTMLElement {
  const box = el('div', 'findings');
  box.id = 'findings-list';
  for (const f of findings) {
    const row = el('div', `finding ${f.severity}`);
    row.dataset.kind = f.kind;
    row.dataset.severity = f.severity;
    row.append(el('span', 'sev', SEVERITY_MARK[f.severity]));
    const body = el('div');
    body.append(el('div', 'ftitle', f.title));
    if (f.instance) body.append(el('div', 'mono muted', f.instance));
    body.append(el('div', '', f.evidence));
    body.append(el('div', 'action', `What to do: ${f.action}`));
    if (f.command) body.append(el('div', 'mono', f.command));
    const b = actionButton(f.button);
    if (b) body.append(b);
    row.append(body);
    box.append(row);
  }
  return box;
}

function renderSizes(s: HealthSnapshot): HTMLElement {
  const wrap = el('div');
  if (!s.sizes.length) {
    wrap.append(el('div', 'muted', 'No member answered its status: sizes unknown.'));
    return wrap;
  }
  const t = el('table', 'grid');
  t.id = 'size-table';
  const head = el('tr');
  for (const c of ['MEMBER', 'DB SIZE', 'IN USE', 'FRAGMENTATION', 'QUOTA', '% OF QUOTA']) head.append(el('th', '', c));
  t.append(el('thead'));
  t.tHead!.append(head);
  const body = el('tbody');
  for (const z of s.sizes) body.append(sizeRow(z));
  t.append(body);
  const th = s.thresholds;
  wrap.append(
    t,
    el(
      'div',
      'muted',
      `Thresholds: near the quota above ${Math.round(th.nearQuotaRatio * 100)} %; fragmented when less than ${Math.round(th.fragmentationInUseRatio * 100)} % of a DB of at least ${formatBytes(th.fragmentationMinDbBytes)} is in use.` +
        (s.sizes.some((z) => !z.quotaKnown)
          ? " Quota marked 'default' was not read from the VM: etcd's 2 GiB default is assumed."
          : ''),
    ),
  );
  return wrap;
}

function sizeRow(z: SizeRow): HTMLTableRowElement {
  const tr = el('tr', z.nearQuota ? 'row warning' : 'row');
  tr.dataset.endpoint = z.endpoint;
  tr.append(el('td', 'mono', z.instance));
  tr.append(el('td', 'num', formatBytes(z.dbSize)));
  tr.append(el('td', 'num', z.dbSizeInUse === undefined ? '—' : formatBytes(z.dbSizeInUse)));
  tr.append(
    el(
      'td',
      z.fragmented ? 'num warntext' : 'num',
      z.fragmentationPct === undefined ? '—' : `${z.fragmentationPct} %${z.fragmented ? ' (defragment)' : ''}`,
    ),
  );
  tr.append(el('td', 'num', `${formatBytes(z.quotaBytes)}${z.quotaKnown ? '' : ' (default)'}`));
  const pct = el('td', z.nearQuota ? 'num warntext' : 'num');
  const bar = el('span', z.nearQuota ? 'bar near' : 'bar');
  const fill = el('span');
  fill.style.width = `${Math.min(100, z.quotaPct)}%`;
  bar.append(fill);
  pct.append(bar, el('span', '', `${z.quotaPct} %`));
  tr.append(pct);
  return tr;
}

const SVG = 'http://www.w3.org/2000/svg';
const PALETTE = [
  'var(--vscode-charts-blue)',
  'var(--vscode-charts-green)',
  'var(--vscode-charts-purple)',
  'var(--vscode-charts-orange)',
  'var(--vscode-charts-yellow)',
];

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** A small line chart of one metric over time, one line per endpoint. */
function chart(
  title: string,
  s: HealthSnapshot,
  pick: (p: { raftIndex: number; dbSize: number }) => number,
  fmt: (n: number) => string,
): HTMLElement {
  const box = el('div', 'chart');
  box.append(el('div', 'chart-title', title));
  const W = 420,
    H = 120,
    P = 4;
  const root = svg('svg', { width: W, height: H + 16, viewBox: `0 0 ${W} ${H + 16}`, role: 'img' });
  root.setAttribute('aria-label', title);
  const series = Object.entries(s.history);
  const all = series.flatMap(([, pts]) => pts);
  if (all.length === 0) {
    box.append(el('div', 'muted', 'No data yet.'));
    return box;
  }
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t), t0 + 1);
  let lo = Math.min(...all.map(pick));
  let hi = Math.max(...all.map(pick));
  if (hi === lo) {
    hi += 1;
    lo = Math.max(0, lo - 1);
  }
  root.append(svg('rect', { x: 0, y: 0, width: W, height: H, class: 'plot' }));
  series.forEach(([ep, pts], i) => {
    const color = PALETTE[i % PALETTE.length];
    const row = s.rows.find((r) => r.endpoint === ep);
    const d = pts
      .map(
        (p) =>
          `${(P + ((p.t - t0) / (t1 - t0)) * (W - 2 * P)).toFixed(1)},${(H - P - ((pick(p) - lo) / (hi - lo)) * (H - 2 * P)).toFixed(1)}`,
      )
      .join(' ');
    const line = svg('polyline', { points: d, fill: 'none', 'stroke-width': row?.failing ? 3 : 1.5 });
    line.style.stroke = row?.failing ? 'var(--vscode-errorForeground)' : color;
    if (row?.failing) line.setAttribute('stroke-dasharray', '4 3');
    root.append(line);
  });
  const lbl = svg('text', { x: 2, y: H + 12, class: 'axis' });
  lbl.textContent = `${fmt(lo)} … ${fmt(hi)} over ${Math.round((t1 - t0) / 1000)} s`;
  root.append(lbl);
  box.append(root);
  const legend = el('div', 'legend');
  series.forEach(([ep], i) => {
    const row = s.rows.find((r) => r.endpoint === ep);
    const sw = el('span', 'swatch');
    sw.style.background = row?.failing ? 'var(--vscode-errorForeground)' : PALETTE[i % PALETTE.length];
    const name = row?.instance ?? ep;
    legend.append(sw, el('span', row?.failing ? 'badtext' : '', `${name}${row?.failing ? ' (failing)' : ''}  `));
  });
  box.append(legend);
  return box;
}

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
  fl.append(renderFindings(s.findings));
  byId('unchecked').textContent = s.unchecked.length ? `Not checked: ${s.unchecked.join('; ')}` : '';
  const sz = byId('sizes');
  sz.textContent = '';
  sz.append(renderSizes(s));
  const st = byId('status');
  st.textContent = '';
  st.append(renderTable(s));
  const mem = byId('members');
  mem.textContent = '';
  mem.append(renderMembers(s));
  const al = byId('alarms');
  al.textContent = '';
  al.append(renderAlarms(s.alarms));
  const ch = byId('charts');
  ch.textContent = '';
  ch.append(
    chart(
      'Raft index',
      s,
      (p) => p.raftIndex,
      (n) => String(Math.round(n)),
    ),
    chart('DB size', s, (p) => p.dbSize, formatBytes),
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
