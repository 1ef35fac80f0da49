// What each surface offers to act on a finding: the flow that fixes it as one button (panel) or
// context-menu entry (tree), and the rule for each etcd alarm. Plain data, no `vscode`: the
// command ids are the extension's contributed commands, named here so the panel, the tree and
// their tests share one table.
import type { ActionFlow, Finding } from './types';

/** The commands that start a flow; each takes `{ envName, deployment, instanceId? }`. */
export const FLOW_COMMANDS = {
  'recover-member': 'boshEtcd.recoverMember',
  defrag: 'boshEtcd.defragEtcd',
  'recover-nospace': 'boshEtcd.recoverNospace',
  'take-snapshot': 'boshEtcd.takeSnapshot',
  'restore-quorum': 'boshEtcd.restoreQuorum',
} as const;

/** The quorum-restore wizard's command ("BOSH etcd: Restore etcd Quorum…", src/disaster/quorum.ts behind it). */
export const RESTORE_QUORUM_COMMAND = FLOW_COMMANDS['restore-quorum'];

export type StartableFlow = keyof typeof FLOW_COMMANDS;

/** A button that starts a flow, or copies the finding's bosh command (the operator runs it). */
export type FindingButton =
  | { kind: 'recover-member'; label: string; instanceId: string }
  | { kind: 'defrag'; label: string }
  | { kind: 'recover-nospace'; label: string }
  | { kind: 'restore-quorum'; label: string }
  | { kind: 'copy-command'; label: string; command: string };

/**
 * The button a finding gets, undefined when none fits: 'none' (investigate), a member replacement
 * without a known instance, a 'bosh' action without a command. 'restore-quorum' is the quorum-loss wizard
 * (proposed only when a majority's data is gone: rules/cluster.ts).
 */
export function findingButton(f: Pick<Finding, 'kind' | 'action' | 'instance'>): FindingButton | undefined {
  return buttonFor(f.action.flow, f.kind, f.instance?.id, f.action.command);
}

function buttonFor(
  flow: ActionFlow,
  kind: string,
  instanceId: string | undefined,
  command: string | undefined,
): FindingButton | undefined {
  switch (flow) {
    case 'recover-member':
      if (!instanceId) return undefined;
      return {
        kind: 'recover-member',
        label: kind === 'alarm-corrupt' ? 'Replace this member…' : 'Recover this member…',
        instanceId,
      };
    case 'defrag':
      return { kind: 'defrag', label: 'Defragment…' };
    case 'recover-nospace':
      return { kind: 'recover-nospace', label: 'Recover from NOSPACE…' };
    case 'bosh':
      return command ? { kind: 'copy-command', label: 'Copy command', command } : undefined;
    case 'restore-quorum':
      return { kind: 'restore-quorum', label: 'Restore quorum…' };
    case 'none':
      return undefined;
  }
}

/** The command a finding's button runs in VS Code; undefined for a copy (done by the host) or no button. */
export function commandForButton(b: FindingButton | undefined): string | undefined {
  if (!b || b.kind === 'copy-command') return undefined;
  return FLOW_COMMANDS[b.kind];
}

/** The tree's contextValue suffix for a finding: the package.json menus match `action.<flow>`. */
export function findingContextValue(f: Pick<Finding, 'kind' | 'action' | 'instance'>): string {
  const b = findingButton(f);
  const action = !b ? 'none' : b.kind === 'copy-command' ? 'copy' : b.kind;
  return `finding.${f.kind}.action-${action}`;
}

/** etcd's alarm names: `alarm list` prints NOSPACE / CORRUPT, the JSON API the numbers. */
export function alarmName(raw: string): string {
  return raw === '1' ? 'NOSPACE' : raw === '2' ? 'CORRUPT' : raw.toUpperCase();
}

export interface AlarmRule {
  /** How this alarm is cleared, in words (the panel shows it beside the alarm). */
  rule: string;
  button?: FindingButton;
}

/**
 * The rule for an alarm on one member. NOSPACE is cleared only by the NOSPACE recovery (space
 * reclaimed first, then disarm): a bare disarm would let the next write raise it again. CORRUPT is
 * never disarmed by this tool: the member's data is not trusted, so the member is replaced.
 */
export function alarmRule(alarm: string, instanceId: string | undefined): AlarmRule {
  switch (alarmName(alarm)) {
    case 'NOSPACE':
      return {
        rule: 'Cleared by "Recover from NOSPACE" (compact, defragment every member, then disarm once space is reclaimed); never by a bare disarm.',
        button: { kind: 'recover-nospace', label: 'Recover from NOSPACE…' },
      };
    case 'CORRUPT':
      return {
        rule: "Never disarmed: this member's data differs from the others'. Replace the member.",
        button: instanceId ? { kind: 'recover-member', label: 'Replace this member…', instanceId } : undefined,
      };
    default:
      return { rule: 'Unknown alarm: investigate with etcdctl alarm list before disarming anything.' };
  }
}
