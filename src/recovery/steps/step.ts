// What every recovery step provides: its id and title, the commands it runs (and which of them the
// observed state shows as already done), the checks it makes, and how it runs. No `vscode` import here.
import type { Run } from '../context';
import type { RemoteCommand } from '../commands';
import type { Observation } from '../observe';
import type { MonitState } from '../vmProbe';
import type { TargetMembership } from '../membership';
import type { PlanStep, PlannedCommand, StepId } from '../events';

/** The observed state, digested once, from which every step lists its commands and their done-ness. */
export interface PlanFacts {
  obs: Observation;
  /** The target, 'group/uuid'. */
  label: string;
  /** The instance that takes the snapshot, or a placeholder when there is none. */
  helper: string;
  snapshotHost: string | null;
  /** Recovery timestamp (backup dir, snapshot name). */
  ts: string;
  learner: boolean;
  /** A previous run's state file was found on the target. */
  resumed: boolean;
  membership: TargetMembership;
  staleId: string | null;
  newId: string | null;
  /** monit's state of etcd on the target. */
  monit: MonitState;
  etcdAlive: boolean;
  /** etcd already runs for the re-added member (the run got that far, or the start script added it). */
  etcdRunsForAdded: boolean;
  /** The data directory holds nothing but (at most) an empty member/. */
  dataDirEmpty: boolean;
  /** The run (and cluster lock) the resume marker is bound to. */
  runId: string | null;
  peerUrl: string;
}

export interface RecoveryStep {
  id: StepId;
  title: string;
  /** Why the step exists / what it does. */
  description: string;
  commands(f: PlanFacts): PlannedCommand[];
  /** The checks run after the commands, as listed in the plan. */
  checks(f: PlanFacts): string[];
  run(r: Run, s: PlanStep): Promise<void>;
}

/** A command of the plan on one host, done or not. */
export function planned(host: string, rc: RemoteCommand, done: boolean, doneReason?: string): PlannedCommand {
  return {
    host,
    command: rc.command,
    purpose: rc.purpose,
    mutates: rc.mutates,
    done,
    doneReason: done ? doneReason : undefined,
  };
}

/** Builds a command, or a visible placeholder when a value fails validation (the pre-flight refuses then). */
export function built(what: string, f: () => RemoteCommand): RemoteCommand {
  try {
    return f();
  } catch {
    return { command: `# (not built: ${what})`, mutates: true, purpose: what };
  }
}
