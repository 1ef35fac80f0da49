// A tree row that reports a failure or a note instead of throwing, so one broken environment or
// deployment does not hide the others.
import type { ItemSpec, MessageNode } from './nodes';
import { explainError, explainForOperator } from '../util/errors';

export function messageNode(
  parentKey: string,
  severity: MessageNode['severity'],
  text: string,
  detail?: string,
): MessageNode {
  return { kind: 'message', key: `${parentKey}/msg:${text.slice(0, 40)}`, severity, text, detail };
}

export function errorNode(parentKey: string, e: unknown, what: string): MessageNode {
  return messageNode(parentKey, 'error', explainForOperator(e, what), explainError(e, what).detail);
}

export function messageItem(n: MessageNode): ItemSpec {
  const icon =
    n.severity === 'error'
      ? { id: 'error', color: 'errorForeground' }
      : n.severity === 'warning'
        ? { id: 'warning', color: 'list.warningForeground' }
        : { id: 'info' };
  return {
    id: n.key,
    label: n.text,
    tooltip: n.detail ? `${n.text}\n\n\`${n.detail.replace(/`/g, "'")}\`` : n.text,
    icon,
    contextValue: 'message',
    collapsible: 'none',
  };
}
