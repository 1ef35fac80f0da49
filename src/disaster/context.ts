// The context of one disaster-recovery run (quorum loss, restore from a snapshot): the masters by
// label, and everything the recovery's runs share (src/recovery/remoteRun.ts): visible commands and
// checks recorded as the recovery engine's events (so its transcript, src/recovery/transcript.ts,
// records them), read-only probes, polling with a deadline. Implements src/disaster/fleet.ts's
// FleetRun. No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import { RemoteRun, RESUME_ADVICE, StepError } from '../recovery/remoteRun';
import type { RecoveryEvent } from '../recovery/events';
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
