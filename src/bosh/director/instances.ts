// The Director's fast instance list (GET /deployments/<d>/instances, no agent calls) → the
// InstanceInfo fields it carries, sorted as an operator reads them.
import type { InstanceInfo } from '../types';
import { compareInstances } from '../vmInfo';

export type InstanceSummary = Pick<
  InstanceInfo,
  'group' | 'id' | 'index' | 'az' | 'ips' | 'vmCid' | 'agentId' | 'expectsVm'
>;

export function toInstanceSummaries(list: Record<string, unknown>[]): InstanceSummary[] {
  return list
    .map((r) => ({
      group: typeof r.job === 'string' ? r.job : '',
      id: typeof r.id === 'string' ? r.id : '',
      index: typeof r.index === 'number' ? r.index : null,
      az: typeof r.az === 'string' ? r.az : null,
      ips: Array.isArray(r.ips) ? (r.ips as unknown[]).filter((x): x is string => typeof x === 'string') : [],
      vmCid: typeof r.cid === 'string' && r.cid ? r.cid : null,
      agentId: typeof r.agent_id === 'string' && r.agent_id ? r.agent_id : null,
      expectsVm: typeof r.expects_vm === 'boolean' ? r.expects_vm : undefined,
    }))
    .sort(compareInstances);
}

/**
 * A fast-list entry as an InstanceInfo: what the fast list does not carry is unknown (no process
 * states, no processes, 'started' assumed, no disks, not the bootstrap instance).
 */
export function instanceFromSummary(deployment: string, f: InstanceSummary): InstanceInfo {
  return {
    deployment,
    group: f.group,
    id: f.id,
    index: f.index,
    processState: null,
    state: 'started',
    az: f.az,
    ips: f.ips,
    vmCid: f.vmCid,
    vmType: null,
    agentId: f.agentId,
    bootstrap: false,
    ignore: false,
    diskCids: [],
    processes: [],
    vmCreatedAt: null,
  };
}
