// The diagnosis's vocabulary: what every surface (tree, status bar, panel, wizard, engine, CLI)
// renders. Plain data, no `vscode`.

export type Severity = 'critical' | 'warning' | 'info';

export type FindingKind =
  | 'healthy'
  | 'member-down'
  /** A master without a VM: detached (`bosh stop --hard`) or its VM deleted; BOSH brings it back, not the wizard. */
  | 'instance-no-vm'
  /** Does not answer from here and nothing could confirm its state (no SSH, the Director says nothing). */
  | 'member-unknown'
  | 'split-brain'
  | 'quorum-lost'
  | 'no-leader'
  | 'member-unstarted'
  | 'orphan-member'
  | 'instance-without-member'
  | 'identity-mismatch'
  | 'learner-not-promoted'
  | 'alarm-nospace'
  | 'alarm-corrupt'
  | 'db-near-quota'
  | 'fragmentation'
  | 'applied-index-lag'
  | 'hashkv-mismatch'
  | 'director-etcd-disagree'
  | 'unreachable-from-here'
  /** The age of the deployment's newest local snapshot (info; a warning when older than the threshold). */
  | 'snapshot-age'
  /** Something could not be checked (no SSH, the Director or etcd did not answer): info, says what. */
  | 'not-checked';

/** Which flow fits: a wizard, a bosh command, or none (investigate; the text says what to look at). */
export type ActionFlow = 'recover-member' | 'restore-quorum' | 'defrag' | 'recover-nospace' | 'bosh' | 'none';

export interface FindingAction {
  flow: ActionFlow;
  /** What to do, in words. */
  text: string;
  /** The command to run, when there is one (a bosh command for flow 'bosh'). */
  command?: string;
}

/** Why a member is down, read from its VM (log tail first, then monit / process / data directory). */
export type MemberDownCause =
  | 'unhealthy-cluster'
  | 'data-corruption'
  | 'member-count-unequal'
  | 'member-removed'
  | 'tls'
  | 'disk-full'
  | 'data-missing'
  | 'stopped'
  | 'unresponsive'
  | 'failing'
  | 'vm-down';

export interface FindingInstance {
  /** `master/<uuid>` */
  label: string;
  group: string;
  id: string;
  index: number | null;
  bootstrap: boolean;
}

export interface FindingMember {
  /** hex, as etcdctl prints it; '' when unknown */
  id: string;
  name: string;
}

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  /** One short line: "master/1 (4f2a…): etcd down — unhealthy cluster". */
  title: string;
  instance?: FindingInstance;
  member?: FindingMember;
  /** What was seen, in words. */
  evidence: string;
  action: FindingAction;
  /** member-down only. */
  cause?: MemberDownCause;
  /** The log lines the cause was read from (member-down). */
  logLines?: string[];
}

export interface DiagnosisSummary {
  /** 'ok' when there is no warning nor critical finding. */
  worst: Severity | 'ok';
  counts: Record<Severity, number>;
  /** One line for a status bar or a CLI. */
  line: string;
  /** Voting members healthy (positive evidence) / voting members in the cluster's list. */
  healthyMembers: number;
  members: number;
}

export interface Diagnosis {
  at: string;
  deployment: string;
  findings: Finding[];
  summary: DiagnosisSummary;
  /** What could not be checked (copied from the observation). */
  unchecked: string[];
}
