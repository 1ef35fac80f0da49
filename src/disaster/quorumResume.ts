// A quorum restore run again after its survivor was forced into a new cluster: can the survivor's
// cluster still form a quorum? When a run stopped (the survivor's etcd died, the CLI was killed)
// after a member was added but before that member started, the survivor's configuration counts it
// as a voter: with a majority of the voters unable to start (no etcd running, no member/ directory:
// its start script would only add it a second time), the survivor waits for a quorum that cannot
// form. The survivor's data is still the most advanced (a member added after the force holds only
// what it copied from the survivor, and nothing is committed without the survivor's vote), so it is
// forced into a one-member cluster again, and the members are added back as in a first run (the
// data a half-joined member left is moved aside then: src/disaster/quorumSteps.ts). No `vscode` import here.
import { parsePeerMembersJson, type ListedMember } from '../etcd/memberParsers';
import { quorumOf } from '../recovery/membership';
import type { VmProbe } from '../recovery/vmProbe';
import type { DisasterRun } from './context';
import { stopEtcdEverywhere } from './fleet';
import type { QuorumPlan } from './quorumPlan';
import * as q from './quorumCommands';
import { forceNewCluster, startSurvivor, type QuorumTimeouts } from './quorumSteps';

export interface QuorumVerdict {
  /** A quorum of the survivor's voters cannot run. */
  blocked: boolean;
  /** One line per member of the survivor's configuration: which master, voter or learner, and its state. */
  lines: string[];
}

const idOf = (label: string) => label.split('/')[1];

/** Pure: which members of the survivor's configuration can run, and whether a quorum of its voters can. */
export function judgeSurvivorQuorum(
  survivor: string,
  members: ListedMember[],
  masters: { label: string; probe: VmProbe }[],
): QuorumVerdict {
  let able = 0;
  const lines = members.map((m) => {
    const v = masters.find(
      (x) => (m.name && idOf(x.label) === m.name) || (x.probe.peerAddress && m.peerURLs.includes(x.probe.peerAddress)),
    );
    const kind = `${m.isLearner ? 'learner' : 'voting member'} ${m.id}`;
    let state: string;
    let canRun = false;
    if (!v) state = `not a master of the deployment (${m.peerURLs.join(', ')})`;
    else if (v.label === survivor) {
      state = 'the survivor, etcd running';
      canRun = true;
    } else if (v.probe.etcdAlive) {
      state = 'etcd running';
      canRun = true;
    } else if (v.probe.memberDir.exists) {
      state = 'etcd not running; its member/ directory is there, so its start script can start it';
      canRun = true;
    } else
      state = `${m.name ? 'started once' : 'added, never started'}; etcd not running and no member/ directory: it cannot start (its start script would add it a second time)`;
    if (canRun && !m.isLearner) able++;
    return `${v?.label ?? 'unknown'}: ${kind}, ${state}`;
  });
  const voters = members.filter((m) => !m.isLearner).length;
  return { blocked: able < quorumOf(voters), lines };
}

/**
 * Reads the running survivor's own configuration (its peer port) and every master's VM; a verdict
 * when a quorum cannot form, undefined when it can (or the configuration cannot be read yet).
 */
export async function survivorQuorumBlocked(r: DisasterRun, plan: QuorumPlan): Promise<QuorumVerdict | undefined> {
  const s = plan.survivor!;
  const res = await r.exec({ host: s, ...q.peerMemberList() }, { allowFail: true });
  if (res.code !== 0) return undefined;
  let members: ListedMember[];
  try {
    members = parsePeerMembersJson(res.stdout);
  } catch {
    return undefined;
  }
  const masters = await Promise.all(plan.masters.map(async (label) => ({ label, probe: await r.probe(label) })));
  const v = judgeSurvivorQuorum(s, members, masters);
  return v.blocked ? v : undefined;
}

/**
 * Starts the survivor under monit; on a run that resumes after the force, a survivor whose cluster
 * cannot form a quorum is forced into a one-member cluster again (etcd stopped on every master
 * first), then started under monit.
 */
export async function startSurvivorResuming(
  r: DisasterRun,
  plan: QuorumPlan,
  t: QuorumTimeouts,
  resumedAfterForce: boolean,
): Promise<void> {
  const stuck = await startSurvivor(r, plan, t, resumedAfterForce ? () => survivorQuorumBlocked(r, plan) : undefined);
  if (!stuck) return;
  r.info(
    `The survivor ${plan.survivor} waits for a quorum that cannot form: a member added by the interrupted run never started. The members of its configuration:\n${stuck.lines.map((l) => `  ${l}`).join('\n')}\nIts data is still the most advanced (nothing is committed without its vote), so it is forced into a one-member cluster again; the others are then added back one at a time (a member's half-joined data is moved aside, timestamped).`,
  );
  await stopEtcdEverywhere(r, plan.masters, { monitMs: t.monitMs });
  await forceNewCluster(r, plan, false, t);
  await startSurvivor(r, plan, t);
}
