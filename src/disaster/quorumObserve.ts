// Gathering the evidence of every master for the quorum-loss flow (read-only): the probe of the VM,
// the record of an earlier run, the member's own status where etcd runs, an offline read of a copy
// of its data where it does not (src/disaster/evidence.ts). No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import type { DisasterRun } from './context';
import { dataPresent, offlineStatus, ownStatus, parseStatusRead, withStatus, type MasterEvidence } from './evidence';
import { parseRecord, readRecord, type QuorumRecord } from './quorumCommands';
import { quorumOf } from '../recovery/membership';
import type { VmProbe } from '../recovery/vmProbe';

export interface QuorumObservation {
  masters: InstanceInfo[];
  evidence: MasterEvidence[];
  record: QuorumRecord | null;
  /** etcd version of a member that answered (own or offline status). */
  version?: string;
}

export const labelOf = (i: InstanceInfo) => `${i.group}/${i.id}`;

export function mastersOf(instances: InstanceInfo[]): InstanceInfo[] {
  const group = instances.find((i) => i.group === 'master') ? 'master' : undefined;
  return instances.filter((i) => i.group === group).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
}

interface Read {
  e: MasterEvidence;
  record: QuorumRecord | null;
  version?: string;
  /** Its data must be read offline (done one master at a time). */
  offline?: boolean;
}

/** The probe and the record of one master (light reads). */
async function look(r: DisasterRun, m: InstanceInfo): Promise<Read & { probe?: VmProbe }> {
  const label = labelOf(m);
  const base: MasterEvidence = {
    label,
    index: m.index,
    bootstrap: !!m.bootstrap,
    dataPresent: false,
    running: false,
    source: 'none',
  };
  let probe: VmProbe;
  try {
    probe = await r.probe(label);
  } catch (e) {
    return { e: { ...base, note: `unreachable: ${(e as Error).message}` }, record: null };
  }
  const rec = await r.exec({ host: label, ...readRecord() }, { allowFail: true });
  const record = parseRecord(rec.stdout);
  return { e: { ...base, dataPresent: dataPresent(probe), running: probe.etcdAlive }, record, probe };
}

/** Where etcd runs, its own status (health and member list waited for up to `healthWaitS`). */
async function own(r: DisasterRun, x: Read & { probe?: VmProbe }, healthWaitS: number): Promise<Read> {
  const { e, record, probe } = x;
  if (!probe) return x;
  if (probe.etcdAlive) {
    const res = await r.exec({ host: e.label, ...ownStatus(healthWaitS) }, { allowFail: true });
    const read = parseStatusRead(res.stdout);
    if (read.status)
      return {
        e: {
          ...withStatus(e, read.status),
          source: 'own-status',
          healthy: read.healthy,
          memberCount: read.memberCount,
        },
        record,
        version: read.status.version,
      };
    return {
      e: { ...e, healthy: read.healthy, note: `etcd runs but its status could not be read (${read.error})` },
      record,
    };
  }
  if (!e.dataPresent) return { e: { ...e, note: 'no data in /var/vcap/store/etcd/member' }, record };
  return { e, record, offline: true };
}

/**
 * How long a running member's health check may take. A cluster of the masters answers a
 * linearizable read only while a quorum of them runs etcd: when the probes show fewer (an unreachable
 * master counted as running), the answer cannot be "healthy with a quorum", so it is not waited for
 * (a healthy split-off one-member cluster still answers in milliseconds: the planner's note on it).
 */
export function healthWaitSeconds(masters: number, runningOrUnknown: number): number {
  return runningOrUnknown >= quorumOf(masters) ? HEALTH_WAIT_S : SHORT_HEALTH_WAIT_S;
}
const HEALTH_WAIT_S = 4;
const SHORT_HEALTH_WAIT_S = 1;

/** The offline read of a stopped member's data (a copy started read-only in a scratch directory). */
async function offline(r: DisasterRun, label: string, e: MasterEvidence, record: QuorumRecord | null): Promise<Read> {
  const res = await r.exec({ host: label, ...offlineStatus() }, { allowFail: true, timeoutMs: 300_000 });
  const read = parseStatusRead(res.stdout);
  if (read.status)
    return { e: { ...withStatus(e, read.status), source: 'offline-copy' }, record, version: read.status.version };
  return {
    e: {
      ...e,
      note: `its data could not be read offline (exit ${res.code}): ${(res.stderr || read.error || '').trim().slice(-400)}`,
    },
    record,
  };
}

/**
 * The evidence of every master: the light reads on all masters at once (the probes and records,
 * then the running members' own status: see healthWaitSeconds), then the offline reads one after
 * the other (they copy data: not all at once).
 */
export async function observeQuorum(r: DisasterRun, masters: InstanceInfo[]): Promise<QuorumObservation> {
  const evidence: MasterEvidence[] = [];
  let record: QuorumRecord | null = null;
  let version: string | undefined;
  const looked = await Promise.all(masters.map((m) => look(r, m)));
  const running = looked.filter((x) => !x.probe || x.probe.etcdAlive).length;
  const wait = healthWaitSeconds(masters.length, running);
  const light = await Promise.all(looked.map((x) => own(r, x, wait)));
  for (const [i, m] of masters.entries()) {
    const x = light[i].offline ? await offline(r, labelOf(m), light[i].e, light[i].record) : light[i];
    evidence.push(x.e);
    if (x.record && !x.record.finished && x.record.survivor === labelOf(m)) record = x.record;
    version ??= x.version;
  }
  return { masters, evidence, record, version };
}
