// The recovery engine's public types: plan, events, options and result. The VS Code wizard renders
// these (Pseudoterminal + progress); the CLI prints them. No `vscode` import here.

/** The eight steps of a recovery, in order. */
export type StepId = 'preflight' | 'snapshot' | 'stop' | 'remove' | 'mkdir' | 'add' | 'start' | 'postcheck';

export const STEP_ORDER: readonly StepId[] = [
  'preflight',
  'snapshot',
  'stop',
  'remove',
  'mkdir',
  'add',
  'start',
  'postcheck',
];

/** One command of a step: exactly what runs, where. */
export interface PlannedCommand {
  /** Instance it runs on, 'group/uuid'. */
  host: string;
  /** Exact command line (run with sudo). */
  command: string;
  purpose: string;
  /** Changes something (skipped in a dry-run; never run without confirmation). */
  mutates: boolean;
  /** Already done according to the observed state: will be skipped. */
  done: boolean;
  /** Why it counts as done (shown to the operator). */
  doneReason?: string;
}

export interface PlanStep {
  id: StepId;
  /** 1..8 */
  number: number;
  title: string;
  /** Why the step exists / what it does, one or two sentences. */
  description: string;
  commands: PlannedCommand[];
  /** The structured checks run after the commands (verdicts arrive as 'check' events). */
  checks: string[];
  /** Every command of the step is already done (the checks still run). */
  done: boolean;
}

export type RefusalCode =
  | 'invalid-input'
  | 'target-unknown'
  | 'observation-failed'
  | 'too-few-members'
  | 'quorum'
  | 'no-leader'
  | 'members-disagree'
  | 'identity-mismatch'
  | 'peer-url-mismatch'
  | 'target-healthy'
  | 'second-learner'
  | 'learner-unsupported'
  | 'alarm'
  | 'disk-space'
  /** Another member is broken too and was not asked for: recover them together. */
  | 'other-broken'
  /** The endpoint does not answer from here but etcd is healthy on its VM: a network path problem. */
  | 'network-path'
  /** Nothing on the VM says etcd is down or broken (no positive evidence). */
  | 'no-evidence'
  /** Something the plan depends on changed between the plan and the confirmation. */
  | 'plan-changed'
  /** Another run holds the cluster lock (or a stale lock is in the way). */
  | 'lock-held';

/** One member's place in a recovery of several: the order they come back in, and how. */
export interface OrderEntry {
  target: string;
  bootstrap: boolean;
  /**
   * 'self-add': etcd is started without member/ and the job's start script adds the member itself
   * (non-bootstrap only); 'runbook': `mkdir member/` + `member add`, then start (the start script
   * then lists every peer of utils.sh, so this member must be the last to come back).
   */
  path: 'self-add' | 'runbook';
  why: string;
}

/** Why the engine will not run: what is wrong, and what the operator should do instead. */
export interface Refusal {
  code: RefusalCode;
  message: string;
  advice: string;
}

export interface Plan {
  deployment: string;
  /** 'group/uuid' of the instance whose etcd member is replaced. */
  target: string;
  targetId: string;
  targetIndex: number | null;
  targetBootstrap: boolean;
  /** Recovery timestamp used for the backup dir and snapshot name (kept when resuming). */
  ts: string;
  /** A previous run's state file was found on the target: this run continues it. */
  resumed: boolean;
  learner: boolean;
  /** https://master-<index>.etcd.cfcr.internal:2380 */
  peerUrl: string;
  /** Member id (hex) of the dead member to remove, if still registered. */
  staleMemberId: string | null;
  /** Member id (hex) of the re-added member, if already added. */
  newMemberId: string | null;
  /** Healthy member that takes the snapshot ('group/uuid'). */
  snapshotHost: string | null;
  snapshotPath: string;
  backupDir: string;
  /** What the engine saw that says the target is broken (for the review page). */
  evidence: string[];
  /** Facts the operator should know (bootstrap instance, learner, resume, …). */
  notes: string[];
  /** Non-empty: the engine will not run; the steps are still listed for review. */
  refusals: Refusal[];
  steps: PlanStep[];
  /** Members of the cluster (N, and quorum). */
  clusterSize: number;
  quorum: number;
  /** Every instance this run recovers, in the order they come back ('group/uuid'). */
  targets?: string[];
  /** The order and why (several targets: dead registrations removed first, then back one at a time). */
  order?: OrderEntry[];
  /** One plan per target, in `order` (this plan is the first's, with the run-wide refusals). */
  memberPlans?: Plan[];
  /** Run-wide facts (order, other broken members, the lock, the resume marker). */
  runNotes?: string[];
}

/** Events delivered to `onEvent` as the run goes: the UI renders them; the transcript records them. */
/** `S`: the step ids (the disaster flows of src/disaster have their own). */
export type RecoveryEvent<S extends string = StepId> =
  | { type: 'observed'; time: string; summary: string[] }
  | { type: 'plan'; time: string; plan: Plan }
  | { type: 'refused'; time: string; refusals: Refusal[] }
  | {
      type: 'step-start';
      time: string;
      /** The instance the step works on (several targets). */
      target?: string;
      step: S;
      number: number;
      total: number;
      title: string;
      alreadyDone: boolean;
    }
  | {
      type: 'command';
      time: string;
      step: S;
      host: string;
      command: string;
      purpose: string;
      mutates: boolean;
      skipped?: string;
    }
  | { type: 'output'; time: string; step: S; host: string; stream: 'stdout' | 'stderr'; text: string }
  | {
      type: 'command-done';
      time: string;
      step: S;
      host: string;
      command: string;
      exitCode: number | null;
      signal: string | null;
      durationMs: number;
    }
  | { type: 'check'; time: string; step: S; name: string; ok: boolean; detail: string }
  | { type: 'info'; time: string; step?: S; message: string }
  | { type: 'step-done'; time: string; step: S; number: number; skipped: boolean; detail?: string }
  | { type: 'step-failed'; time: string; step: S; number: number; error: string; advice: string }
  | { type: 'cancelled'; time: string; step?: S; message: string }
  | { type: 'done'; time: string; outcome: RecoveryOutcome; message: string; transcriptPath: string };

export type RecoveryOutcome = 'recovered' | 'dry-run' | 'refused' | 'declined' | 'failed' | 'cancelled';

export interface RecoveryTimeouts {
  /** monit stop → not monitored (default 60 s). */
  stopMs?: number;
  /** monit start → member healthy and caught up (default 180 s). */
  startMs?: number;
  /** Learner promotion retried until this deadline (default 120 s). */
  promoteMs?: number;
  /** Post-checks: all healthy and Director 'running' (default 120 s). */
  postcheckMs?: number;
  /** One remote command (default 120 s; the snapshot gets 10 min). */
  commandMs?: number;
}

export interface RecoveryOptions {
  /** Break a stale cluster lock (never a live one); the broken holder is shown. */
  breakLock?: boolean;
  /** Observe and plan, print every command, change nothing. */
  dryRun?: boolean;
  /** Re-add as a learner (`member add --learner`), promote once in sync (etcd 3.4+ only). */
  learner?: boolean;
  /** Abort: the engine stops before the next command; nothing further changes. */
  signal?: AbortSignal;
  /** Folder the Markdown transcript is written to (created if missing). */
  transcriptDir: string;
  /** Also copy the pre-recovery snapshot to this local folder. */
  downloadSnapshotTo?: string;
  /** Asked once with the plan before the first change; resolve false to stop (nothing changed). */
  confirm?: (plan: Plan) => Promise<boolean>;
  /** Without `confirm`, a real run only proceeds with `yes: true` (non-interactive mode). */
  yes?: boolean;
  onEvent?: (e: RecoveryEvent) => void;
  timeouts?: RecoveryTimeouts;
  /** Clock for the recovery timestamp (tests). */
  now?: () => Date;
}

export interface RecoveryResult {
  outcome: RecoveryOutcome;
  /** The instances the run was for ('group/uuid'), in the order they were (or would be) recovered. */
  targets: string[];
  /** Refused because of the cluster lock: who holds it (describeLock). */
  lockHolder?: string;
  /** One-line summary for the operator. */
  message: string;
  transcriptPath: string;
  plan?: Plan;
  refusals?: Refusal[];
  failedStep?: StepId;
  error?: string;
  /** Advice when failed/refused: what to do next. */
  advice?: string;
  /** Snapshot on the snapshot member's VM, and its local copy if downloaded. */
  snapshot?: { host: string; path: string; localPath?: string };
  backupDir?: string;
  newMemberId?: string;
  /** Steps that ran (not skipped as already done). */
  stepsRun: StepId[];
}
