// Short words for a diagnosis, shared by the status bar, the tree and the health panel (so they
// never word the same state differently). Plain data in, strings out.
import type { Diagnosis, Finding, FindingKind, Severity } from './types';
import { severityRank } from './severity';

/** Deployment-wide findings every surface puts first (a banner, a node at the top, the status bar). */
export const CLUSTER_ALARM_KINDS: FindingKind[] = ['split-brain', 'quorum-lost', 'no-leader'];

const KIND_HEADLINE: Partial<Record<FindingKind, string>> = {
  'split-brain': 'SPLIT BRAIN',
  'quorum-lost': 'QUORUM LOST',
  'no-leader': 'NO LEADER',
  'alarm-nospace': 'NOSPACE',
  'alarm-corrupt': 'CORRUPT',
  'hashkv-mismatch': 'DATA DIVERGED',
};

/** Findings that concern the whole cluster: the cluster alarms, and warnings or worse about no instance. */
export function clusterFindings(d: Diagnosis): Finding[] {
  return d.findings.filter(
    (f) => CLUSTER_ALARM_KINDS.includes(f.kind) || (!f.instance && severityRank(f.severity) >= severityRank('warning')),
  );
}

/**
 * The few words a status bar or a tree description has room for: the gravest cluster-wide state
 * ("SPLIT BRAIN", "QUORUM LOST"), else the member count ("2/3 healthy"), with a hint when a warning
 * stands although every member is healthy.
 */
export function headline(d: Diagnosis): string {
  const grave = clusterHeadline(d);
  if (grave) return grave;
  const s = d.summary;
  const counts = s.members ? `${s.healthyMembers}/${s.members} healthy` : 'no members';
  if (s.worst === 'warning' && s.healthyMembers === s.members)
    return `${counts} · ${s.counts.warning} warning${s.counts.warning === 1 ? '' : 's'}`;
  return counts;
}

/** The gravest cluster-wide state in capitals ("SPLIT BRAIN", "QUORUM LOST", "NOSPACE"), if any. */
export function clusterHeadline(d: Diagnosis): string | undefined {
  for (const k of Object.keys(KIND_HEADLINE) as FindingKind[])
    if (d.findings.some((f) => f.kind === k && f.severity === 'critical')) return KIND_HEADLINE[k]!;
  return undefined;
}

/** Worst first, then by deployment name: which of several diagnoses a summary leads with. */
export function worstFirst<T extends { worst: Severity | 'ok'; name: string }>(xs: T[]): T[] {
  return xs.slice().sort((a, b) => severityRank(b.worst) - severityRank(a.worst) || a.name.localeCompare(b.name));
}

/** What a cluster-wide alarm means and what to do, for the panel's banners. */
export function alarmExplanation(kind: FindingKind): { meaning: string; todo: string } | undefined {
  switch (kind) {
    case 'split-brain':
      return {
        meaning:
          'Two etcd clusters answer for this deployment: writes accepted by one are never seen by the other, and Kubernetes may act on either.',
        todo: 'Do not write to the cluster. Replace the member that split off (the finding names it) with the recovery wizard; never recover a member of the majority.',
      };
    case 'quorum-lost':
      return {
        meaning: 'Too few voting members are up: etcd refuses every write and the Kubernetes API stops.',
        todo: "Follow the finding's action: bring back the down members whose data is kept (start etcd, recreate their VMs); when a majority's data is gone, restore quorum (Restore etcd Quorum…, bosh-etcd restore-quorum); a snapshot only when no member has usable data.",
      };
    case 'no-leader':
      return {
        meaning: 'The members answer but none is the leader: etcd serves no quorum read nor write.',
        todo: 'Look at the down members (their findings say why) and bring them back; do not change membership now.',
      };
    default:
      return undefined;
  }
}
