// Reuse of VM probes between observations of one deployment. A probe (SSH to each master: monit,
// member/, the etcd process, the log tail, the disk, etcd's health on the VM) costs far more than
// the etcd reads, and what it finds changes rarely while the endpoints look the same: a poll reuses
// a master's last probe while it is younger than the cache's maximum age and that master's
// "endpoint picture" (what the Director and etcd say of it from here) is the one the probe was
// taken with. A new picture (a member down, another leader, an alarm, a new VM), an expired probe,
// or an observation that asks for fresh probes probes the VM again. Plain Node, no `vscode`.
import type { InstanceInfo } from '../bosh/types';
import type { EndpointObservation, ProbeStore, VmProbe } from './observationTypes';

interface Cached {
  probe: VmProbe;
  picture: string;
  at: number;
}

/**
 * What the Director and etcd (from the workstation) say of one master, in a string that changes
 * when anything a probe would explain changes: the instance's VM and states, whether its endpoint
 * answers status and health, which member, cluster and leader it reports, learner or not, and its
 * errors (etcd lists the active alarms there). Not its sizes or indexes, which move all the time.
 */
export function endpointPicture(inst: InstanceInfo, e: EndpointObservation | undefined): string {
  const vm = [inst.state, inst.processState ?? '?', inst.vmCid ?? '-', inst.ips.join(',')].join(' ');
  const procs = inst.processes.map((p) => `${p.name}=${p.state}`).join(',');
  const st = e?.status;
  const status = !st ? 'no status' : st.ok ? statusWords(st.value) : 'status failed';
  const health = !e?.health ? 'no health' : e.health.ok && e.health.value.healthy ? 'healthy' : 'unhealthy';
  return `${vm} | ${procs} | ${status} | ${health}`;
}

function statusWords(s: {
  memberId: string;
  clusterId?: string;
  leader: string;
  isLearner?: boolean;
  errors: string[];
}) {
  return `member ${s.memberId} cluster ${s.clusterId ?? '?'} leader ${s.leader}${s.isLearner ? ' learner' : ''} errors [${s.errors.join('; ')}]`;
}

export class ProbeCache implements ProbeStore {
  private readonly byInstance = new Map<string, Cached>();

  /** maxAgeMs: how long a probe may be reused (read at each use: a setting may change it); 0 turns reuse off. */
  constructor(private readonly maxAgeMs: () => number) {}

  young(instanceId: string, now = Date.now()): boolean {
    const c = this.byInstance.get(instanceId);
    return !!c && now - c.at <= this.maxAgeMs();
  }

  reusable(instanceId: string, picture: string, now = Date.now()): VmProbe | undefined {
    const c = this.byInstance.get(instanceId);
    return c && now - c.at <= this.maxAgeMs() && c.picture === picture ? c.probe : undefined;
  }

  set(instanceId: string, probe: VmProbe, picture: string, at = Date.now()): void {
    this.byInstance.set(instanceId, { probe, picture, at });
  }

  /** When the instance's cached probe was taken (ms since epoch), if there is one. */
  takenAt(instanceId: string): number | undefined {
    return this.byInstance.get(instanceId)?.at;
  }

  /** Keeps only these instances (the deployment's masters now). */
  retain(instanceIds: string[]): void {
    for (const k of [...this.byInstance.keys()]) if (!instanceIds.includes(k)) this.byInstance.delete(k);
  }

  clear(): void {
    this.byInstance.clear();
  }
}
