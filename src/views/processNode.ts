// One monit process of an instance, as the agent reports it.
import type { ItemSpec, ProcessNode } from './nodes';
import { classifyState, stateIcon } from './processState';

export function processItem(n: ProcessNode): ItemSpec {
  const p = n.process;
  const extra: string[] = [];
  if (p.uptime?.secs !== undefined) extra.push(`up ${formatDuration(p.uptime.secs)}`);
  if (p.mem?.kb !== undefined) extra.push(`${Math.round(p.mem.kb / 1024)} MB`);
  return {
    id: n.key,
    label: p.name,
    description: [classifyState(p.state) === 'running' ? 'running' : p.state.toUpperCase(), ...extra].join(' · '),
    tooltip: `Process **${p.name}** on ${n.instance.group}/${n.instance.id}: ${p.state}${p.cpu?.total !== undefined ? ` · CPU ${p.cpu.total}%` : ''}`,
    icon: stateIcon(p.state),
    contextValue: p.name === 'etcd' ? 'process.etcdProcess' : 'process',
    collapsible: 'none',
  };
}

export function formatDuration(secs: number): string {
  if (secs < 120) return `${secs}s`;
  if (secs < 7200) return `${Math.round(secs / 60)}m`;
  if (secs < 172800) return `${Math.round(secs / 3600)}h`;
  return `${Math.round(secs / 86400)}d`;
}
