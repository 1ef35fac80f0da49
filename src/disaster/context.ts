// The context of one disaster-recovery run (quorum loss, restore from a snapshot): the masters by
// label, and everything the recovery's runs share (src/recovery/remoteRun.ts): visible commands and
// checks recorded as the recovery engine's events (so its transcript, src/recovery/transcript.ts,
// records them), read-only probes, polling with a deadline. Implements src/disaster/fleet.ts's
// FleetRun; and the transcript and event sink both flows open first (openRunRecord). No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import { RemoteRun, RESUME_ADVICE, StepError } from '../recovery/remoteRun';
import type { RecoveryEvent, RecoveryOutcome } from '../recovery/events';
import { Transcript } from '../recovery/transcript';
import type { FleetRun } from './fleet';

export type DisasterEvent = RecoveryEvent<string>;

export class DisasterRun extends RemoteRun<string> implements FleetRun {
  constructor(
    session: DeploymentSession,
    readonly instances: InstanceInfo[],
    emit: (e: DisasterEvent) => void,
    opts: { dryRun?: boolean; signal?: AbortSignal; commandMs?: number } = {},
  ) {
    super(session, emit, { ...opts, commandMs: opts.commandMs ?? 120_000, firstStep: 'preflight' });
  }

  protected instance(label: string): InstanceInfo {
    const i = this.instances.find((x) => `${x.group}/${x.id}` === label);
    if (!i) throw new StepError(`instance ${label} is not in the deployment`, RESUME_ADVICE);
    return i;
  }

  protected deploymentName(): string {
    return this.session.deployment;
  }
}

/** What both disaster flows set up first: their transcript, and one `emit` feeding it and the caller. */
export interface RunRecord {
  transcript: Transcript;
  emit: (e: DisasterEvent) => void;
  time: () => string;
  /** Emits the `done` event and writes the transcript; returns its path. */
  done: (outcome: RecoveryOutcome, message: string) => string;
}

export function openRunRecord(
  session: DeploymentSession,
  o: {
    transcriptDir: string;
    target: string;
    dryRun?: boolean;
    started: Date;
    heading: string;
    prefix: string;
    onEvent?: (e: DisasterEvent) => void;
  },
): RunRecord {
  const transcript = new Transcript(o.transcriptDir, {
    deployment: session.deployment,
    target: o.target,
    dryRun: !!o.dryRun,
    started: o.started,
    heading: o.heading,
    prefix: o.prefix,
  });
  const time = () => new Date().toISOString();
  const emit = (e: DisasterEvent) => {
    transcript.record(e);
    try {
      o.onEvent?.(e);
    } catch {
      /* a UI callback must not break the run */
    }
  };
  const done = (outcome: RecoveryOutcome, message: string) => {
    emit({ type: 'done', time: time(), outcome, message, transcriptPath: transcript.path });
    transcript.flush();
    return transcript.path;
  };
  return { transcript, emit, time, done };
}
