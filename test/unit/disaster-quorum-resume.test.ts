// The quorum restore run again after its survivor was forced (src/disaster/quorumResume.ts): the
// survivor's own member list read from its peer port, and the verdict on whether its cluster can
// form a quorum (a member added and never started blocks it); the evidence's health wait
// (src/disaster/quorumObserve.ts), short only when a quorum of the masters cannot be running.
import * as assert from 'assert';
import { judgeSurvivorQuorum } from '../../src/disaster/quorumResume';
import { healthWaitSeconds } from '../../src/disaster/quorumObserve';
import { parsePeerMembersJson } from '../../src/etcd/memberParsers';
import { peerMemberList } from '../../src/disaster/quorumCommands';
import type { VmProbe } from '../../src/recovery/vmProbe';

const id = (i: number) => `0000000${i}-1111-2222-3333-444444444444`;
const lbl = (i: number) => `master/${id(i)}`;
const peer = (i: number) => `https://master-${i}.etcd.cfcr.internal:2380`;

function vm(i: number, o: { alive?: boolean; memberDir?: boolean }): { label: string; probe: VmProbe } {
  return {
    label: lbl(i),
    probe: {
      peerAddress: peer(i),
      etcdAlive: !!o.alive,
      memberDir: { exists: !!o.memberDir, entries: o.memberDir ? ['snap', 'wal'] : [] },
    } as unknown as VmProbe,
  };
}

// the survivor (master-2) and master-1, added by its start script and never started (no name yet);
// the second id does not fit in a double
const PEER_MEMBERS = `[{"id":562253166546905790,"peerURLs":["${peer(2)}"],"name":"${id(2)}","clientURLs":["https://master-2.etcd.cfcr.internal:2379"]},{"id":13073734063091769478,"peerURLs":["${peer(1)}"],"name":"","clientURLs":[]}]`;

describe('quorum restore run again after the force: can the survivor form a quorum', () => {
  it("reads the survivor's own member list from its peer port, exact ids, an unstarted member without a name", () => {
    const ms = parsePeerMembersJson(PEER_MEMBERS);
    assert.deepStrictEqual(
      ms.map((m) => [m.id, m.name, m.status, m.isLearner]),
      [
        ['7cd8646a9ddeabe', id(2), 'started', false],
        ['b56f3bdcde826086', '', 'unstarted', false],
      ],
    );
    assert.match(peerMemberList().command, /curl --http1\.1 .*peer\.crt.*\/members/);
    assert.strictEqual(peerMemberList().mutates, false);
    assert.throws(() => parsePeerMembersJson('{"members":[]}'), /not a list/);
  });

  it('blocked: a voter added and never started (no etcd, no member/) leaves the survivor alone of two', () => {
    const v = judgeSurvivorQuorum(lbl(2), parsePeerMembersJson(PEER_MEMBERS), [
      vm(0, {}),
      vm(1, {}),
      vm(2, { alive: true, memberDir: true }),
    ]);
    assert.strictEqual(v.blocked, true);
    assert.deepStrictEqual(v.lines, [
      `${lbl(2)}: voting member 7cd8646a9ddeabe, the survivor, etcd running`,
      `${lbl(1)}: voting member b56f3bdcde826086, added, never started; etcd not running and no member/ directory: it cannot start (its start script would add it a second time)`,
    ]);
  });

  it('not blocked: the added member has its member/ directory (it starts and joins), or runs', () => {
    const ms = parsePeerMembersJson(PEER_MEMBERS);
    const surv = vm(2, { alive: true, memberDir: true });
    assert.strictEqual(judgeSurvivorQuorum(lbl(2), ms, [vm(1, { memberDir: true }), surv]).blocked, false);
    assert.strictEqual(judgeSurvivorQuorum(lbl(2), ms, [vm(1, { alive: true }), surv]).blocked, false);
  });

  it('a learner never started does not count: the survivor and a started voter are a quorum', () => {
    const ms = parsePeerMembersJson(
      `[{"id":1,"peerURLs":["${peer(2)}"],"name":"${id(2)}"},{"id":2,"peerURLs":["${peer(1)}"],"name":"${id(1)}"},{"id":3,"peerURLs":["${peer(0)}"],"name":"","isLearner":true}]`,
    );
    const v = judgeSurvivorQuorum(lbl(2), ms, [vm(0, {}), vm(1, { alive: true }), vm(2, { alive: true })]);
    assert.strictEqual(v.blocked, false);
    assert.match(v.lines[2], /^master\/00000000-.*: learner 3, added, never started/);
  });

  it('the evidence waits the whole health check only while a quorum of the masters may run etcd', () => {
    assert.strictEqual(healthWaitSeconds(3, 1), 1);
    assert.strictEqual(healthWaitSeconds(3, 2), 4);
    assert.strictEqual(healthWaitSeconds(5, 2), 1);
    assert.strictEqual(healthWaitSeconds(5, 3), 4);
  });
});
