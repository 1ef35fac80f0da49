// When the survivor dies during a quorum restore (after it was forced into a new cluster, its etcd is
// the only copy of the data the others are rebuilt from): the run stops at once, and says what state
// each master is in — etcd running or not (and monit's word for it), the data in the data directory
// or not, the old data moved aside where, and which cluster id the member answers with. Everything
// here is read-only. No `vscode` import here.
import * as cmd from '../recovery/commands';
import { RESUME_ADVICE, StepError } from '../recovery/context';
import { parseEndpointStatusJson } from '../etcd/statusParsers';
import { dataPresent } from './evidence';
import type { DisasterRun } from './context';
import type { QuorumPlan } from './quorumPlan';
import * as q from './quorumCommands';

/** The survivor's etcd is not running any more: the others cannot be rebuilt from it. */
export class SurvivorDownError extends StepError {
  constructor(
    readonly survivor: string,
    detail: string,
  ) {
    super(
      `the survivor ${survivor} stopped running etcd (${detail}): the other masters are rebuilt from it, so the run stops here`,
      `Find why etcd stopped on ${survivor} (its log is in /var/vcap/sys/log/etcd on the VM). Its data is in ${cmd.DATA_DIR} and a copy of the db taken before the run is on it. Once the cause is fixed, run again with the same survivor: the run continues from its record and starts etcd there under monit; the survivor is forced into a one-member cluster a second time only when a member added before it stopped never started (its cluster could not form a quorum then). ${RESUME_ADVICE}`,
    );
  }
}

/** Throws SurvivorDownError when the survivor's VM shows no live etcd process. */
export async function assertSurvivorUp(r: DisasterRun, plan: QuorumPlan): Promise<void> {
  const p = await r.probe(plan.survivor!);
  if (p.reachable && !p.etcdAlive)
    throw new SurvivorDownError(plan.survivor!, `no live etcd process; monit: etcd ${p.monitText || 'unknown'}`);
}

/**
 * Runs a poll's read; when it fails, the survivor is probed first: a dead survivor stops the run
 * (SurvivorDownError) instead of the poll retrying until its deadline.
 */
export async function watchingSurvivor<T>(r: DisasterRun, plan: QuorumPlan, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof StepError)) await assertSurvivorUp(r, plan);
    throw e;
  }
}

/** One line per master: etcd running or not, data, old data moved aside where, cluster id. */
export async function memberStates(r: DisasterRun, plan: QuorumPlan): Promise<string[]> {
  const backup = cmd.backupDirFor(plan.ts);
  return Promise.all(
    plan.masters.map(async (m) => {
      const role = m === plan.survivor ? ' (the survivor)' : '';
      try {
        const p = await r.probe(m);
        if (!p.reachable) return `${m}${role}: not reachable (${p.error ?? 'no answer'})`;
        const running = p.etcdAlive ? 'etcd running' : 'etcd not running';
        let cluster = 'no cluster id (etcd does not answer)';
        if (p.etcdAlive) {
          const st = await r.exec({ host: m, ...q.localStatus() }, { allowFail: true });
          const id = st.code === 0 ? parseEndpointStatusJson(st.stdout)[0]?.clusterId : undefined;
          if (id) cluster = `member of cluster ${id}`;
        }
        const data = dataPresent(p)
          ? `data in ${cmd.DATA_DIR}`
          : `no data in ${cmd.DATA_DIR}${p.memberDir.exists ? ' (an empty member/)' : ''}`;
        const moved = p.storeEntries.includes(backup.split('/').pop()!)
          ? `old data moved aside to ${backup}`
          : 'nothing moved aside by this run';
        return `${m}${role}: ${running} (monit: ${p.monitText || 'unknown'}), ${cluster}; ${data}; ${moved}`;
      } catch (e) {
        return `${m}${role}: could not be read (${(e as Error).message})`;
      }
    }),
  );
}
