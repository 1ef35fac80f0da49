// One BOSH instance (`group/uuid` as `bosh is` prints it): icon and colour by process state.
import type { InstanceNode, ItemSpec, TreeNode } from './nodes';
import { instanceName } from '../bosh/types';
import { classifyState, stateIcon, stateWord } from './processState';
import { messageNode } from './messageNode';

export function instanceItem(n: InstanceNode): ItemSpec {
  const i = n.instance;
  const state = stateWord(i.processState);
  const bits = [i.az ?? 'no AZ', i.ips.join(', ') || 'no IP'];
  if (classifyState(i.processState) !== 'running') bits.unshift(state.toUpperCase());
  const tooltip = [
    `**${instanceName(i)}**${i.bootstrap ? ' (bootstrap)' : ''}`,
    `Process state: ${state}; desired: ${i.state}`,
    `Index: ${i.index ?? '-'} · AZ: ${i.az ?? '-'} · IPs: ${i.ips.join(', ') || '-'}`,
    `VM CID: ${i.vmCid ?? '-'} · VM type: ${i.vmType ?? '-'}`,
    `Bootstrap: ${i.bootstrap ? 'yes' : 'no'}${i.ignore ? ' · ignored' : ''}`,
    i.processes.filter((p) => p.state !== 'running').length
      ? `Not running: ${i.processes
          .filter((p) => p.state !== 'running')
          .map((p) => `${p.name} (${p.state})`)
          .join(', ')}`
      : '',
  ].filter(Boolean);
  return {
    id: n.key,
    label: instanceName(i),
    description: bits.join(' · '),
    tooltip: tooltip.join('\n\n'),
    icon: stateIcon(i.processState),
    contextValue: n.runsEtcd ? 'instance.etcd' : 'instance',
    collapsible: i.processes.length ? 'collapsed' : 'none',
  };
}

export function instanceChildren(n: InstanceNode): TreeNode[] {
  const i = n.instance;
  if (!i.processes.length)
    return [
      messageNode(n.key, 'info', i.processState ? 'No processes reported by the agent' : 'No VM for this instance'),
    ];
  return i.processes.map((p) => ({
    kind: 'process',
    key: `${n.key}/proc:${p.name}`,
    envName: n.envName,
    deployment: n.deployment,
    instance: i,
    process: p,
  }));
}
