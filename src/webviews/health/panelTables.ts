/// <reference lib="dom" />
// The health panel's tables (browser side, bundled with panel.ts): endpoint status as
// `etcdctl endpoint status -w table` shows it plus health, the member list with its recover button,
// and DB sizes against the quota.
import type { EndpointRow, HealthSnapshot, MemberRow, SizeRow } from './protocol';
import { formatBytes } from './protocol';
import { el, shortId, type PanelActions } from './panelDom';
import { ENDPOINT_STATUS_COLUMNS } from '../../etcd/statusColumns';

const [ENDPOINT, ...STATUS_REST] = ENDPOINT_STATUS_COLUMNS;
/** etcdctl's columns, with the BOSH instance after the endpoint and the health check last. */
const COLUMNS = ['', ENDPOINT, 'MEMBER (BOSH INSTANCE)', ...STATUS_REST, 'HEALTH'];

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

export function renderTable(s: HealthSnapshot): HTMLTableElement {
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

export function renderMembers(s: HealthSnapshot, actions: PanelActions): HTMLElement {
  const t = el('table', 'grid');
  t.id = 'member-table';
  const head = el('tr');
  for (const c of ['', 'ID', 'NAME', 'BOSH INSTANCE', 'STATE', 'PEER URLS', 'CLIENT URLS', 'IS LEARNER', 'NOTES', ''])
    head.append(el('th', '', c));
  t.append(el('thead'));
  t.tHead!.append(head);
  const body = el('tbody');
  for (const m of s.members) body.append(memberRow(m, actions));
  t.append(body);
  return t;
}

function memberRow(m: MemberRow, actions: PanelActions): HTMLTableRowElement {
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
  if (actions.canRecover && m.recoverable && m.name) {
    const b = el('button', 'secondary', 'Recover this member…');
    b.addEventListener('click', () =>
      actions.request((requestId) => ({ type: 'recoverMember', requestId, memberName: m.name })),
    );
    act.append(b);
  }
  tr.append(act);
  return tr;
}

export function renderSizes(s: HealthSnapshot): HTMLElement {
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
