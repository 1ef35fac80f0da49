// The snapshot part of an observation: the deployment's newest snapshot in the local snapshot folder
// (src/snapshots/store.ts), for the diagnosis' snapshot-age finding (rules/snapshots.ts). Plain Node.
import { newestSnapshot } from '../snapshots/store';
import type { SnapshotObservation } from './observationTypes';

/** A newest snapshot older than this is a warning: one a day is the least a cluster should have. */
export const SNAPSHOT_WARN_AGE_MS = 24 * 3600_000;

/** Never throws: a folder that cannot be read is recorded as the error. */
export async function observeSnapshots(
  dir: string,
  deployment: string,
  warnAgeMs = SNAPSHOT_WARN_AGE_MS,
): Promise<SnapshotObservation> {
  try {
    const e = await newestSnapshot(dir, deployment);
    return {
      dir,
      warnAgeMs,
      newest: e && {
        file: e.file,
        name: e.name,
        takenAt: e.takenAt.toISOString(),
        ageMs: e.ageMs,
        revision: e.revision,
        clusterId: e.metadata?.clusterId,
      },
    };
  } catch (err) {
    return { dir, warnAgeMs, error: (err as Error).message };
  }
}
