// The etcd part of an observation, as seen from the workstation: every endpoint's status, health and
// own member list (each bounded by its own deadline), the alarms (from status' errors), and hashKV at
// one common revision where the DBs are small enough to hash cheaply, all in one round when it can. Failures are values. Plain Node, no `vscode`.
import type { DeploymentSession } from '../session/types';
import { alarmsFromStatusErrors } from '../etcd/clusterReads';
import type {
  EndpointHealth,
  EndpointResult,
  EndpointStatus,
  EtcdAlarm,
  EtcdCluster,
  EtcdMember,
  HashKV,
} from '../etcd/types';
import { withTimeout } from '../util/async';
import type { EndpointObservation, Outcome } from './observationTypes';

async function settle<T>(p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** The cluster id most endpoints report; null when none answered. */
export function majorityClusterId(ids: (string | undefined)[]): string | null {
  const count = new Map<string, number>();
  for (const id of ids) if (id) count.set(id, (count.get(id) ?? 0) + 1);
  let best: string | null = null;
  for (const [id, n] of count) if (best === null || n > count.get(best)!) best = id;
  return best;
}

/**
 * The largest DB the last observation over a connection saw: when it was small enough to hash, the
 * next observation over the same connection sends hashKV with its first round instead of after it.
 */
const lastLargestDb = new WeakMap<EtcdCluster, number>();

/**
 * The last hashKV comparison over a connection: reused (no hashKV sent) while it is younger than the
 * observation's hashKvMaxAgeMs and made of the same majority (cluster id and endpoints); hashing the
 * whole keyspace of every member at every 5 s poll is the dearest read of a warm diagnosis.
 */
interface HashComparison {
  at: number;
  majority: string;
  revision: string | null;
  byUrl: Map<string, Outcome<HashKV>>;
}
const lastHashes = new WeakMap<EtcdCluster, HashComparison>();

/** The cluster's alarms from the status answers' errors; null when one of them cannot be read so. */
function alarmsFromStatus(answers: EndpointStatus[]): EtcdAlarm[] | null {
  const seen = new Map<string, EtcdAlarm>();
  for (const st of answers) {
    const list = alarmsFromStatusErrors(st.errors);
    if (!list) return null;
    for (const a of list) seen.set(`${a.memberId}/${a.alarm}`, a);
  }
  return [...seen.values()];
}

/**
 * The last quorum reads (health) and member lists over a connection, with the status picture they
 * were read with: reused while young, all healthy and every endpoint's status shows the same cluster,
 * member, leader, term, learner flag and errors (a partitioned member loses its leader within an
 * election timeout; an alarm shows in the errors). Status itself is asked at every observation.
 */
interface QuorumReads {
  at: number;
  picture: string;
  health: Outcome<EndpointResult<EndpointHealth>[]>;
  lists: Outcome<EtcdMember[]>[];
}
const lastReads = new WeakMap<EtcdCluster, QuorumReads>();

/** What must stay the same for health and member lists to be reused: one line per endpoint. */
function statusPicture(cluster: EtcdCluster, status: Outcome<EndpointResult<EndpointStatus>[]>): string | null {
  if (!status.ok) return null;
  const lines: string[] = [];
  for (const e of cluster.endpoints) {
    const r = status.value.find((x) => x.endpoint === e.url);
    if (!r?.ok) return null;
    const v = r.value;
    lines.push([e.url, v.clusterId, v.memberId, v.leader, v.raftTerm, v.isLearner, v.errors.join('|')].join(' '));
  }
  return lines.join('\n');
}

async function observeEtcd(
  cluster: EtcdCluster,
  deadlineMs: number,
  hashKvMaxDbBytes: number,
  hashKvMaxAgeMs: number,
  readsMaxAgeMs: number,
  unchecked: string[],
): Promise<{ endpoints: EndpointObservation[]; alarms: Outcome<EtcdAlarm[]>; hashRevision: string | null }> {
  const late = (what: string) => () => new Error(`${what}: no answer within ${Math.round(deadlineMs / 1000)} s`);
  const hash = (url: string, rev?: string) =>
    settle(withTimeout(cluster.hashKV(url, rev), deadlineMs * 2, late(`hashKV of ${url}`)));
  // Everything that does not depend on another answer goes out at once: status, health (its quorum
  // read; the alarms come with status' errors) and each member's own list, and hashKV when the last
  // observation over this connection found the DBs small. The cluster's per-call deadline bounds each
  // endpoint (a member that never answers costs its deadline, in parallel); the outer one is a safety net.
  // With young reads of a healthy cluster over this connection (QuorumReads), status goes alone and
  // health and the member lists are asked only when its picture changed.
  const largest = lastLargestDb.get(cluster);
  const prevHash = lastHashes.get(cluster);
  const hashYoung = !!prevHash && hashKvMaxAgeMs > 0 && Date.now() - prevHash.at <= hashKvMaxAgeMs;
  const hashEarly = hashKvMaxDbBytes > 0 && !hashYoung && largest !== undefined && largest <= hashKvMaxDbBytes;
  const earlyHashes = hashEarly ? cluster.endpoints.map((e) => hash(e.url)) : [];
  const prevReads = lastReads.get(cluster);
  const readsYoung = !!prevReads && readsMaxAgeMs > 0 && Date.now() - prevReads.at <= readsMaxAgeMs;
  const askReads = () => ({
    health: settle(withTimeout(cluster.health({ withAlarms: false }), deadlineMs + 3000, late('endpoint health'))),
    lists: Promise.all(
      cluster.endpoints.map((e) =>
        settle(withTimeout(cluster.memberList({ endpointUrl: e.url }), deadlineMs, late(`member list of ${e.url}`))),
      ),
    ),
  });
  const early = readsYoung ? undefined : askReads();
  const status = await settle(withTimeout(cluster.status(), deadlineMs + 3000, late('endpoint status')));
  const picture = statusPicture(cluster, status);
  const reuse = readsYoung && picture !== null && picture === prevReads!.picture;
  const reads = reuse ? undefined : (early ?? askReads());
  const [health, lists] = reads
    ? await Promise.all([reads.health, reads.lists])
    : [prevReads!.health, prevReads!.lists];
  // Kept for reuse only when every endpoint answered and every member is healthy: a problem is asked again each time.
  const allGood =
    picture !== null && health.ok && health.value.every((r) => r.ok && r.value.healthy) && lists.every((l) => l.ok);
  if (reads && allGood) lastReads.set(cluster, { at: Date.now(), picture: picture!, health, lists });
  else if (!allGood) lastReads.delete(cluster);
  const answered = status.ok ? status.value.flatMap((r) => (r.ok ? [r.value] : [])) : [];
  const fromStatus = answered.length ? alarmsFromStatus(answered) : null;
  const alarms: Outcome<EtcdAlarm[]> = fromStatus
    ? { ok: true, value: fromStatus }
    : await settle(withTimeout(cluster.alarms(), deadlineMs + 3000, late('alarm list')));
  if (!status.ok) unchecked.push(`endpoint status: ${status.error}`);
  if (!health.ok) unchecked.push(`endpoint health: ${health.error}`);
  if (!alarms.ok) unchecked.push(`alarms: ${alarms.error}`);
  if (answered.length) lastLargestDb.set(cluster, Math.max(...answered.map((st) => st.dbSize)));
  // As `etcdctl endpoint health`: a member that answers the quorum read is still unhealthy under an alarm.
  const alarmWords = alarms.ok && alarms.value.length ? alarms.value.map((a) => `${a.alarm} on ${a.memberId}`) : [];
  const healthOf = (url: string): EndpointResult<EndpointHealth> | null => {
    const h = (health.ok && health.value.find((r) => r.endpoint === url)) || null;
    if (!h?.ok || !h.value.healthy || !alarmWords.length) return h;
    return { ...h, value: { ...h.value, healthy: false, error: `Active alarm(s): ${alarmWords.join(', ')}` } };
  };
  const endpoints: EndpointObservation[] = cluster.endpoints.map((e, i) => ({
    url: e.url,
    instanceId: e.name,
    status: (status.ok && status.value.find((r) => r.endpoint === e.url)) || null,
    health: healthOf(e.url),
    members: lists[i],
    hashKV: null,
  }));
  // hashKV across the majority's members when the DBs are small enough to hash quickly: each at its
  // current revision in one round; only when the revisions differ (writes in between) again at the
  // lowest one, so that the hashes compared are of the same revision.
  let hashRevision: string | null = null;
  const majority = majorityClusterId(endpoints.map((e) => (e.status?.ok ? e.status.value.clusterId : undefined)));
  const inMajority = endpoints.filter((e) => e.status?.ok && e.status.value.clusterId === majority);
  const small = inMajority.every((e) => e.status?.ok && e.status.value.dbSize <= hashKvMaxDbBytes);
  const sameMajority =
    hashYoung &&
    prevHash!.majority === majority &&
    prevHash!.byUrl.size === inMajority.length &&
    inMajority.every((e) => prevHash!.byUrl.has(e.url));
  if (hashKvMaxDbBytes > 0 && inMajority.length >= 2 && small && sameMajority) {
    for (const e of inMajority) e.hashKV = prevHash!.byUrl.get(e.url)!;
    hashRevision = prevHash!.revision;
  } else if (hashKvMaxDbBytes > 0 && inMajority.length >= 2 && small) {
    const early = await Promise.all(earlyHashes);
    await Promise.all(
      inMajority.map(async (e) => {
        const k = cluster.endpoints.findIndex((x) => x.url === e.url);
        e.hashKV = hashEarly && k >= 0 ? early[k] : await hash(e.url);
      }),
    );
    const revs = inMajority.flatMap((e) => (e.hashKV?.ok ? [BigInt(e.hashKV.value.revision)] : []));
    if (revs.length >= 2) {
      const low = revs.reduce((a, b) => (b < a ? b : a));
      hashRevision = String(low);
      await Promise.all(
        inMajority
          .filter((e) => e.hashKV?.ok && e.hashKV.value.revision !== hashRevision)
          .map(async (e) => (e.hashKV = await hash(e.url, hashRevision!))),
      );
    }
    // Kept for reuse only when every member answered (a failure is asked again at the next observation).
    if (majority && inMajority.every((e) => e.hashKV?.ok))
      lastHashes.set(cluster, {
        at: Date.now(),
        majority,
        revision: hashRevision,
        byUrl: new Map(inMajority.map((e) => [e.url, e.hashKV!])),
      });
  } else if (hashKvMaxDbBytes > 0 && inMajority.length >= 2) {
    unchecked.push('hashKV: not compared (a DB is larger than the cheap limit)');
  }
  return { endpoints, alarms, hashRevision };
}

export async function observeEtcdOf(
  session: DeploymentSession,
  deadlineMs: number,
  openDeadlineMs: number,
  hashKvMaxDbBytes: number,
  hashKvMaxAgeMs = 0,
  readsMaxAgeMs = 0,
): Promise<{ value?: Awaited<ReturnType<typeof observeEtcd>>; error?: string; unchecked: string[] }> {
  const unchecked: string[] = [];
  try {
    const cluster = await withTimeout(session.etcd(), openDeadlineMs, 'opening the etcd endpoints');
    return {
      value: await observeEtcd(cluster, deadlineMs, hashKvMaxDbBytes, hashKvMaxAgeMs, readsMaxAgeMs, unchecked),
      unchecked,
    };
  } catch (e) {
    const error = (e as Error).message;
    return { error, unchecked: [...unchecked, `etcd from here: ${error}`] };
  }
}
