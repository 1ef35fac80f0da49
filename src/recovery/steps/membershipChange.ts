// One membership change (member remove / member add) sent as a visible etcdctl command, with the
// member list as the judge of whether it was applied. No `vscode` import here.
import type { EtcdMember } from '../../etcd/types';
import type { ExecResult } from '../../ssh/types';
import { parseEtcdctlError, type EtcdctlFailure } from '../../etcd/parsers';
import type { Run } from '../context';
import type { PlannedCommand } from '../events';

/** How long a membership change explicitly rejected by etcd (and verified not applied) is tried again. */
export const RECONFIG_RETRY_MS = 45_000;

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
  r: Run,
  command: PlannedCommand,
  applied: (members: EtcdMember[]) => T | undefined,
  describe: { change: string; notApplied: string },
): Promise<MembershipChange<T>> {
  const deadline = Date.now() + RECONFIG_RETRY_MS;
  for (;;) {
    const res = await r.exec(command, { allowFail: true });
    const members = await r.until('the member list can be read', 30_000, async () => r.members());
    const found = applied(members);
    const failure = res.code === 0 ? undefined : parseEtcdctlError(res.stderr);
    if (found !== undefined || !failure || !rejectedByReconfigCheck(failure) || Date.now() > deadline)
      return { res, failure, members, applied: found };
    r.info(
      `etcd rejected ${describe.change} for now (${failure.reason}: ${failure.message}); ${describe.notApplied}: trying again`,
    );
    await r.pause(1000);
  }
}
