// A deployment: its instance groups, and an "etcd members" node when it runs etcd.
import type { DeploymentNode, InstanceGroupNode, ItemSpec, TreeNode, TreeModelData } from './nodes';
import { errorNode, messageNode } from './messageNode';
import { runsEtcd } from '../diagnosis/membership';
import { clusterHeadline } from '../diagnosis/headline';
import type { MonitorEntry } from '../diagnosis/monitor';

/**
 * What the deployment row says of its etcd cluster: a cluster-wide critical state ("QUORUM LOST",
 * "SPLIT BRAIN", "NOSPACE") stands out on the collapsed row too, and while quorum is lost the row
 * offers the quorum restore (package.json: viewItem deployment.quorumLost). The tree redraws the row
 * when this changes (treeModel.ts).
 */
export function deploymentEtcdState(entry: MonitorEntry | undefined): { headline?: string; quorumLost: boolean } {
  const d = entry?.diagnosis;
  if (!d) return { quorumLost: false };
  return {
    headline: clusterHeadline(d),
    quorumLost: d.findings.some((f) => f.kind === 'quorum-lost' && f.action.flow === 'restore-quorum'),
  };
}

export function deploymentItem(n: DeploymentNode, data: TreeModelData): ItemSpec {
  const s = n.summary;
  const releases = s?.releases.map((r) => `${r.name}/${r.version}`) ?? [];
  const stemcells = s?.stemcells.map((r) => `${r.name}/${r.version}`) ?? [];
  const instances = data.cachedInstances(n.envName, n.deployment);
  let description = releases.length ? `${releases.length} release${releases.length === 1 ? '' : 's'}` : '';
  let icon = { id: 'package' } as ItemSpec['icon'];
  if (instances) {
    // Errand instances without a VM (processState null) are normal, not a problem.
    const bad = instances.filter((i) => i.processState !== null && i.processState !== 'running').length;
    description = `${instances.length} instance${instances.length === 1 ? '' : 's'}${bad ? `, ${bad} not running` : ''}`;
    if (bad) icon = { id: 'package', color: 'list.errorForeground' };
  }
  const etcd = deploymentEtcdState(data.cachedDiagnosis(n.envName, n.deployment));
  if (etcd.headline) {
    description = [description, `etcd ${etcd.headline}`].filter(Boolean).join(' · ');
    icon = { id: 'package', color: 'list.errorForeground' };
  }
  return {
    id: n.key,
    label: n.deployment,
    description,
    tooltip: [
      `**${n.deployment}**`,
      releases.length ? `Releases: ${releases.join(', ')}` : '',
      stemcells.length ? `Stemcells: ${stemcells.join(', ')}` : '',
      etcd.headline ? `etcd: **${etcd.headline}**${etcd.quorumLost ? ' (right-click: Restore etcd Quorum…)' : ''}` : '',
    ]
      .filter(Boolean)
      .join('\n\n'),
    icon,
    contextValue: etcd.quorumLost ? 'deployment.quorumLost' : 'deployment',
    collapsible: 'collapsed',
  };
}

export async function deploymentChildren(n: DeploymentNode, data: TreeModelData): Promise<TreeNode[]> {
  try {
    const instances = await data.instances(n.envName, n.deployment);
    if (instances.length === 0) return [messageNode(n.key, 'info', 'No instances in this deployment')];
    const groups = new Map<string, typeof instances>();
    for (const i of instances) groups.set(i.group, [...(groups.get(i.group) ?? []), i]);
    const out: TreeNode[] = [];
    if (instances.some(runsEtcd))
      out.push({ kind: 'etcdMembers', key: `${n.key}/etcd`, envName: n.envName, deployment: n.deployment });
    const groupNodes: InstanceGroupNode[] = [...groups.entries()].map(([group, list]) => ({
      kind: 'instanceGroup',
      key: `${n.key}/group:${group}`,
      envName: n.envName,
      deployment: n.deployment,
      group,
      instances: list.slice().sort((a, b) => (a.index ?? 0) - (b.index ?? 0) || a.id.localeCompare(b.id)),
      etcdGroup: list.some(runsEtcd),
    }));
    // etcd groups (masters) first, then by name.
    groupNodes.sort((a, b) => Number(b.etcdGroup) - Number(a.etcdGroup) || a.group.localeCompare(b.group));
    out.push(...groupNodes);
    return out;
  } catch (e) {
    return [errorNode(n.key, e, `listing the instances of ${n.deployment}`)];
  }
}
