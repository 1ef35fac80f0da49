// One membership change (member remove / member add) sent as a visible etcdctl command, with the
// member list as the judge of whether it was applied. No `vscode` import here.
import type { EtcdMember } from '../../etcd/types';
import type { ExecResult } from '../../ssh/types';
import { parseEtcdctlError, type EtcdctlFailure } from '../../etcd/parsers';
import { StepError, type Run } from '../context';
import type { PlannedCommand } from '../events';

/** How long a membership change explicitly rejected by etcd (and verified not applied) is tried again. */
export const RECONFIG_RETRY_MS = 45_000;

/** How long a change etcd answered as applied is waited for in the member list (a lagging member's view). */
export const APPLIED_VISIBLE_MS = 10_000;

/** etcd's strict reconfiguration check said no (members not connected long enough): nothing was applied. */
export function rejectedByReconfigCheck(f: EtcdctlFailure): boolean {
  return f.reason === 'unhealthy-cluster' || f.reason === 'not-enough-started';
}

export interface MembershipChange<T> {
  /** The last attempt's result. */
  res: ExecResult;
  /** Why etcdctl failed, when it did (exit code not 0). */
  failure?: EtcdctlFailure;
  /** The member list read after the last attempt. */
  members: EtcdMember[];
  /** What `applied` found in that list; undefined when the change is not there. */
  applied: T | undefined;
}

/**
 * Sends the change, then re-lists the members: whatever the command said (a dropped connection, a
 * timeout), the member list decides, and the change is never sent again blindly. Only a change etcd
 * explicitly rejected as unsafe for an unhealthy cluster, and verified not applied, is sent again
 * (every second: etcd accepts it once every voter has been connected for 5 s) until RECONFIG_RETRY_MS have passed.
 */
export async function changeMembership<T>(
  r: Pick<Run, 'exec' | 'until' | 'info' | 'pause' | 'members'>,
  command: PlannedCommand,
  applied: (members: EtcdMember[]) => T | undefined,
  describe: { change: string; notApplied: string },
): Promise<MembershipChange<T>> {
  const deadline = Date.now() + RECONFIG_RETRY_MS;
  for (;;) {
    const res = await r.exec(command, { allowFail: true });
    let members = await r.until('the member list can be read', 30_000, async () => r.members());
    let found = applied(members);
    // etcd said it applied the change, but the member that answered the list may not have applied it
    // yet (a follower's list is its own view): read it again for a while before judging.
    if (res.code === 0 && found === undefined) {
      const seen = await r
        .until(
          `the member list shows ${describe.change}`,
          APPLIED_VISIBLE_MS,
          async () => {
            const listed = await r.members();
            const x = applied(listed);
            return x === undefined ? undefined : { listed, x };
          },
          300,
        )
        .catch((e: Error) => {
          if (e instanceof StepError) return undefined; // not shown in time: the caller judges from the last list
          throw e;
        });
      if (seen) ({ listed: members, x: found } = seen);
    }
    const failure = res.code === 0 ? undefined : parseEtcdctlError(res.stderr);
    if (found !== undefined || !failure || !rejectedByReconfigCheck(failure) || Date.now() > deadline)
      return { res, failure, members, applied: found };
    r.info(
      `etcd rejected ${describe.change} for now (${failure.reason}: ${failure.message}); ${describe.notApplied}: trying again`,
    );
    await r.pause(1000);
  }
}
