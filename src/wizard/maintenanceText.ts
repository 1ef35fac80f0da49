// What the operator reads of a maintenance run (rolling defragmentation, NOSPACE recovery): the
// terminal text of each event (ANSI colours, \r\n line ends), the review page (Markdown) and the
// modal confirmation that names the consequence. Pure functions; no `vscode` import here.
import {
  defragConsequences,
  formatBytes,
  formatDefragPlan,
  formatNospacePlan,
  type DefragMemberResult,
  type DefragPlan,
  type MaintenanceEvent,
  type MaintenanceOutcome,
  type MaintenanceRefusal,
  type NospacePlan,
} from '../maintenance';
import { crlf } from './eventText';
import type { Consequence } from './wizardTypes';

export type MaintenanceKind = 'defrag' | 'nospace';

const C = {
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
  bold: '\x1b[1m',
  reset: '\x1b[0m',
};

function sizes(r: DefragMemberResult): string {
  if (r.before && r.after)
    return ` ${formatBytes(r.before.dbSize)} (${formatBytes(r.before.dbSizeInUse)} in use) → ${formatBytes(r.after.dbSize)}`;
  if (r.before) return ` ${formatBytes(r.before.dbSize)} (${formatBytes(r.before.dbSizeInUse)} in use)`;
  return '';
}

/** Lines (which may hold line breaks themselves) indented by two spaces, each ended by \r\n. */
function indented(lines: string[]): string {
  return lines
    .flatMap((l) => l.split(/\r?\n/))
    .map((l) => `  ${l}\r\n`)
    .join('');
}

const GOOD_OUTCOMES: MaintenanceOutcome[] = ['done', 'nothing-to-do'];
const NEUTRAL_OUTCOMES: MaintenanceOutcome[] = ['dry-run', 'declined', 'cancelled'];

export function maintenanceEventText(e: MaintenanceEvent): string {
  switch (e.type) {
    case 'observed':
      return `${C.bold}Observed the cluster:${C.reset}\r\n${indented(e.summary)}`;
    case 'plan':
      return `\r\n${C.bold}Plan:${C.reset}\r\n${indented(e.lines)}`;
    case 'refused':
      return `${C.red}${C.bold}Refused — nothing was changed:${C.reset}\r\n${e.refusals.map((r) => `${C.red}  ✖ ${crlf(r.message)}${C.reset}\r\n    What to do: ${crlf(r.advice)}`).join('\r\n')}\r\n`;
    case 'step-start':
      return `\r\n${C.cyan}${C.bold}── ${e.title} ──${C.reset}\r\n`;
    case 'command':
      return e.skipped
        ? `${C.dim}  not run (${e.skipped})  ${e.host}$ ${crlf(e.command)}${C.reset}\r\n`
        : `${C.yellow}${e.host}${C.reset}${C.bold}$ ${crlf(e.command)}${C.reset}${C.dim}   # ${e.purpose}${C.reset}\r\n`;
    case 'output':
      return e.stream === 'stderr' ? `${C.red}${crlf(e.text)}${C.reset}` : crlf(e.text);
    case 'command-done':
      return e.exitCode === 0
        ? `${C.dim}  → exit 0 (${e.durationMs} ms)${C.reset}\r\n`
        : `${C.red}  → exit ${e.exitCode ?? `signal ${e.signal ?? '?'}`} (${e.durationMs} ms)${C.reset}\r\n`;
    case 'check':
      return `${e.ok ? `${C.green}  ✔` : `${C.red}  ✖`} ${e.name}${C.reset}${e.detail ? `${C.dim} — ${crlf(e.detail)}${C.reset}` : ''}\r\n`;
    case 'member-done': {
      const r = e.result;
      const col = r.outcome === 'defragmented' ? C.green : r.outcome === 'skipped' ? C.dim : C.red;
      return `${col}  ${r.outcome === 'defragmented' ? '✔' : r.outcome === 'skipped' ? '–' : '✖'} ${r.label}${r.wasLeader ? ' (leader)' : ''}: ${r.outcome}${sizes(r)}${r.reason ? ` (${crlf(r.reason)})` : ''}${C.reset}\r\n`;
    }
    case 'pause':
      return `${C.dim}  pausing ${Math.round(e.ms / 100) / 10} s before ${e.next}${C.reset}\r\n`;
    case 'info':
      return `${C.dim}  ${crlf(e.message)}${C.reset}\r\n`;
    case 'step-done':
      return `${C.green}  ✔ done${e.detail ? `: ${crlf(e.detail)}` : ''}${C.reset}\r\n`;
    case 'step-failed':
      return `\r\n${C.red}${C.bold}✖ Failed: ${crlf(e.error)}${C.reset}\r\n${C.yellow}  What to do: ${crlf(e.advice)}${C.reset}\r\n`;
    case 'cancelled':
      return `\r\n${C.yellow}${crlf(e.message)}${C.reset}\r\n`;
    case 'done': {
      const col = GOOD_OUTCOMES.includes(e.outcome) ? C.green : NEUTRAL_OUTCOMES.includes(e.outcome) ? C.yellow : C.red;
      return `\r\n${col}${C.bold}${e.outcome.toUpperCase()}${C.reset}: ${crlf(e.message.split('\n')[0])}\r\n${e.transcriptPath ? `${C.dim}Transcript: ${e.transcriptPath}${C.reset}\r\n` : ''}`;
    }
  }
}

export function defragConfirmation(plan: DefragPlan): Consequence {
  const n = plan.members.filter((m) => !m.skip).length;
  const skipped = plan.members.filter((m) => m.skip).map((m) => m.label);
  const leader = plan.members.find((m) => m.isLeader && !m.skip);
  return {
    message: `Defragment ${n} etcd member${n === 1 ? '' : 's'} of ${plan.deployment}, one at a time (followers first, the leader last)?`,
    detail: [
      ...defragConsequences(plan).map((l) => `${l}.`),
      ...(leader ? [`${leader.label} is the leader: it goes last (etcd elects another leader meanwhile).`] : []),
      `Each member must be healthy and caught up with the leader before the next; ${Math.round(plan.pauseMs / 100) / 10} s pause between members.`,
      ...(skipped.length ? [`Skipped (not fragmented enough): ${skipped.join(', ')}.`] : []),
    ].join('\n'),
    button: n === 1 ? 'Defragment 1 Member' : `Defragment ${n} Members`,
  };
}

export function nospaceConfirmation(plan: NospacePlan): Consequence {
  return {
    message: `Recover ${plan.deployment} from NOSPACE: compact the history, defragment every member, disarm the alarm?`,
    detail: [
      `The history before revision ${plan.revision ?? '(current)'} is compacted away for good (watchers further behind must re-list).`,
      ...defragConsequences(plan.defrag).map((l) => `${l}.`),
      'Then NOSPACE is disarmed and a test key is written and deleted; the cluster accepts writes again.',
    ].join('\n'),
    button: 'Compact, Defragment and Disarm',
  };
}

function refusalsMarkdown(refusals: MaintenanceRefusal[]): string[] {
  if (!refusals.length) return [];
  return [
    '## Refused — nothing will be changed',
    '',
    ...refusals.flatMap((r) => [`- **${r.message}**  `, `  What to do: ${r.advice}`]),
    '',
  ];
}

/** The review page: the plan with every command, the consequences, and any refusal. */
export function maintenanceReviewMarkdown(
  kind: MaintenanceKind,
  plan: DefragPlan | NospacePlan,
  ctx: { envName: string; dryRun: boolean },
): string {
  const title =
    kind === 'defrag'
      ? `Rolling defragmentation plan: ${plan.deployment}`
      : `NOSPACE recovery plan: ${plan.deployment}`;
  const lines = kind === 'defrag' ? formatDefragPlan(plan as DefragPlan) : formatNospacePlan(plan as NospacePlan);
  const defrag = kind === 'defrag' ? (plan as DefragPlan) : (plan as NospacePlan).defrag;
  const consequences = defragConsequences(defrag);
  return [
    `# ${title}`,
    '',
    `Environment **${ctx.envName}**, deployment **${plan.deployment}**${ctx.dryRun ? ' — **dry-run: nothing will be changed**' : ''}.`,
    '',
    ...refusalsMarkdown(plan.refusals),
    '## Plan (every command, exactly as it will run over SSH, with sudo)',
    '',
    '```text',
    ...lines,
    '```',
    '',
    ...(consequences.length && !plan.refusals.length
      ? ['## Consequences', '', ...consequences.map((c) => `- ${c}`), '']
      : []),
  ].join('\n');
}
