// Turns recovery engine events into terminal text (ANSI colours, \r\n line ends). Plain TypeScript.
import type { RecoveryEvent } from '../recovery/events';

const C = {
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
  bold: '\x1b[1m',
  reset: '\x1b[0m',
};

export function crlf(s: string): string {
  return s.replace(/\r?\n/g, '\r\n');
}

function shortHost(h: string): string {
  const [g, id] = h.split('/');
  return id ? `${g}/${id.slice(0, 8)}` : h;
}

export function eventText(e: RecoveryEvent<string>): string {
  switch (e.type) {
    case 'observed':
      return `${C.bold}Observed the cluster:${C.reset}\r\n${e.summary.map((s) => `  ${s}`).join('\r\n')}\r\n`;
    case 'plan':
      return `${C.bold}Plan for ${e.plan.target}:${C.reset} ${e.plan.steps.filter((s) => !s.done).length} of ${e.plan.steps.length} steps to run${e.plan.resumed ? ' (continuing an interrupted run)' : ''}\r\n`;
    case 'refused':
      return `${C.red}${C.bold}Refused — nothing was changed:${C.reset}\r\n${e.refusals.map((r) => `${C.red}  ✖ ${r.message}${C.reset}\r\n    ${r.advice}`).join('\r\n')}\r\n`;
    case 'step-start':
      return `\r\n${C.cyan}${C.bold}── Step ${e.number}/${e.total}: ${e.title}${e.alreadyDone ? ' (already done)' : ''} ──${C.reset}\r\n`;
    case 'command':
      return e.skipped
        ? `${C.dim}  skip  ${shortHost(e.host)}$ ${crlf(e.command)}  (${e.skipped})${C.reset}\r\n`
        : `${C.yellow}${shortHost(e.host)}${C.reset}${C.bold}$ ${crlf(e.command)}${C.reset}${C.dim}   # ${e.purpose}${C.reset}\r\n`;
    case 'output':
      return e.stream === 'stderr' ? `${C.red}${crlf(e.text)}${C.reset}` : crlf(e.text);
    case 'command-done':
      return e.exitCode === 0
        ? `${C.dim}  → exit 0 (${e.durationMs} ms)${C.reset}\r\n`
        : `${C.red}  → exit ${e.exitCode ?? `signal ${e.signal ?? '?'}`} (${e.durationMs} ms)${C.reset}\r\n`;
    case 'check':
      return `${e.ok ? `${C.green}  ✔` : `${C.red}  ✖`} ${e.name}${C.reset}${e.detail ? `${C.dim} — ${crlf(e.detail)}${C.reset}` : ''}\r\n`;
    case 'info':
      return `${C.dim}  ${crlf(e.message)}${C.reset}\r\n`;
    case 'step-done':
      return e.skipped
        ? `${C.dim}  step ${e.number} skipped: already done${e.detail ? ` (${e.detail})` : ''}${C.reset}\r\n`
        : `${C.green}  ✔ step ${e.number} done${C.reset}\r\n`;
    case 'step-failed':
      return `\r\n${C.red}${C.bold}✖ Step ${e.number} failed: ${crlf(e.error)}${C.reset}\r\n${C.yellow}  What to do: ${crlf(e.advice)}${C.reset}\r\n`;
    case 'cancelled':
      return `\r\n${C.yellow}${crlf(e.message)}${C.reset}\r\n`;
    case 'done': {
      const col =
        e.outcome === 'recovered'
          ? C.green
          : e.outcome === 'dry-run' || e.outcome === 'declined' || e.outcome === 'cancelled'
            ? C.yellow
            : C.red;
      return `\r\n${col}${C.bold}${e.outcome.toUpperCase()}${C.reset}: ${crlf(e.message.split('\n')[0])}\r\n${C.dim}Transcript: ${e.transcriptPath}${C.reset}\r\n`;
    }
  }
}
