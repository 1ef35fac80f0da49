// "etcd members" under a deployment that runs etcd: the diagnosis' summary as its description,
// the deployment-wide findings first, then the members mapped to instances.
import type { EtcdMembersNode, ItemSpec, TreeNode, TreeModelData } from './nodes';
import { errorNode, messageNode } from './messageNode';
import { clusterFindings, headline } from '../diagnosis/headline';
import { SEVERITY_ICON } from './findingRender';

export function etcdMembersItem(n: EtcdMembersNode, data: TreeModelData): ItemSpec {
  const entry = data.cachedDiagnosis(n.envName, n.deployment);
  let description = 'etcd cluster';
  let icon: ItemSpec['icon'] = { id: 'database' };
  let contextValue = 'etcdCluster';
  const lines = [
    `etcd cluster of **${n.deployment}**: members mapped to BOSH instances (member name = instance UUID). Click to open the health panel.`,
  ];
  if (entry?.diagnosis) {
    const d = entry.diagnosis;
    description = headline(d);
    icon = { id: 'database', color: SEVERITY_ICON[d.summary.worst === 'info' ? 'ok' : d.summary.worst].color };
    lines.unshift(`**${d.summary.line}**`);
    if (d.unchecked.length) lines.push(`Not checked: ${d.unchecked.join('; ')}`);
    // package.json offers "Restore etcd Quorum…" on the row while the diagnosis says quorum is lost
    if (d.findings.some((f) => f.kind === 'quorum-lost' && f.action.flow === 'restore-quorum'))
      contextValue = 'etcdCluster.quorumLost';
  } else if (entry?.error) {
    description = 'cannot diagnose etcd';
    icon = { id: 'database', color: 'errorForeground' };
    lines.push(entry.error);
  }
  return {
    id: n.key,
    label: 'etcd members',
    description,
    tooltip: lines.join('\n\n'),
    icon,
    contextValue,
    collapsible: 'expanded',
    command: { command: 'boshEtcd.openHealthPanel', title: 'Open etcd Health Panel', arguments: [n] },
  };
}

export async function etcdMembersChildren(n: EtcdMembersNode, data: TreeModelData): Promise<TreeNode[]> {
  try {
    const entry = await data.diagnosis(n.envName, n.deployment);
    if (!entry.diagnosis) throw new Error(entry.error ?? 'no diagnosis');
    const top: TreeNode[] = clusterFindings(entry.diagnosis).map((f, k) => ({
      kind: 'finding',
      key: `${n.key}/finding:${f.kind}:${f.instance?.id ?? f.member?.id ?? k}`,
      envName: n.envName,
      deployment: n.deployment,
      finding: f,
    }));
    if (!entry.members.length) return [...top, messageNode(n.key, 'warning', 'The cluster reports no members')];
    return [
      ...top,
      ...entry.members.map((m): TreeNode => ({
        kind: 'member',
        key: `${n.key}/member:${m.instance?.id ?? m.id}`,
        envName: n.envName,
        deployment: n.deployment,
        member: m,
      })),
    ];
  } catch (e) {
    return [errorNode(n.key, e, `reading the etcd members of ${n.deployment}`)];
  }
}
