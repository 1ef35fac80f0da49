// VM probes reused between observations (src/diagnosis/probeCache.ts): observeDeployment over a
// fake session (etcd answers from the fixtures, SSH answers the probe command's output format and
// counts the probes), and the monitor's choice of fresh probes (on demand) or reuse (its interval).
import * as assert from 'assert';
import {
  DiagnosisMonitor,
  ProbeCache,
  diagnose,
  endpointPicture,
  observeDeployment,
  type ClusterObservation,
  type ObserveOptions,
} from '../../src/diagnosis';
import type { DeploymentSession } from '../../src/session/types';
import { IDS, endpoint, instance, member, observation, probeText, url } from './observation-fixtures';

/** A deployment of three masters; `down` makes a master's endpoint refuse connections from here. */
function fakeSession() {
  const probed: string[] = [];
  const down = new Set<number>();
  const eps = () => [0, 1, 2].map((i) => (down.has(i) ? endpoint(i, { down: 'connection refused' }) : endpoint(i)));
  const cluster = {
    endpoints: [0, 1, 2].map((i) => ({ name: IDS[i], url: url(i) })),
    status: async () => eps().map((e) => e.status!),
    health: async () => eps().map((e) => e.health!),
    alarms: async () => [],
    memberList: async () => [0, 1, 2].map((k) => member(k)),
  };
  const session = {
    deployment: 'dep',
    etcd: async () => cluster,
    ssh: async (inst: { id: string }) => ({
      exec: async () => {
        probed.push(inst.id);
        return { code: 0, stdout: probeText(), stderr: '' };
      },
    }),
  } as unknown as DeploymentSession;
  return { session, probed, down };
}

const masters = [0, 1, 2].map((i) => instance(i));
const opts = (o: ObserveOptions = {}): ObserveOptions => ({ instances: masters, hashKvMaxDbBytes: 0, ...o });

describe('diagnosis: VM probes reused between observations', () => {
  it('reuses young probes while the endpoint picture holds, probes again the master whose picture changed', async () => {
    const { session, probed, down } = fakeSession();
    const cache = new ProbeCache(() => 60_000);
    const first = await observeDeployment(session, opts({ probeCache: cache }));
    assert.deepStrictEqual(probed.sort(), [...IDS].sort(), 'an empty cache: every master probed');
    assert.ok(Object.values(first.probes).every((p) => p.reachable && p.reusedAgeMs === undefined));

    probed.length = 0;
    const second = await observeDeployment(session, opts({ probeCache: cache }));
    assert.deepStrictEqual(probed, [], 'a poll with nothing changed probes no VM');
    assert.ok(Object.values(second.probes).every((p) => p.reachable && typeof p.reusedAgeMs === 'number'));
    assert.strictEqual(diagnose(second).summary.worst, 'ok');

    // master/1 stops answering from here: its picture changed, so its VM is probed again; the others' are reused.
    down.add(1);
    const third = await observeDeployment(session, opts({ probeCache: cache }));
    assert.deepStrictEqual(probed, [IDS[1]]);
    assert.strictEqual(third.probes[IDS[1]].reusedAgeMs, undefined);
    assert.strictEqual(typeof third.probes[IDS[0]].reusedAgeMs, 'number');
    // The next poll sees the same (down) picture: reused again.
    probed.length = 0;
    await observeDeployment(session, opts({ probeCache: cache }));
    assert.deepStrictEqual(probed, []);
  });

  it('probes every VM when asked for fresh probes, when the probes are too old, and without a cache', async () => {
    const { session, probed } = fakeSession();
    const cache = new ProbeCache(() => 60_000);
    await observeDeployment(session, opts({ probeCache: cache }));
    probed.length = 0;
    await observeDeployment(session, opts({ probeCache: cache, freshProbes: true }));
    assert.strictEqual(probed.length, 3, 'fresh probes on demand');

    const expired = new ProbeCache(() => 0);
    await observeDeployment(session, opts({ probeCache: expired }));
    await new Promise((r) => setTimeout(r, 5));
    probed.length = 0;
    await observeDeployment(session, opts({ probeCache: expired }));
    assert.strictEqual(probed.length, 3, 'max age 0: every poll probes');

    probed.length = 0;
    await observeDeployment(session, opts());
    await observeDeployment(session, opts());
    assert.strictEqual(probed.length, 6, 'no cache: every observation probes');
  });

  it("the picture changes with the instance's VM and states, the member, leader, cluster and alarms, not with sizes", () => {
    const base = endpointPicture(instance(1), endpoint(1));
    const grown = endpoint(1);
    if (grown.status?.ok) grown.status.value = { ...grown.status.value, dbSize: 99_999_999, raftIndex: '999' };
    assert.strictEqual(endpointPicture(instance(1), grown), base);
    const alarmed = endpoint(1);
    if (alarmed.status?.ok) alarmed.status.value = { ...alarmed.status.value, errors: ['memberID:178 alarm:NOSPACE'] };
    for (const other of [
      endpointPicture(instance(1, { processState: 'failing' }), endpoint(1)),
      endpointPicture(instance(1, { vmCid: 'vm-new' }), endpoint(1)),
      endpointPicture(instance(1), endpoint(1, { leader: 'b2' })),
      endpointPicture(instance(1), endpoint(1, { clusterId: 'dddd' })),
      endpointPicture(instance(1), endpoint(1, { down: 'connection refused' })),
      endpointPicture(instance(1), alarmed),
    ])
      assert.notStrictEqual(other, base);
  });

  it('the monitor reuses probes on its interval and asks for fresh ones on demand, with one cache per deployment', async () => {
    const seen: { fresh?: boolean; cache?: ObserveOptions['probeCache'] }[] = [];
    const monitor = new DiagnosisMonitor({
      session: async () => ({}) as never,
      observe: async (_s, o): Promise<ClusterObservation> => {
        seen.push({ fresh: o.freshProbes, cache: o.probeCache });
        return observation();
      },
    });
    await monitor.refresh('env', 'dep');
    const w = monitor.watch('env', 'dep', 1000);
    await new Promise((r) => setTimeout(r, 1300));
    w.dispose();
    await monitor.refresh('env', 'other');
    monitor.dispose();
    assert.ok(seen.length >= 3, `on demand, the watch's first refresh or its poll, another deployment: ${seen.length}`);
    assert.strictEqual(seen[0].fresh, true, 'a refresh on demand probes again');
    assert.ok(
      seen.slice(1, -1).some((x) => x.fresh === false),
      'the interval reuses',
    );
    assert.ok(
      seen[0].cache && seen.slice(0, -1).every((x) => x.cache === seen[0].cache),
      'one cache for the deployment',
    );
    assert.notStrictEqual(seen[seen.length - 1].cache, seen[0].cache, 'another deployment has its own');
  });
});
