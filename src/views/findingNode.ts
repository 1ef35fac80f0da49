// A deployment-wide finding (split brain, quorum lost, no leader, an orphan member, an alarm) as a
// row at the top of the deployment's etcd section: the first thing an operator sees there.
import type { FindingNode, ItemSpec } from './nodes';
import { SEVERITY_ICON, findingsMarkdown } from './findingRender';
import { findingContextValue } from '../diagnosis/actions';

export function findingItem(n: FindingNode): ItemSpec {
  const f = n.finding;
  return {
    id: n.key,
    label: f.title,
    description: f.action.text,
    tooltip: findingsMarkdown([f]).join('\n\n'),
    icon: SEVERITY_ICON[f.severity],
    // `finding.<kind>.action-<flow>`: package.json offers the flow's command on the row.
    contextValue: findingContextValue(f),
    collapsible: 'none',
    command: {
      command: 'boshEtcd.openHealthPanel',
      title: 'Open etcd Health Panel',
      arguments: [{ envName: n.envName, deployment: n.deployment }],
    },
  };
}
