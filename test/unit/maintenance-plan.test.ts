// Planning of the maintenance flows (src/maintenance/plan.ts) from synthetic observations: the
// order (followers first, the leader last), the refusals, the thresholds, the commands.
import * as assert from 'assert';
import {
  defragConsequences,
  fragmentationOf,
  planDefrag,
  planNospace,
  quotaOf,
  worthDefragmenting,
  type MaintenanceMember,
  type MaintenanceObservation,
} from '../../src/maintenance';
import { parseProbe, probeVm } from '../../src/maintenance/commands';

const MB = 1024 * 1024;

function member(index: number, o: Partial<MaintenanceMember> = {}): MaintenanceMember {
  return {
    label: `master/uuid-${index}`,
    instanceId: `uuid-${index}`,
    index,
    endpointUrl: `https://master-${index}.etcd.cfcr.internal:2379`,
    memberId: `a${index}`,
    healthy: true,
    isLeader: false,
    isLearner: false,
    dbSize: 100 * MB,
    dbSizeInUse: 40 * MB,
    raftIndex: '100',
    vm: { reachable: true, recoveryInProgress: false, quotaBackendBytes: null },
    ...o,
  };
}

function obs(members: MaintenanceMember[], o: Partial<MaintenanceObservation> = {}): MaintenanceObservation {
  return { at: '', deployment: 'service-instance_x', members, alarms: [], learners: [], errors: [], ...o };
}

describe('maintenance planning (src/maintenance/plan.ts)', () => {
  it('orders followers by index first and the leader last, whatever its index', () => {
    const p = planDefrag(obs([member(0, { isLeader: true }), member(2), member(1)]));
    assert.deepStrictEqual(
      p.members.map((m) => m.label),
      ['master/uuid-1', 'master/uuid-2', 'master/uuid-0'],
    );
    assert.strictEqual(p.members[2].isLeader, true);
    assert.deepStrictEqual(p.refusals, []);
    assert.strictEqual(p.pauseMs, 5000);
  });

  it("builds each member's defrag command for that VM's own endpoint only (LOCAL=true), never the whole cluster", () => {
    const p = planDefrag(obs([member(0, { isLeader: true }), member(1)]));
    for (const m of p.members) {
      assert.match(
        m.command.command,
        /^LOCAL=true ETCDCTL_API=3 \/var\/vcap\/jobs\/etcd\/bin\/etcdctl --command-timeout=\d+s defrag$/,
      );
      assert.strictEqual(m.command.host, m.label);
      assert.strictEqual(m.command.mutates, true);
    }
  });

  it('refuses when a member is unhealthy, naming it and what to do', () => {
    const p = planDefrag(
      obs([member(0, { isLeader: true }), member(1, { healthy: false, problem: 'connection refused' }), member(2)]),
    );
    assert.strictEqual(p.refusals.length, 1);
    assert.strictEqual(p.refusals[0].code, 'member-unhealthy');
    assert.match(p.refusals[0].message, /master\/uuid-1.*connection refused/);
    assert.match(p.refusals[0].advice, /bosh-etcd recover --deployment service-instance_x --instance master\/uuid-1/);
  });

  it('refuses with a learner catching up, a recovery in progress, or an alarm other than NOSPACE', () => {
    const learner = planDefrag(obs([member(0, { isLeader: true }), member(1)], { learners: ['uuid-1'] }));
    assert.deepStrictEqual(
      learner.refusals.map((r) => r.code),
      ['learner'],
    );
    const recovering = planDefrag(
      obs([
        member(0, { isLeader: true }),
        member(1, { vm: { reachable: true, recoveryInProgress: true, quotaBackendBytes: null } }),
      ]),
    );
    assert.deepStrictEqual(
      recovering.refusals.map((r) => r.code),
      ['recovery-in-progress'],
    );
    assert.match(recovering.refusals[0].message, /etcd-recovery\.state/);
    const corrupt = planDefrag(
      obs([member(0, { isLeader: true })], { alarms: [{ memberId: 'a0', label: 'master/uuid-0', alarm: 'CORRUPT' }] }),
    );
    assert.deepStrictEqual(
      corrupt.refusals.map((r) => r.code),
      ['corrupt'],
    );
    const nospace = planDefrag(
      obs([member(0, { isLeader: true })], { alarms: [{ memberId: 'a0', label: 'master/uuid-0', alarm: 'Nospace' }] }),
    );
    assert.deepStrictEqual(nospace.refusals, []);
  });

  it('skips members below the thresholds (a resumed run) unless forced', () => {
    const done = member(1, { dbSize: 40 * MB, dbSizeInUse: 39.9 * MB });
    const p = planDefrag(obs([member(0, { isLeader: true }), done, member(2)]));
    assert.deepStrictEqual(
      p.members.map((m) => [m.label, m.skip]),
      [
        ['master/uuid-1', true],
        ['master/uuid-2', false],
        ['master/uuid-0', false],
      ],
    );
    assert.match(p.members[0].skipReason!, /below the thresholds/);
    assert.ok(planDefrag(obs([done]), { force: true }).members.every((m) => !m.skip));
    assert.deepStrictEqual(fragmentationOf(member(0)), {
      dbSize: 100 * MB,
      dbSizeInUse: 40 * MB,
      reclaimableBytes: 60 * MB,
      percent: 60,
    });
    assert.strictEqual(worthDefragmenting(fragmentationOf(member(0)), { minReclaimableBytes: 100 * MB }), false);
    assert.strictEqual(worthDefragmenting(fragmentationOf(member(0)), { minFragmentedPercent: 45 }), true);
  });

  it('names the consequence of each defragmentation for the confirmation', () => {
    const c = defragConsequences(planDefrag(obs([member(0, { isLeader: true }), member(1)])));
    assert.deepStrictEqual(c, [
      'master/uuid-1 will not answer reads or writes while it is defragmented, about 3 s for 100.0 MiB',
      'master/uuid-0 will not answer reads or writes while it is defragmented, about 3 s for 100.0 MiB',
    ]);
  });

  describe('NOSPACE', () => {
    const nospace = [{ memberId: 'a0', label: 'master/uuid-0', alarm: 'NOSPACE' }];

    it('plans compaction, every member (leader last), disarm and a test write under the dedicated prefix', () => {
      const p = planNospace(obs([member(0, { isLeader: true }), member(1), member(2)], { alarms: nospace }), {
        revision: '4711',
        stamp: 's1',
      });
      assert.deepStrictEqual(p.refusals, []);
      assert.match(p.compact!.command, / compaction 4711 --physical$/);
      assert.deepStrictEqual(
        p.defrag.members.map((m) => m.label),
        ['master/uuid-1', 'master/uuid-2', 'master/uuid-0'],
      );
      assert.ok(p.defrag.members.every((m) => !m.skip));
      assert.match(p.disarm!.command, / alarm disarm$/);
      assert.deepStrictEqual(
        p.writeTest.map((c) => c.command.replace(/^.*etcdctl /, '')),
        ['put /bosh-etcd-doctor/write-test/s1 ok', 'del /bosh-etcd-doctor/write-test/s1'],
      );
    });

    it('never disarms CORRUPT: refuses and points to member replacement', () => {
      const p = planNospace(
        obs([member(0, { isLeader: true }), member(1)], {
          alarms: [...nospace, { memberId: 'a1', label: 'master/uuid-1', alarm: 'CORRUPT' }],
        }),
      );
      assert.deepStrictEqual(
        p.refusals.map((r) => r.code),
        ['corrupt'],
      );
      assert.match(p.refusals[0].message, /never disarms CORRUPT/);
      assert.match(p.refusals[0].advice, /bosh-etcd recover --deployment service-instance_x --instance master\/uuid-1/);
    });

    it('refuses with a member down: replace it first', () => {
      const p = planNospace(
        obs([member(0, { isLeader: true }), member(1, { healthy: false, problem: 'no status' })], { alarms: nospace }),
      );
      assert.deepStrictEqual(
        p.refusals.map((r) => r.code),
        ['member-unhealthy'],
      );
      assert.match(p.refusals[0].advice, /Replace or restart that member first/);
    });

    it('refuses without a NOSPACE alarm (nothing to recover) and points to defrag', () => {
      const p = planNospace(obs([member(0, { isLeader: true })]));
      assert.deepStrictEqual(
        p.refusals.map((r) => r.code),
        ['no-nospace-alarm'],
      );
      assert.match(p.refusals[0].advice, /bosh-etcd defrag/);
    });

    it("reads the quota from the job's configuration, etcd's 2 GiB default when none is set", () => {
      assert.deepStrictEqual(quotaOf(obs([member(0)])).bytes, 2 * 1024 * MB);
      const q = quotaOf(
        obs([member(0, { vm: { reachable: true, recoveryInProgress: false, quotaBackendBytes: 8 * MB } })]),
      );
      assert.strictEqual(q.bytes, 8 * MB);
    });
  });

  it('parses the VM probe', () => {
    assert.match(probeVm(), /etcd-recovery\.state/);
    assert.deepStrictEqual(parseProbe('### state\npresent\n### quota\n--quota-backend-bytes=25165824\n'), {
      recoveryInProgress: true,
      quotaBackendBytes: 25165824,
    });
    assert.deepStrictEqual(parseProbe('### state\n### quota\n'), {
      recoveryInProgress: false,
      quotaBackendBytes: null,
    });
  });
});
