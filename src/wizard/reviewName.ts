// The recovery review page's tab name (no vscode: unit-tested).
import type { Plan } from '../recovery/events';

/**
 * The review tab's name: the instance recovered, or for several, how many and which ("2 members
 * master-2b3c+master-4d5e"), so that two runs' review tabs are told apart.
 */
export function reviewTabName(plan: Pick<Plan, 'target' | 'targets'>): string {
  const targets = plan.targets && plan.targets.length > 1 ? plan.targets : undefined;
  const name = targets
    ? `${targets.length} members ${targets.map((t) => t.replace(/^([^/]+)\/(.{4}).*$/, '$1-$2')).join('+')}`
    : plan.target;
  return name.replace(/[^A-Za-z0-9._+-]/g, '-');
}
