// How findings name instances and sizes: shared by the classifier's rules and the causes.
import type { InstanceInfo } from '../bosh/types';
import { labelOf } from './observe';
import type { FindingInstance } from './types';

export const short = (id: string) => id.slice(0, 8);
export const bytes = (n: number) =>
  n >= 1024 * 1024 * 1024
    ? `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`
    : n >= 1024 * 1024
      ? `${(n / 1024 / 1024).toFixed(1)} MiB`
      : `${Math.round(n / 1024)} KiB`;

export function instRef(i: InstanceInfo): FindingInstance {
  return { label: labelOf(i), group: i.group, id: i.id, index: i.index, bootstrap: i.bootstrap };
}
export const displayName = (i: InstanceInfo) => `${i.group}/${i.index ?? '?'} (${short(i.id)})`;
