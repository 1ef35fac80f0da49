// Gathering the evidence of every master for the quorum-loss flow (read-only): the probe of the VM,
// the record of an earlier run, the member's own status where etcd runs, an offline read of a copy
// of its data where it does not (src/disaster/evidence.ts). No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import type { DisasterRun } from './context';
import { dataPresent, offlineStatus, ownStatus, parseStatusRead, withStatus, type MasterEvidence } from './evidence';
import { parseRecord, readRecord, type QuorumRecord } from './quorumCommands';

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

/** The probe, the record and, where etcd runs, its own status: light reads, all masters at once. */
async function one(r: DisasterRun, m: InstanceInfo): Promise<Read> {
  const label = labelOf(m);
  const base: MasterEvidence = {
    label,
    index: m.index,
    bootstrap: !!m.bootstrap,
    dataPresent: false,
    running: false,
    source: 'none',
  };
  let probe;
  try {
    probe = await r.probe(label);
  } catch (e) {
    return { e: { ...base, note: `unreachable: ${(e as Error).message}` }, record: null };
  }
  const rec = await r.exec({ host: label, ...readRecord() }, { allowFail: true });
  const record = parseRecord(rec.stdout);
  const e: MasterEvidence = { ...base, dataPresent: dataPresent(probe), running: probe.etcdAlive };
  if (probe.etcdAlive) {
    const res = await r.exec({ host: label, ...ownStatus() }, { allowFail: true });
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
 * The evidence of every master: the light reads on all masters at once (a running member without
 * quorum takes its health check's whole timeout), then the offline reads one after the other (they
 * copy data: not all at once).
 */
export async function observeQuorum(r: DisasterRun, masters: InstanceInfo[]): Promise<QuorumObservation> {
  const evidence: MasterEvidence[] = [];
  let record: QuorumRecord | null = null;
  let version: string | undefined;
  const light = await Promise.all(masters.map((m) => one(r, m)));
  for (const [i, m] of masters.entries()) {
    const x = light[i].offline ? await offline(r, labelOf(m), light[i].e, light[i].record) : light[i];
    evidence.push(x.e);
    if (x.record && !x.record.finished && x.record.survivor === labelOf(m)) record = x.record;
    version ??= x.version;
  }
  return { masters, evidence, record, version };
}
