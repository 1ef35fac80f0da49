// One etcd member (or a master instance without one): `master/0` with the instance's short UUID and
// the member's state as the description; icon, state and tooltip from its worst finding in the diagnosis.
import type { EtcdMemberNode, IconSpec, ItemSpec, TreeModelData } from './nodes';
import type { MemberRole } from '../diagnosis/membership';
import { shortInstanceName } from '../diagnosis/membership';
import { findingsForInstance, memberStateWord, worstFindingForInstance } from '../diagnosis/summary';
import type { Finding } from '../diagnosis/types';
import { instanceName } from '../bosh/types';
import { findingIcon, findingsMarkdown, stateText } from './findingRender';

const ROLE_ICON: Record<MemberRole, IconSpec> = {
  leader: { id: 'star-full', color: 'testing.iconPassed' },
  follower: { id: 'pass', color: 'testing.iconPassed' },
  learner: { id: 'mortar-board', color: 'charts.yellow' },
  unstarted: { id: 'circle-large-outline', color: 'charts.yellow' },
  'no leader': { id: 'warning', color: 'charts.yellow' },
  none: { id: 'question', color: 'disabledForeground' },
};

/** Findings about this member: by its instance, else by its member id (an orphan). */
function memberFindings(findings: Finding[], n: EtcdMemberNode): Finding[] {
  const m = n.member;
  if (m.instance) return findingsForInstance(findings, m.instance.id);
  return findings.filter((f) => !f.instance && !!m.id && f.member?.id === m.id);
}

export function memberItem(n: EtcdMemberNode, data?: Pick<TreeModelData, 'cachedDiagnosis'>): ItemSpec {
  const m = n.member;
  const findings = data?.cachedDiagnosis(n.envName, n.deployment)?.diagnosis?.findings ?? [];
  const mine = memberFindings(findings, n);
  const worst = m.instance ? worstFindingForInstance(findings, m.instance.id) : mine.find((f) => f.severity !== 'info');
  const bad = !!worst && worst.severity !== 'info';
  // Healthy members show their role (leader / follower); others the finding's word in capitals.
  const word = m.instance ? stateText(memberStateWord(findings, m.instance.id), worst) : bad ? 'NO INSTANCE' : m.role;
  const shown = bad ? word : m.role === 'none' ? word : m.role;
  const label = m.instance ? shortInstanceName(m.instance) : m.name ? m.name.slice(0, 8) : '(unstarted)';
  const full = m.instance ? instanceName(m.instance) : m.name || '(unstarted, no name yet)';
  // The instance's short UUID, as on its instance row (the member id is in the tooltip and on copy).
  const bits = [m.instance ? m.instance.id.slice(0, 8) : m.id ? m.id.slice(0, 8) : 'no member', shown];
  const tip = [
    `**${full}** — ${shown}`,
    ...findingsMarkdown(mine),
    m.id ? `Member id: \`${m.id}\`` : "No etcd member has this instance's UUID as its name.",
    m.name ? `Name: ${m.name}` : '',
    m.peerURLs.length ? `Peer URLs: ${m.peerURLs.join(', ')}` : '',
    m.clientURLs.length ? `Client URLs: ${m.clientURLs.join(', ')}` : '',
    m.status
      ? `etcd ${m.status.version} · DB ${m.status.dbSize} bytes · raft term ${m.status.raftTerm} · index ${m.status.raftIndex}`
      : '',
    m.error ? `Endpoint error: ${m.error}` : '',
  ].filter(Boolean);
  return {
    id: n.key,
    label,
    description: bits.join(' · '),
    tooltip: tip.join('\n\n'),
    icon: findingIcon(worst) ?? ROLE_ICON[m.role],
    contextValue: !m.id ? 'etcd.instanceWithoutMember' : m.instance ? 'etcd.member' : 'etcd.member.noInstance',
    collapsible: 'none',
  };
}
