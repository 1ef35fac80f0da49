// The quorum-loss flow's pure parts: ranking of the survivors (no automatic choice on ties or
// ambiguity), the refusals (quorum still there, a majority with data, no survivor, unreadable
// survivor, a resumed run with another survivor), the order the others come back in, the commands,
// the run record, the etcd clients found in monit's summary, and the CLI's arguments.
import * as assert from 'assert';
import { rankSurvivors, parseStatusRead, describeEvidence, type MasterEvidence } from '../../src/disaster/evidence';
import { planQuorumRestore, rejoinOrder, formatQuorumPlan } from '../../src/disaster/quorumPlan';
import { parseRecord, writeRecord, forceNewClusterStart, forceNewClusterStop } from '../../src/disaster/quorumCommands';
import { etcdClientsIn, monitStopProcess } from '../../src/disaster/fleet';
import { parseRestoreQuorumArgs } from '../../src/cli/restoreQuorum';
import { main, EXIT, USAGE } from '../../src/cli';

const id = (i: number) => `0000000${i}-1111-2222-3333-444444444444`;
const lbl = (i: number) => `master/${id(i)}`;

function ev(i: number, o: Partial<MasterEvidence> = {}): MasterEvidence {
  return {
    label: lbl(i),
    index: i,
    bootstrap: i === 0,
    dataPresent: false,
    running: false,
    source: 'none',
    ...o,
  };
}

const data = (i: number, index: bigint, revision: bigint, o: Partial<MasterEvidence> = {}) =>
  ev(i, {
    dataPresent: true,
    source: 'offline-copy',
    raftTerm: 4n,
    raftIndex: index,
    revision,
    clusterId: 'c1',
    ...o,
  });

const NOW = new Date('2026-12-01T08:00:00Z');
const plan = (evidence: MasterEvidence[], survivor?: string, extra = {}) =>
  planQuorumRestore({ deployment: 'd', evidence, survivor, now: NOW, learners: true, ...extra });

describe('quorum restore: ranking of the survivors', () => {
  it('ranks the most advanced first and preselects it when it is ahead', () => {
    const r = rankSurvivors([ev(0), data(1, 90n, 40n), data(2, 120n, 55n)]);
    assert.deepStrictEqual(
      r.ranked.map((e) => e.label),
      [lbl(2), lbl(1)],
    );
    assert.strictEqual(r.preselected?.label, lbl(2));
  });

  it('does not preselect on a tie', () => {
    const r = rankSurvivors([data(1, 100n, 50n), data(2, 100n, 50n), ev(0)]);
    assert.strictEqual(r.preselected, undefined);
    assert.match(r.ambiguity!, /equally advanced/);
  });

  it('does not preselect when a master with data could not be read', () => {
    const r = rankSurvivors([data(1, 100n, 50n), ev(2, { dataPresent: true, note: 'copy failed' })]);
    assert.strictEqual(r.preselected, undefined);
    assert.match(r.ambiguity!, /could not be read: it might be more advanced/);
  });

  it('does not preselect survivors of different clusters', () => {
    const r = rankSurvivors([data(1, 100n, 50n), data(2, 3n, 1n, { clusterId: 'c2' })]);
    assert.strictEqual(r.preselected, undefined);
    assert.match(r.ambiguity!, /different clusters/);
  });

  it('says to restore from a snapshot when no master has data', () => {
    const r = rankSurvivors([ev(0), ev(1), ev(2)]);
    assert.strictEqual(r.preselected, undefined);
    assert.match(r.ambiguity!, /bosh-etcd restore/);
  });

  it('describes what is lost relative to the survivor', () => {
    const s = data(1, 100n, 50n);
    assert.match(describeEvidence(data(2, 110n, 58n), s), /8 revisions AHEAD of the survivor: they are lost/);
    assert.match(describeEvidence(data(2, 90n, 45n), s), /5 revisions behind/);
  });
});

describe('quorum restore: refusals and plan', () => {
  it('refuses while a member answers a linearizable health check, pointing to member replacement', () => {
    const p = plan([data(0, 10n, 5n, { running: true, healthy: true, source: 'own-status' }), ev(1), ev(2)], lbl(0));
    const q = p.refusals.find((r) => r.code === 'quorum');
    assert.ok(q, formatQuorumPlan(p));
    assert.match(q!.advice, /bosh-etcd recover/);
  });

  it('does not take a split-off one-member cluster (the bootstrap instance started without data) for quorum', () => {
    const split = data(0, 5n, 1n, {
      running: true,
      healthy: true,
      memberCount: 1,
      clusterId: 'c9',
      source: 'own-status',
    });
    const p = plan([split, ev(1), data(2, 120n, 55n)], lbl(2));
    assert.ok(!p.refusals.some((r) => r.code === 'quorum'), formatQuorumPlan(p));
    assert.ok(p.notes.some((n) => /split off/.test(n)));
    assert.strictEqual(p.ranking.preselected, undefined, 'two clusters: no automatic choice');
  });

  it('refuses while a majority still has readable data of the cluster (start them instead)', () => {
    const p = plan([data(0, 10n, 5n), data(1, 10n, 5n), ev(2)], lbl(0));
    assert.ok(
      p.refusals.some((r) => r.code === 'quorum' && /monit start etcd/.test(r.advice)),
      formatQuorumPlan(p),
    );
  });

  it('refuses without a survivor, naming the most advanced', () => {
    const p = plan([ev(0), ev(1), data(2, 10n, 5n)]);
    assert.strictEqual(p.survivor, null);
    assert.ok(p.refusals.some((r) => r.code === 'invalid-input' && r.advice.includes(`--survivor ${lbl(2)}`)));
  });

  it('refuses a survivor without readable data, and one that is not a master', () => {
    assert.ok(
      plan([ev(0), ev(1), data(2, 10n, 5n)], lbl(0)).refusals.some((r) => /no readable etcd data/.test(r.message)),
    );
    assert.ok(plan([ev(0), ev(1), data(2, 10n, 5n)], lbl(7)).refusals.some((r) => r.code === 'target-unknown'));
    assert.ok(plan([ev(0), ev(1), data(2, 10n, 5n)], 'master/x;rm').refusals.some((r) => r.code === 'invalid-input'));
  });

  it('refuses when a master cannot be reached (etcd must be stopped everywhere)', () => {
    const p = plan([ev(0, { note: 'unreachable: ssh timeout' }), ev(1), data(2, 10n, 5n)], lbl(2));
    assert.ok(p.refusals.some((r) => r.code === 'observation-failed'));
  });

  it('accepts a less advanced survivor chosen explicitly, saying what is lost', () => {
    // five masters, three of them wiped: the two with data are not a quorum
    const p = plan([ev(0), data(1, 90n, 40n), data(2, 120n, 55n), ev(3), ev(4)], lbl(1));
    assert.deepStrictEqual(p.refusals, [], formatQuorumPlan(p));
    assert.ok(p.notes.some((n) => n.includes(`${lbl(2)} is): what only`)));
  });

  it('plans the steps in order, the bootstrap instance last by the runbook as a learner', () => {
    const p = plan([ev(0), ev(1), data(2, 10n, 5n)], lbl(2));
    assert.deepStrictEqual(p.refusals, []);
    assert.deepStrictEqual(
      p.steps.map((s) => s.id),
      [
        'stop-clients',
        'stop-etcd',
        'copy-db',
        'move-aside',
        'force-new-cluster',
        'start-survivor',
        'rejoin',
        'start-clients',
        'verify',
      ],
    );
    assert.deepStrictEqual(
      p.rejoin.map((r) => [r.label, r.path]),
      [
        [lbl(1), 'self-add'],
        [lbl(0), 'runbook'],
      ],
    );
    const rejoin = p.steps.find((s) => s.id === 'rejoin')!.commands.map((c) => `${c.host} ${c.command}`);
    assert.ok(
      rejoin.some(
        (c) => c.startsWith(lbl(0)) && /member add \S+ --peer-urls \$\{etcd_peer_address\} --learner/.test(c),
      ),
    );
    // every other member's data moved aside under the run's timestamp, none on the survivor
    const moves = p.steps.find((s) => s.id === 'move-aside')!.commands;
    assert.deepStrictEqual(
      moves.map((c) => c.host),
      [lbl(0), lbl(1)],
    );
    assert.ok(moves.every((c) => c.command.includes('/var/vcap/store/etcd.bak-20261201T080000Z')));
    assert.ok(p.steps.every((s) => s.commands.every((c) => !/\brm -rf\b/.test(c.command))));
  });

  it('a survivor that is the bootstrap instance: every other master adds itself', () => {
    assert.deepStrictEqual(
      rejoinOrder([ev(2), ev(1)]).map((r) => r.path),
      ['self-add', 'self-add'],
    );
  });

  it('resumes with the recorded survivor and timestamp, and refuses another survivor', () => {
    const record = { ts: '20261130T100000Z', survivor: lbl(2), forced: true, finished: false };
    const healthy = data(2, 10n, 5n, { running: true, healthy: true });
    const p = plan([ev(0), ev(1), healthy], undefined, { record });
    assert.strictEqual(p.survivor, lbl(2));
    assert.strictEqual(p.ts, record.ts);
    assert.deepStrictEqual(p.refusals, [], 'a resumed run is not refused for the quorum its own survivor has');
    const other = plan([ev(0), ev(1), healthy], lbl(1), { record });
    assert.ok(other.refusals.some((r) => r.code === 'plan-changed' && r.advice.includes(lbl(2))));
  });
});

describe('quorum restore: commands and parsers', () => {
  it('records the run and reads it back; a finished or malformed record does not resume', () => {
    const w = writeRecord('20261201T080000Z', lbl(2)).command;
    const body = /printf %s '([^']*)'/.exec(w)![1];
    assert.deepStrictEqual(parseRecord(body + 'forced=yes\n'), {
      ts: '20261201T080000Z',
      survivor: lbl(2),
      forced: true,
      finished: false,
    });
    assert.strictEqual(parseRecord('ts=bad\nsurvivor=master/x\n'), null);
    assert.throws(() => writeRecord('20261201T080000Z', 'master/$(reboot)'));
  });

  it('runs the survivor with the job start script and ETCD_FORCE_NEW_CLUSTER, found again by its tag', () => {
    const start = forceNewClusterStart(id(2)).command;
    assert.match(
      start,
      /env ETCD_FORCE_NEW_CLUSTER=true BOSH_ETCD_FORCED_NEW_CLUSTER=\S+ \/var\/vcap\/jobs\/etcd\/bin\/etcd/,
    );
    assert.match(start, /etcd is running/, 'refuses while monit runs etcd');
    assert.match(forceNewClusterStop(id(2)).command, /BOSH_ETCD_FORCED_NEW_CLUSTER=00000002-/);
    assert.throws(() => forceNewClusterStart('x y'));
  });

  it('reads endpoint status and health of the own-status probe', () => {
    const out =
      '[{"Endpoint":"https://master-2.etcd.cfcr.internal:2379","Status":{"header":{"cluster_id":1378029307628846320,"member_id":562253166546905790,"revision":22,"raft_term":4},"version":"3.5.16","dbSize":24576,"raftIndex":65,"raftTerm":4,"raftAppliedIndex":65,"errors":["etcdserver: no leader"],"dbSizeInUse":24576}}]\n### health\nhttps://master-2.etcd.cfcr.internal:2379 is unhealthy: failed to commit proposal: context deadline exceeded\n';
    const r = parseStatusRead(out);
    assert.strictEqual(r.status?.revision, '22');
    assert.strictEqual(r.status?.raftIndex, '65');
    assert.strictEqual(r.status?.clusterId, '131fbe5aab4b7cf0');
    assert.strictEqual(r.healthy, false);
    assert.strictEqual(r.memberCount, undefined);
    const withMembers = parseStatusRead(
      out +
        '### members\n7cd8646a9ddeabe, started, c6f7, https://m-2:2380, https://m-2:2379, false\n90e8dae0e600a9c1, started, 077c, https://m-1:2380, https://m-1:2379, false\n',
    );
    assert.strictEqual(withMembers.memberCount, 2);
    assert.strictEqual(parseStatusRead(out.replace('is unhealthy: failed', 'is healthy: successfully')).healthy, true);
  });

  it('finds the etcd clients in monit summary (5.33 and 5.2.5)', () => {
    const s533 = `Monit 5.33.0 uptime: 16m
 Service Name                     Status                      Type
 vm                               OK                          System
 etcd                             OK                          Process
 kube-apiserver                   Not monitored               Process
`;
    assert.deepStrictEqual(
      etcdClientsIn(s533).map((x) => [x.name, x.status]),
      [['kube-apiserver', 'Not monitored']],
    );
    const s525 = `The Monit daemon 5.2.5 uptime: 3h 2m

Process 'etcd'                      running
Process 'kube-apiserver'            running
Process 'flanneld'                  running
System 'system_localhost'           running
`;
    assert.deepStrictEqual(
      etcdClientsIn(s525).map((x) => x.name),
      ['kube-apiserver', 'flanneld'],
    );
    assert.throws(() => monitStopProcess('sshd'), /not a process the disaster recovery stops/);
  });

  it('parses the CLI arguments', () => {
    assert.deepStrictEqual(parseRestoreQuorumArgs(['-d', 'D', '--survivor', lbl(1), '--dry-run', '--yes']), {
      deployment: 'D',
      survivor: lbl(1),
      dryRun: true,
      yes: true,
      breakLock: false,
    });
    assert.throws(() => parseRestoreQuorumArgs(['--survivor', 'nope']), /master\/<uuid>/);
    assert.throws(() => parseRestoreQuorumArgs(['--instance', 'x']), /unknown option/);
  });
});

describe('bosh-etcd restore-quorum: usage', () => {
  const sink = () => {
    let text = '';
    return {
      stream: {
        write: (s: string) => {
          text += s;
          return true;
        },
      } as unknown as NodeJS.WritableStream,
      text: () => text,
    };
  };
  const io = (err: ReturnType<typeof sink>) => ({
    out: sink().stream,
    err: err.stream,
    env: {},
    interactive: false,
    open: () => {
      throw new Error('must not connect');
    },
  });

  it('requires --survivor without a terminal (exit 2, nothing opened)', async () => {
    const err = sink();
    assert.strictEqual(await main(['restore-quorum', '--deployment', 'D', '--yes'], io(err)), EXIT.USAGE);
    assert.match(err.text(), /--survivor master\/<uuid> is required without a terminal/);
  });

  it('rejects a malformed --survivor before connecting (exit 2)', async () => {
    const err = sink();
    assert.strictEqual(await main(['restore-quorum', '-d', 'D', '--survivor', 'master/a;b'], io(err)), EXIT.USAGE);
    assert.match(err.text(), /not of the form master\/<uuid>/);
  });

  it('is listed in the usage', () => {
    assert.match(USAGE, /bosh-etcd restore-quorum --deployment D \[--survivor master\/UUID\]/);
  });
});
