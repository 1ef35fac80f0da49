/// <reference lib="dom" />
// The health panel's findings, cluster-wide banners and alarms (browser side, bundled with
// panel.ts), each with the button of the flow that fixes it or a copy of the bosh command.
import type { AlarmRow, BannerRow, FindingRow, PanelButton, PanelToHost } from './protocol';
import { el, type PanelActions } from './panelDom';

/** The button of a finding or an alarm: the flow that fixes it, or a copy of the bosh command. */
function actionButton(b: PanelButton | undefined, actions: PanelActions): HTMLButtonElement | undefined {
  if (!b) return undefined;
  // Copying needs no trust; starting a flow does (the host refuses it too).
  if (b.kind !== 'copy-command' && !actions.canRecover) return undefined;
  const button = el('button', 'secondary', b.label);
  button.dataset.action = b.kind;
  button.addEventListener('click', () =>
    actions.request((requestId): PanelToHost => {
      switch (b.kind) {
        case 'recover-member':
          return { type: 'recoverMember', requestId, memberName: b.instanceId };
        case 'defrag':
          return { type: 'startFlow', requestId, flow: 'defrag' };
        case 'recover-nospace':
          return { type: 'startFlow', requestId, flow: 'recover-nospace' };
        case 'restore-quorum':
          return { type: 'startFlow', requestId, flow: 'restore-quorum' };
        case 'copy-command':
          return { type: 'copyCommand', requestId, command: b.command };
      }
    }),
  );
  return button;
}

export function renderAlarms(alarms: AlarmRow[], actions: PanelActions): HTMLElement {
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
    const b = actionButton(a.button, actions);
    if (b) row.append(b);
    box.append(row);
  }
  return box;
}

const SEVERITY_MARK: Record<FindingRow['severity'], string> = { critical: '✖', warning: '⚠', info: 'ℹ' };

export function renderBanners(banners: BannerRow[]): HTMLElement[] {
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

export function renderFindings(findings: FindingRow[], actions: PanelActions): HTMLElement {
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
    const b = actionButton(f.button, actions);
    if (b) body.append(b);
    row.append(body);
    box.append(row);
  }
  return box;
}
