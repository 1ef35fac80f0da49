// How the tree draws a finding: icon and colour by severity, the words of the state, and the
// tooltip (title, evidence, what to do). Plain TypeScript, unit-tested.
import type { Finding, Severity } from '../diagnosis/types';
import type { MemberStateWord } from '../diagnosis/summary';
import type { IconSpec } from './nodes';

export const SEVERITY_ICON: Record<Severity | 'ok', IconSpec> = {
  critical: { id: 'error', color: 'errorForeground' },
  warning: { id: 'warning', color: 'list.warningForeground' },
  info: { id: 'info' },
  ok: { id: 'pass', color: 'testing.iconPassed' },
};

/** The icon of a row whose worst finding is f (undefined or info: nothing wrong). */
export function findingIcon(f: Finding | undefined): IconSpec | undefined {
  if (!f || f.severity === 'info') return undefined;
  return SEVERITY_ICON[f.severity];
}

/** The state word for a description: failures in capitals so they stand out in a narrow sidebar. */
export function stateText(word: MemberStateWord, worst: Finding | undefined): string {
  if (!worst || worst.severity === 'info') return word === 'healthy' ? 'healthy' : word;
  return word.toUpperCase();
}

const escapeMd = (s: string) => s.replace(/([\\`*_[\]<>])/g, '\\$1');

/** Markdown paragraphs for a tooltip: one block per finding (warnings and worse), worst first. */
export function findingsMarkdown(findings: Finding[]): string[] {
  const shown = findings.filter((f) => f.severity !== 'info');
  return shown.flatMap((f) => [
    `${f.severity === 'critical' ? '$(error)' : '$(warning)'} **${escapeMd(f.title)}**`,
    escapeMd(f.evidence),
    `**What to do:** ${escapeMd(f.action.text)}${f.action.command ? `\n\n\`${f.action.command.replace(/`/g, "'")}\`` : ''}`,
  ]);
}
