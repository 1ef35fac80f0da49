// An instance group (job), e.g. master or worker.
import type { InstanceGroupNode, ItemSpec, TreeNode } from './nodes';
import { stateIconForClass, worstState } from './processState';
import { runsEtcd } from '../diagnosis/membership';

export function instanceGroupItem(n: InstanceGroupNode): ItemSpec {
  const notRunning = n.instances.filter((i) => i.processState !== null && i.processState !== 'running');
  const worst = worstState(n.instances.map((i) => i.processState));
  return {
    id: n.key,
    label: n.group,
    description: `${n.instances.length} instance${n.instances.length === 1 ? '' : 's'}${notRunning.length ? `, ${notRunning.length} ${worst === 'failing' ? 'failing' : 'not running'}` : ''}`,
    tooltip: `Instance group **${n.group}**: ${n.instances.map((i) => `${i.group}/${i.id} ${i.processState ?? 'no VM'}`).join(', ')}`,
    icon: notRunning.length
      ? stateIconForClass(worst)
      : n.instances.every((i) => i.processState === null)
        ? { id: 'layers', color: 'disabledForeground' }
        : { id: 'layers' },
    contextValue: n.etcdGroup ? 'group.etcd' : 'group',
    collapsible: n.etcdGroup ? 'expanded' : 'collapsed',
  };
}

export function instanceGroupChildren(n: InstanceGroupNode): TreeNode[] {
  return n.instances.map((i) => ({
    kind: 'instance',
    key: `${n.key}/inst:${i.id}`,
    envName: n.envName,
    deployment: n.deployment,
    instance: i,
    runsEtcd: runsEtcd(i),
  }));
}
