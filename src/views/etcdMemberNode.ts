// One etcd member (or a BOSH instance missing its member): state, leader/learner, alarms.
import type { EtcdMemberNode, IconSpec, ItemSpec } from './nodes';
import { memberStateWord, type MemberState, type MemberView } from '../diagnosis/membership';
import { instanceName } from '../bosh/types';

const ICON: Record<MemberState, IconSpec> = {
  leader: { id: 'star-full', color: 'testing.iconPassed' },
  follower: { id: 'pass', color: 'testing.iconPassed' },
  learner: { id: 'mortar-board', color: 'charts.yellow' },
  unstarted: { id: 'circle-large-outline', color: 'charts.yellow' },
  unreachable: { id: 'error', color: 'errorForeground' },
  missing: { id: 'warning', color: 'errorForeground' },
};

export function memberIcon(m: MemberView): IconSpec {
  if (m.alarms.length) return { id: 'bell-dot', color: 'errorForeground' };
  if (m.flags.length && (m.state === 'leader' || m.state === 'follower'))
    return { id: 'warning', color: 'list.warningForeground' };
  return ICON[m.state];
}

export function memberItem(n: EtcdMemberNode): ItemSpec {
  const m = n.member;
  const label = m.instance ? instanceName(m.instance) : m.name || '(unstarted, no name yet)';
  const bits = [memberStateWord(m)];
  if (m.id) bits.push(m.id);
  if (m.alarms.length) bits.push(`ALARM ${m.alarms.join(',')}`);
  if (m.instance?.az) bits.push(m.instance.az);
  if (!m.instance && m.name) bits.push('no BOSH instance');
  const tip = [
    `**${label}** — ${m.state}`,
    m.id ? `Member id: \`${m.id}\`` : "No etcd member has this instance's UUID as its name.",
    m.name ? `Name: ${m.name}` : '',
    m.peerURLs.length ? `Peer URLs: ${m.peerURLs.join(', ')}` : '',
    m.clientURLs.length ? `Client URLs: ${m.clientURLs.join(', ')}` : '',
    m.status
      ? `etcd ${m.status.version} · DB ${m.status.dbSize} bytes · raft term ${m.status.raftTerm} · index ${m.status.raftIndex}`
      : '',
    m.error ? `Endpoint error: ${m.error}` : '',
    ...m.flags.map((f) => `⚠ ${f}`),
  ].filter(Boolean);
  return {
    id: n.key,
    label,
    description: bits.join(' · '),
    tooltip: tip.join('\n\n'),
    icon: memberIcon(m),
    contextValue:
      m.state === 'missing' ? 'etcd.instanceWithoutMember' : m.instance ? 'etcd.member' : 'etcd.member.noInstance',
    collapsible: 'none',
  };
}
