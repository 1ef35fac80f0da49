// Icon, colour and words for BOSH process / instance states (the agent's job_state words).
import type { IconSpec } from './nodes';

export type StateClass = 'running' | 'failing' | 'starting' | 'unresponsive' | 'stopped' | 'unknown' | 'novm';

export function classifyState(state: string | null | undefined): StateClass {
  switch (state) {
    case 'running':
      return 'running';
    case 'failing':
      return 'failing';
    case 'starting':
      return 'starting';
    case 'unresponsive agent':
    case 'unresponsive':
      return 'unresponsive';
    case 'stopped':
      return 'stopped';
    case null:
    case undefined:
    case '':
      return 'novm';
    default:
      return 'unknown';
  }
}

const ICONS: Record<StateClass, IconSpec> = {
  running: { id: 'pass', color: 'testing.iconPassed' },
  failing: { id: 'error', color: 'errorForeground' },
  starting: { id: 'loading~spin', color: 'charts.yellow' },
  unresponsive: { id: 'debug-disconnect', color: 'list.warningForeground' },
  stopped: { id: 'debug-stop', color: 'disabledForeground' },
  unknown: { id: 'question', color: 'list.warningForeground' },
  novm: { id: 'circle-slash', color: 'disabledForeground' },
};

export function stateIcon(state: string | null | undefined): IconSpec {
  return ICONS[classifyState(state)];
}

/** Severity order used to summarise a group (worst first). */
const ORDER: StateClass[] = ['failing', 'unresponsive', 'unknown', 'novm', 'starting', 'stopped', 'running'];

export function worstState(states: (string | null)[]): StateClass {
  let worst: StateClass = 'running';
  for (const s of states) {
    const c = classifyState(s);
    if (ORDER.indexOf(c) < ORDER.indexOf(worst)) worst = c;
  }
  return worst;
}

export function stateIconForClass(c: StateClass): IconSpec {
  return ICONS[c];
}

export function stateWord(state: string | null | undefined): string {
  return state ?? 'no VM';
}
