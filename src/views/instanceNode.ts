// One BOSH instance: `master/0` with the short UUID and its state as the description (the full
// `master/<uuid>` in the tooltip and on copy). An etcd instance's icon and state come from its
// worst finding in the deployment's diagnosis; other instances show the Director's process state.
import type { InstanceNode, ItemSpec, TreeModelData, TreeNode } from './nodes';
import { instanceName } from '../bosh/types';
import { memberStateWord, worstFindingForInstance, findingsForInstance } from '../diagnosis/summary';
import { shortInstanceName } from '../diagnosis/membership';
import { classifyState, stateIcon, stateWord } from './processState';
import { messageNode } from './messageNode';
import { findingIcon, findingsMarkdown, stateText } from './findingRender';

export function instanceItem(n: InstanceNode, data?: Pick<TreeModelData, 'cachedDiagnosis'>): ItemSpec {
  const i = n.instance;
  const state = stateWord(i.processState);
  const findings = n.runsEtcd ? data?.cachedDiagnosis(n.envName, n.deployment)?.diagnosis?.findings : undefined;
  const worst = findings ? worstFindingForInstance(findings, i.id) : undefined;
  const etcdWord = findings ? stateText(memberStateWord(findings, i.id), worst) : undefined;
  // The etcd word when something is wrong with the member; else the Director's process state.
  const shown =
    etcdWord && worst && worst.severity !== 'info'
      ? etcdWord
      : classifyState(i.processState) !== 'running'
        ? state.toUpperCase()
        : state;
  const tooltip = [
    `**${instanceName(i)}**${i.bootstrap ? ' (bootstrap)' : ''}`,
    ...(findings ? findingsMarkdown(findingsForInstance(findings, i.id)) : []),
    etcdWord ? `etcd: ${etcdWord}` : '',
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
    label: shortInstanceName(i),
    description: `${i.id.slice(0, 8)} · ${shown}`,
    tooltip: tooltip.join('\n\n'),
    icon: findingIcon(worst) ?? stateIcon(i.processState),
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
