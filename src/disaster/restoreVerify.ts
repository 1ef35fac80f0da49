// What proves a restore from a snapshot worked, checked before kube-apiserver writes again: every
// master's member answers and is healthy, one cluster id, the member list is exactly the masters with
// the job's peer URLs, every member holds at least the snapshot's revision (plus the bump), and
// hashKV is the same on every member. Then the Director reports every master running.
// No `vscode` import here.
import type { DeploymentSession } from '../session/types';
import { etcdInstances } from '../session/etcdEndpoints';
import type { EndpointStatus } from '../etcd/types';
import type { RestoreRun } from './restoreTransfer';
import type { RestoreMember } from './restoreCommands';

export interface VerifiedCluster {
  clusterId: string;
  revision: string;
  hash: number;
}

/** Waits until every endpoint answers status and health, then checks the restored cluster. */
export async function verifyRestoredCluster(
  run: RestoreRun,
  session: DeploymentSession,
  expected: { members: RestoreMember[]; minRevision: bigint },
  ms: number,
): Promise<VerifiedCluster> {
  const cluster = await session.etcd();
  const statuses = await run.until(
    `every member answers and is healthy (${expected.members.length})`,
    ms,
    async () => {
      const [st, h] = await Promise.all([cluster.status(), cluster.health()]);
      const ok = st.filter((s) => s.ok);
      if (ok.length < expected.members.length || h.some((x) => !x.ok || !x.value.healthy)) return undefined;
      return ok.map((s) => (s as { value: EndpointStatus }).value);
    },
    500,
  );
  run.check('every member healthy', true, `${statuses.length} members answer status and a health read`);
  const ids = [...new Set(statuses.map((s) => s.clusterId ?? '?'))];
  run.check(
    'one cluster id',
    ids.length === 1 && ids[0] !== '?',
    ids.length === 1 ? `cluster ${ids[0]}` : `the members answer for ${ids.join(', ')}`,
  );
  const members = await cluster.memberList();
  const listed = members.map((m) => `${m.name}=${m.peerURLs.join('|')}`).sort();
  const wanted = expected.members.map((m) => `${m.id}=${m.peerUrl}`).sort();
  run.check(
    'the member list is the masters',
    JSON.stringify(listed) === JSON.stringify(wanted) && members.every((m) => !m.isLearner),
    listed.join(', '),
  );
  const revisions = statuses.map((s) => BigInt(s.revision ?? '0'));
  const low = revisions.reduce((a, b) => (b < a ? b : a));
  run.check(
    'revision at least the snapshot’s',
    low >= expected.minRevision,
    `revisions ${revisions.join(', ')}; the snapshot (with any bump) gives ${expected.minRevision}`,
  );
  if (revisions.every((r) => r === expected.minRevision))
    run.info(`every member is at revision ${expected.minRevision}: exactly the snapshot's, nothing written since`);
  const same = revisions.every((r) => r === revisions[0]);
  const hashes = await Promise.all(statuses.map((s) => cluster.hashKV(s.endpoint, same ? undefined : low.toString())));
  const distinct = [...new Set(hashes.map((h) => h.hash))];
  run.check(
    'hashKV equal on every member',
    distinct.length === 1,
    `hash ${hashes.map((h) => h.hash).join(', ')} at revision ${hashes[0]?.revision ?? low}`,
  );
  return { clusterId: ids[0], revision: low.toString(), hash: distinct[0] };
}

/** Waits until the Director reports every master running (its agent's job state). */
export async function waitDirectorRunning(run: RestoreRun, session: DeploymentSession, ms: number): Promise<void> {
  const states = await run.until(
    'the Director reports every master running',
    ms,
    async () => {
      const ms2 = etcdInstances(await session.instances());
      return ms2.length && ms2.every((i) => i.processState === 'running') ? ms2 : undefined;
    },
    1000,
  );
  run.check('Director reports running', true, states.map((i) => `${i.group}/${i.id}: ${i.processState}`).join(', '));
}
