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

async function one(
  r: DisasterRun,
  m: InstanceInfo,
): Promise<{ e: MasterEvidence; record: QuorumRecord | null; version?: string }> {
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
        e: { ...withStatus(e, read.status), source: 'own-status', healthy: read.healthy },
        record,
        version: read.status.version,
      };
    return {
      e: { ...e, healthy: read.healthy, note: `etcd runs but its status could not be read (${read.error})` },
      record,
    };
  }
  if (!e.dataPresent) return { e: { ...e, note: 'no data in /var/vcap/store/etcd/member' }, record };
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

/** The evidence of every master, one after the other (the offline reads copy data: not all at once). */
export async function observeQuorum(r: DisasterRun, masters: InstanceInfo[]): Promise<QuorumObservation> {
  const evidence: MasterEvidence[] = [];
  let record: QuorumRecord | null = null;
  let version: string | undefined;
  for (const m of masters) {
    const x = await one(r, m);
    evidence.push(x.e);
    if (x.record && !x.record.finished && x.record.survivor === labelOf(m)) record = x.record;
    version ??= x.version;
  }
  return { masters, evidence, record, version };
}
