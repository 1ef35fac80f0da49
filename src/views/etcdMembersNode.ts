// "etcd members" under a deployment that runs etcd: the cluster's members mapped to instances.
import type { EtcdMembersNode, ItemSpec, TreeNode, TreeModelData } from './nodes';
import { errorNode, messageNode } from './messageNode';
import { healthCount } from '../diagnosis/membership';

export function etcdMembersItem(n: EtcdMembersNode, data: TreeModelData): ItemSpec {
  const members = data.cachedEtcdMembers(n.envName, n.deployment);
  let description = 'etcd cluster';
  let icon: ItemSpec['icon'] = { id: 'database' };
  if (members === 'error') {
    description = 'cannot reach etcd';
    icon = { id: 'database', color: 'errorForeground' };
  } else if (members) {
    const { healthy, total } = healthCount(members);
    description = `${healthy}/${total} healthy`;
    icon =
      healthy === total
        ? { id: 'database', color: 'testing.iconPassed' }
        : { id: 'database', color: 'errorForeground' };
  }
  return {
    id: n.key,
    label: 'etcd members',
    description,
    tooltip: `etcd cluster of **${n.deployment}**: members mapped to BOSH instances (member name = instance UUID). Right-click to open the health panel.`,
    icon,
    contextValue: 'etcdCluster',
    collapsible: 'expanded',
    command: { command: 'boshEtcd.openHealthPanel', title: 'Open etcd Health Panel', arguments: [n] },
  };
}

export async function etcdMembersChildren(n: EtcdMembersNode, data: TreeModelData): Promise<TreeNode[]> {
  try {
    const members = await data.etcdMembers(n.envName, n.deployment);
    if (!members.length) return [messageNode(n.key, 'warning', 'The cluster reports no members')];
    return members.map((m) => ({
      kind: 'member',
      key: `${n.key}/member:${m.id || `missing-${m.instance?.id}`}`,
      envName: n.envName,
      deployment: n.deployment,
      member: m,
    }));
  } catch (e) {
    return [errorNode(n.key, e, `reading the etcd members of ${n.deployment}`)];
  }
}
