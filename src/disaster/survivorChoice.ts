// What the operator decides on after a quorum loss, in the quorum plan's own terms: each master as a
// survivor candidate (its evidence, its rank, whether it can be chosen, whether it is the one
// preselected — only when the ranking is unambiguous, src/disaster/evidence.ts rankSurvivors), and,
// for a chosen survivor, what each other master loses (how far it was ahead of or behind the
// survivor). Shared by the extension's quorum-loss wizard and any other front end. Pure; no `vscode`.
import { describeEvidence, type MasterEvidence } from './evidence';
import type { QuorumPlan } from './quorumPlan';

export interface SurvivorCandidate {
  label: string;
  evidence: MasterEvidence;
  /** 1 = most advanced, among the masters whose data was read; undefined when not ranked. */
  rank?: number;
  /** Has readable data: the engine accepts it as the survivor. */
  choosable: boolean;
  /** Preselected: the most advanced, and the ranking is unambiguous. */
  preselected: boolean;
  /** Its evidence in one line (data, running, raft term/index, revision, where the numbers come from). */
  line: string;
  /** Why it cannot be the survivor (no data, unreadable data). */
  notChoosable?: string;
  /** What choosing it loses: the other masters' data that is ahead of it. */
  losses: MemberLoss[];
}

export interface MemberLoss {
  label: string;
  /** Revisions this member has beyond the survivor (positive: lost), behind it (negative); undefined: unknown. */
  revisionsAhead?: bigint;
  /** Raft entries this member has beyond the survivor (positive), behind it (negative). */
  raftEntriesAhead?: bigint;
  /** Writes of this member are lost (it is ahead, or its data could not be read and might be). */
  loses: boolean;
  text: string;
}

/** What each master other than `survivor` loses when the cluster is rebuilt from `survivor`. */
export function lossAgainst(evidence: MasterEvidence[], survivor: string): MemberLoss[] {
  const s = evidence.find((e) => e.label === survivor);
  return evidence
    .filter((e) => e.label !== survivor)
    .map((e): MemberLoss => {
      if (!e.dataPresent)
        return {
          label: e.label,
          loses: false,
          text: `${e.label}: no data of its own; it gets the survivor's data`,
        };
      if (
        e.revision === undefined ||
        e.raftIndex === undefined ||
        s?.revision === undefined ||
        s.raftIndex === undefined
      )
        return {
          label: e.label,
          loses: true,
          text: `${e.label}: its data could not be read (${e.note ?? 'no numbers'}); whatever it has beyond the survivor is lost (its data is moved aside, kept)`,
        };
      const rev = e.revision - s.revision;
      const raft = e.raftIndex - s.raftIndex;
      const text =
        rev > 0n
          ? `${e.label}: ${rev} revision${rev === 1n ? '' : 's'} AHEAD of the survivor: those writes are LOST (its data is moved aside, kept)`
          : rev < 0n
            ? `${e.label}: ${-rev} revision${rev === -1n ? '' : 's'} behind the survivor: nothing of it is lost`
            : raft > 0n
              ? `${e.label}: same revision, ${raft} raft entr${raft === 1n ? 'y' : 'ies'} ahead (no key changes): nothing of the keys is lost`
              : `${e.label}: same revision as the survivor: nothing is lost`;
      return { label: e.label, revisionsAhead: rev, raftEntriesAhead: raft, loses: rev > 0n, text };
    });
}

/** Every master as a survivor candidate: the ranked ones first (most advanced first), then the others. */
export function survivorCandidates(plan: Pick<QuorumPlan, 'evidence' | 'ranking'>): SurvivorCandidate[] {
  const { ranking, evidence } = plan;
  const ranked = ranking.ranked.map((e) => e.label);
  const order = [...evidence].sort((a, b) => {
    const ra = ranked.indexOf(a.label);
    const rb = ranked.indexOf(b.label);
    return (ra < 0 ? Infinity : ra) - (rb < 0 ? Infinity : rb) || (a.index ?? 0) - (b.index ?? 0);
  });
  return order.map((e) => {
    const r = ranked.indexOf(e.label);
    const choosable = r >= 0;
    return {
      label: e.label,
      evidence: e,
      rank: choosable ? r + 1 : undefined,
      choosable,
      preselected: ranking.preselected?.label === e.label,
      line: describeEvidence(e),
      notChoosable: choosable
        ? undefined
        : e.dataPresent
          ? `its data could not be read (${e.note ?? 'unreadable'})`
          : 'it has no etcd data',
      losses: choosable ? lossAgainst(evidence, e.label) : [],
    };
  });
}
