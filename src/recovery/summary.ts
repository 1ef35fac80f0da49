// The observation in words, one line per fact: the transcript and the `observed` event show it.
// No `vscode` import here.
import type { Observation } from './observe';

/** Summary lines of an observation (transcript and `observed` event). */
export function summarize(obs: Observation): string[] {
  const out: string[] = [];
  out.push(
    `Director: ${obs.instances.map((i) => `${i.group}/${i.id} (index ${i.index}${i.bootstrap ? ', bootstrap' : ''}) ${i.processState ?? 'no VM'}`).join('; ')}`,
  );
  if (obs.members)
    out.push(
      `Members: ${obs.members.map((m) => `${m.id} ${m.name || '(unstarted)'}${m.isLearner ? ' learner' : ''} ${m.peerURLs.join(',')}`).join('; ')}`,
    );
  for (const v of obs.views) {
    const st = v.status?.ok
      ? `leader ${v.status.value.leader}, term ${v.status.value.raftTerm}, index ${v.status.value.raftIndex}, db ${v.status.value.dbSize} B`
      : (v.status?.error ?? 'no status');
    out.push(`${v.label} ${v.endpointUrl}: ${v.healthy ? 'healthy' : 'UNHEALTHY'} (${st})`);
  }
  if (obs.alarms)
    out.push(`Alarms: ${obs.alarms.length ? obs.alarms.map((a) => `${a.alarm}@${a.memberId}`).join(', ') : 'none'}`);
  const vm = obs.targetVm;
  if (vm) {
    out.push(
      vm.reachable
        ? `Target VM: monit etcd '${vm.monitText}', data dir ${vm.dataEntries === null ? 'missing' : `[${vm.dataEntries.join(', ')}]`}, member/ ${vm.memberDir.exists ? `${vm.memberDir.owner} [${vm.memberDir.entries.join(', ')}]` : 'missing'}, ${vm.freeKb ?? '?'} KiB free, peer address ${vm.peerAddress ?? '?'}${vm.state ? `, recovery in progress since ${vm.state.ts}` : ''}`
        : `Target VM: ${vm.error}`,
    );
  }
  if (obs.helper) out.push(`Snapshot member ${obs.helper.label}: ${obs.helper.vm.freeKb ?? '?'} KiB free`);
  for (const e of obs.errors) out.push(`Problem: ${e}`);
  return out;
}
