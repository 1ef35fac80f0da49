// Public types of the maintenance flows (rolling defragmentation, NOSPACE recovery, alarms): the
// observation, the plan, the events a terminal renders and the transcript records, options and
// results. Plain Node, no `vscode` import here.

/** One member as the maintenance flows see it (instance, endpoint, etcd's status and health). */
export interface MaintenanceMember {
  /** 'group/uuid' */
  label: string;
  instanceId: string;
  index: number | null;
  endpointUrl: string;
  /** etcd member id (hex), from its status; null when it did not answer. */
  memberId: string | null;
  /** Answered status and a linearizable read (an active NOSPACE alarm does not count against it). */
  healthy: boolean;
  /** Why it is not healthy (the operator's words). */
  problem?: string;
  isLeader: boolean;
  isLearner: boolean;
  dbSize: number | null;
  dbSizeInUse: number | null;
  raftIndex: string | null;
  /** What the VM says: recovery in progress (state file), the job's quota. Null when not probed. */
  vm: MaintenanceVm | null;
}

export interface MaintenanceVm {
  reachable: boolean;
  error?: string;
  /** /var/vcap/store/etcd-recovery.state exists: a member recovery is in progress. */
  recoveryInProgress: boolean;
  /** `--quota-backend-bytes` of the running etcd or of the job's start script; null when not set. */
  quotaBackendBytes: number | null;
}

export interface MaintenanceAlarm {
  memberId: string;
  /** Label of the instance whose member raised it, when known. */
  label: string | null;
  alarm: string;
}

export interface MaintenanceObservation {
  at: string;
  deployment: string;
  /** etcd members in instance-index order. */
  members: MaintenanceMember[];
  alarms: MaintenanceAlarm[];
  /** The alarm list could not be read. */
  alarmsError?: string;
  /** Learners in the member list (a learner catching up blocks maintenance). */
  learners: string[];
  /** Problems met while observing (each says what failed). */
  errors: string[];
}

/** Fragmentation of one member: what a defragmentation would give back. */
export interface Fragmentation {
  dbSize: number;
  dbSizeInUse: number;
  reclaimableBytes: number;
  /** 0–100 */
  percent: number;
}

export interface DefragThresholds {
  /** A member is defragmented only when at least this much is reclaimable (default 1 MiB). */
  minReclaimableBytes?: number;
  /** …and at least this share of its file is free pages (default 10 %). */
  minFragmentedPercent?: number;
}

export type MaintenanceRefusalCode =
  | 'observation-failed'
  | 'member-unhealthy'
  | 'learner'
  | 'alarm'
  | 'corrupt'
  | 'recovery-in-progress'
  | 'no-nospace-alarm'
  /** Another run (a recovery, a restore, another maintenance run) holds the cluster lock. */
  | 'lock-held';

export interface MaintenanceRefusal {
  code: MaintenanceRefusalCode;
  message: string;
  advice: string;
}

/** One remote command of the plan: exactly what runs, where (with sudo). */
export interface MaintenanceCommand {
  host: string;
  command: string;
  purpose: string;
  mutates: boolean;
}

export interface DefragMemberPlan {
  label: string;
  endpointUrl: string;
  memberId: string | null;
  isLeader: boolean;
  fragmentation: Fragmentation | null;
  /** Skipped: below the thresholds (already defragmented, or not worth it). */
  skip: boolean;
  skipReason?: string;
  /** Rough time the member is blocked (reads and writes), from its file size. */
  estimatedSeconds: number;
  command: MaintenanceCommand;
}

export interface DefragPlan {
  deployment: string;
  /** Followers first (index order), the leader last. */
  members: DefragMemberPlan[];
  pauseMs: number;
  refusals: MaintenanceRefusal[];
  notes: string[];
}

export interface NospacePlan {
  deployment: string;
  /** Where the compaction, the disarm and the test write run (the leader's VM). */
  host: string | null;
  /** Revision the compaction goes to (read from the leader), null when unknown yet. */
  revision: string | null;
  compact: MaintenanceCommand | null;
  defrag: DefragPlan;
  disarm: MaintenanceCommand | null;
  writeTest: MaintenanceCommand[];
  /** From the job's config on the VMs; etcd's default (2 GiB) when none is set. */
  quotaBackendBytes: number;
  quotaSource: string;
  refusals: MaintenanceRefusal[];
  notes: string[];
}

export type MaintenanceStep = 'precheck' | 'compact' | 'defrag' | 'disarm' | 'write-test' | 'quota';

export interface MemberSizes {
  dbSize: number;
  dbSizeInUse: number;
}

export interface DefragMemberResult {
  label: string;
  endpointUrl: string;
  wasLeader: boolean;
  outcome: 'defragmented' | 'skipped' | 'failed' | 'not-reached';
  reason?: string;
  before: MemberSizes | null;
  after: MemberSizes | null;
  durationMs: number | null;
}

export type MaintenanceEvent =
  | { type: 'observed'; time: string; summary: string[] }
  | { type: 'plan'; time: string; lines: string[] }
  | { type: 'refused'; time: string; refusals: MaintenanceRefusal[] }
  | { type: 'step-start'; time: string; step: MaintenanceStep; title: string; member?: string }
  | {
      type: 'command';
      time: string;
      step: MaintenanceStep;
      host: string;
      command: string;
      purpose: string;
      mutates: boolean;
      /** Not run: why (dry run, already done). */
      skipped?: string;
    }
  | {
      type: 'output';
      time: string;
      step: MaintenanceStep;
      host: string;
      stream: 'stdout' | 'stderr';
      text: string;
    }
  | {
      type: 'command-done';
      time: string;
      step: MaintenanceStep;
      host: string;
      command: string;
      exitCode: number | null;
      signal: string | null;
      durationMs: number;
    }
  | { type: 'check'; time: string; step: MaintenanceStep; name: string; ok: boolean; detail: string }
  | { type: 'member-done'; time: string; result: DefragMemberResult; healthyAfter: boolean }
  | { type: 'pause'; time: string; ms: number; next: string }
  | { type: 'info'; time: string; step?: MaintenanceStep; message: string }
  | { type: 'step-done'; time: string; step: MaintenanceStep; detail?: string }
  | { type: 'step-failed'; time: string; step: MaintenanceStep; error: string; advice: string }
  | { type: 'cancelled'; time: string; message: string }
  | { type: 'done'; time: string; outcome: MaintenanceOutcome; message: string; transcriptPath: string };

export type MaintenanceOutcome =
  | 'done'
  | 'nothing-to-do'
  | 'dry-run'
  | 'refused'
  | 'declined'
  | 'failed'
  | 'cancelled'
  /** NOSPACE: the data itself needs (nearly) the whole quota; the quota must be raised. */
  | 'quota-too-small';

interface CommonOptions {
  /** Observe and plan, emit every command, change nothing (zero remote writes). */
  dryRun?: boolean;
  /** Abort: stops before the next command; nothing further changes. */
  signal?: AbortSignal;
  /** Folder the Markdown transcript is written to (created if missing); none: no transcript. */
  transcriptDir?: string;
  onEvent?: (e: MaintenanceEvent) => void;
  /** Without `confirm`, a real run proceeds only with `yes: true`. */
  yes?: boolean;
  /** Break a stale cluster lock (never a live one), as the recovery flows' --break-lock. */
  breakLock?: boolean;
  /** How long a member may take to answer health and catch up after its defragmentation (default 60 s). */
  settleMs?: number;
  /** Longest poll interval of those checks (default 300 ms; the first polls come after 50 ms, doubling). */
  pollMs?: number;
}

export interface DefragOptions extends CommonOptions, DefragThresholds {
  /** Pause between two members (default 5000 ms): lets clients move back and the member settle. */
  pauseMs?: number;
  /** Defragment every member, whatever its fragmentation. */
  force?: boolean;
  /** Asked once with the plan before the first change; resolve false to stop (nothing changed). */
  confirm?: (plan: DefragPlan) => Promise<boolean>;
}

export interface NospaceOptions extends CommonOptions, DefragThresholds {
  /** Pause between two members of the rolling defragmentation (default 5000 ms). */
  pauseMs?: number;
  confirm?: (plan: NospacePlan) => Promise<boolean>;
  /** Above this share of the quota in use after defragmentation, warn that it will fill again soon (default 60). */
  warnQuotaPercent?: number;
  /** Above this share the alarm is not disarmed and the quota must be raised: the next writes would raise it again (default 80; 100 disarms whatever the size). */
  refuseDisarmQuotaPercent?: number;
}

export interface DefragResult {
  outcome: MaintenanceOutcome;
  message: string;
  advice?: string;
  transcriptPath: string | null;
  plan?: DefragPlan;
  refusals?: MaintenanceRefusal[];
  /** Per member, in the order of the plan. */
  members: DefragMemberResult[];
}

export interface NospaceResult {
  outcome: MaintenanceOutcome;
  message: string;
  advice?: string;
  transcriptPath: string | null;
  plan?: NospacePlan;
  refusals?: MaintenanceRefusal[];
  members: DefragMemberResult[];
  compactedTo?: string;
  disarmed: boolean;
  writeTestOk: boolean;
  /** Largest size in use after the defragmentation, and its share of the quota. */
  sizeInUse?: number;
  quotaBackendBytes?: number;
  quotaPercent?: number;
}
