// The classifier on synthetic observations: one case per finding kind, and the positive-evidence
// rule (no "member-down" for an endpoint that only fails to answer from here).
import * as assert from 'assert';
import type { EtcdMember } from '../../src/etcd/types';
import {
  causeFromLog,
  diagnose,
  exitCodeFor,
  memberStateWord,
  parseVmProbe,
  recoverableInstances,
  worstFindingForInstance,
  type Diagnosis,
  type FindingKind,
} from '../../src/diagnosis';
import {
  CLUSTER,
  IDS,
  MEMBER_IDS,
  MONIT_OK,
  downFromHere,
  endpoint,
  instance,
  member,
  observation,
  peer,
  probe,
  probeText,
  url,
} from './observation-fixtures';

const kinds = (d: Diagnosis) => d.findings.map((f) => f.kind);
function only(d: Diagnosis, kind: FindingKind) {
  const fs = d.findings.filter((f) => f.kind === kind);
  assert.strictEqual(fs.length, 1, `one ${kind} expected; got ${JSON.stringify(kinds(d))}`);
  return fs[0];
}

describe('diagnosis classify', () => {
  it('healthy: a single info finding, exit code 0, every member "healthy"', () => {
    const d = diagnose(observation());
    assert.deepStrictEqual(kinds(d), ['healthy']);
    assert.strictEqual(d.summary.worst, 'ok');
    assert.strictEqual(d.summary.line, 'etcd 3/3 healthy');
    assert.strictEqual(exitCodeFor(d.summary), 0);
    assert.strictEqual(memberStateWord(d.findings, IDS[1]), 'healthy');
    assert.strictEqual(worstFindingForInstance(d.findings, IDS[1]), undefined);
  });

  describe('member-down, cause from the VM', () => {
    const cases: [string, Parameters<typeof probeText>[0], string, string][] = [
      [
        'self-add refused (unhealthy cluster)',
        {
          monit: MONIT_OK.replace('running', 'Execution failed'),
          member: false,
          pid: '',
          health: false,
          log: ['Error: etcdserver: unhealthy cluster'],
        },
        'unhealthy-cluster',
        'recover-member',
      ],
      [
        'data corruption panic',
        {
          monit: MONIT_OK.replace('running', 'Does not exist'),
          pid: '',
          health: false,
          // etcd 3.4's own words after the testbed's corrupt fault, stack trace included
          log: [
            '2026-12-01 03:46:32.759369 C | mvcc/backend: cannot open database at /var/vcap/store/etcd/member/snap/db (invalid database)',
            'panic: cannot open database at /var/vcap/store/etcd/member/snap/db (invalid database)',
            '',
            'goroutine 1 [running]:',
            'github.com/coreos/pkg/capnslog.(*PackageLogger).Panicf(0xc0000491d0?, {0x103bf9c?, 0x180?}, {0xc000121aa0?, 0x4f8267?})',
            '\t/go/pkg/mod/github.com/coreos/pkg@v0.0.0/capnslog/pkg_logger.go:75 +0xb5',
          ],
        },
        'data-corruption',
        'recover-member',
      ],
      [
        'member count is unequal',
        {
          monit: MONIT_OK.replace('running', 'Does not exist'),
          pid: '',
          health: false,
          log: ['etcdmain: error validating peerURLs {...}: member count is unequal'],
        },
        'member-count-unequal',
        'recover-member',
      ],
      [
        'permanently removed',
        {
          monit: MONIT_OK.replace('running', 'Does not exist'),
          pid: '',
          health: false,
          log: ['etcdserver: the member has been permanently removed from the cluster'],
        },
        'member-removed',
        'recover-member',
      ],
      [
        'TLS',
        {
          monit: MONIT_OK.replace('running', 'Does not exist'),
          pid: '',
          health: false,
          log: ['rafthttp: x509: certificate has expired or is not yet valid'],
        },
        'tls',
        'none',
      ],
      [
        'disk full',
        {
          monit: MONIT_OK.replace('running', 'Does not exist'),
          pid: '',
          health: false,
          log: ['write /var/vcap/store/etcd/member/wal/0.tmp: no space left on device'],
        },
        'disk-full',
        'bosh',
      ],
      [
        'stopped by monit',
        { monit: MONIT_OK.replace('running', 'not monitored'), pid: '', health: false },
        'stopped',
        'bosh',
      ],
      ['runs but does not answer', { health: false }, 'unresponsive', 'bosh'],
      [
        'data directory empty',
        { monit: MONIT_OK.replace('running', 'Execution failed'), member: false, pid: '', health: false },
        'data-missing',
        'recover-member',
      ],
    ];
    for (const [name, p, cause, flow] of cases) {
      it(`${name} → ${cause}, ${flow}`, () => {
        const d = diagnose(downFromHere(1, probe(1, p)));
        const f = only(d, 'member-down');
        assert.strictEqual(f.severity, 'critical');
        assert.strictEqual(f.cause, cause);
        if (p?.log) assert.match(f.evidence, /etcd\.stderr\.log: "(?!github|\t)/, 'the reason line, not a stack frame');
        assert.strictEqual(f.action.flow, flow);
        assert.strictEqual(f.instance?.label, `master/${IDS[1]}`);
        assert.strictEqual(f.instance?.index, 1);
        assert.deepStrictEqual(f.member, { id: MEMBER_IDS[1], name: IDS[1] });
        assert.strictEqual(d.summary.worst, 'critical');
        assert.strictEqual(exitCodeFor(d.summary), 8);
        assert.strictEqual(memberStateWord(d.findings, IDS[1]), 'down');
        assert.ok(!kinds(d).includes('quorum-lost'));
      });
    }

    it('VM down: from the Director (unresponsive agent), bosh cloud-check', () => {
      const o = downFromHere(1, parseVmProbe('x', ''), {});
      o.probes[IDS[1]] = { ...o.probes[IDS[1]], reachable: false, error: 'could not connect' };
      o.masters[1] = o.instances[1] = instance(1, { processState: 'unresponsive agent' });
      const f = only(diagnose(o), 'member-down');
      assert.strictEqual(f.cause, 'vm-down');
      assert.strictEqual(f.action.flow, 'bosh');
      assert.match(f.action.command!, /^bosh -d dep cloud-check$/);
    });

    for (const [vmState, verb] of [
      ['detached', 'start'],
      ['missing', 'recreate'],
    ] as const) {
      it(`no VM (${vmState}): instance-no-vm, critical, action bosh ${verb} — never the recovery wizard`, () => {
        const o = downFromHere(1, { ...probe(1), reachable: false, error: 'master has no IP address (no VM)' });
        o.masters[1] = o.instances[1] = instance(1, {
          vmState,
          state: vmState === 'detached' ? 'detached' : 'started',
          processState: null,
          ips: [],
          vmCid: null,
          processes: [],
        });
        const d = diagnose(o);
        const f = only(d, 'instance-no-vm');
        assert.strictEqual(f.severity, 'critical');
        assert.strictEqual(f.action.flow, 'bosh');
        assert.strictEqual(f.action.command, `bosh -d dep ${verb} master/${IDS[1]}`);
        assert.ok(!kinds(d).includes('member-down'), 'one finding about the instance, not two');
        assert.strictEqual(memberStateWord(d.findings, IDS[1]), 'no vm');
        assert.deepStrictEqual(recoverableInstances(d.findings), [], 'not offered for replacement');
        assert.strictEqual(d.summary.healthyMembers, 2);
      });
    }

    it('an error of an earlier run (before etcd served again) is not the cause', () => {
      assert.strictEqual(
        causeFromLog([
          'Error: etcdserver: unhealthy cluster',
          'etcdserver: published {Name:x} to cluster y',
          'embed: ready to serve client requests',
        ]),
        null,
      );
      assert.strictEqual(
        causeFromLog(['embed: ready to serve client requests', 'Error: etcdserver: unhealthy cluster'])?.cause,
        'unhealthy-cluster',
      );
    });
  });

  it('positive evidence only: not answering from here without SSH is member-unknown (warning), never member-down', () => {
    const d = diagnose(downFromHere(1, undefined, { probed: false, unchecked: ['the VMs were not probed'] }));
    const f = only(d, 'member-unknown');
    assert.strictEqual(f.severity, 'warning');
    assert.strictEqual(f.action.flow, 'none');
    assert.ok(!kinds(d).includes('member-down'));
    assert.deepStrictEqual(recoverableInstances(d.findings), []);
    assert.strictEqual(memberStateWord(d.findings, IDS[1]), 'unknown');
    assert.strictEqual(only(d, 'not-checked').severity, 'info');
    assert.strictEqual(exitCodeFor(d.summary), 7);
  });

  it('unreachable-from-here: the VM says healthy → warning, action none, never recovery', () => {
    const d = diagnose(downFromHere(2, probe(2)));
    const f = only(d, 'unreachable-from-here');
    assert.strictEqual(f.severity, 'warning');
    assert.strictEqual(f.action.flow, 'none');
    assert.ok(!kinds(d).includes('member-down'));
    assert.strictEqual(memberStateWord(d.findings, IDS[2]), 'unreachable');
    assert.deepStrictEqual(recoverableInstances(d.findings), []);
  });

  it('split-brain: another cluster id on the bootstrap instance → critical, recover-member of the minority', () => {
    const o = observation();
    o.endpoints[0] = endpoint(0, {
      clusterId: 'dddd',
      leader: MEMBER_IDS[0],
      members: { ok: true, value: [member(0, { id: 'ff' })] },
    });
    o.endpoints[1] = endpoint(1, { leader: MEMBER_IDS[1] });
    o.endpoints[2] = endpoint(2, { leader: MEMBER_IDS[1] });
    const d = diagnose(o);
    const f = d.findings.find((x) => x.kind === 'split-brain')!;
    assert.strictEqual(f.severity, 'critical');
    assert.strictEqual(f.instance?.id, IDS[0]);
    assert.strictEqual(f.action.flow, 'recover-member');
    assert.match(f.evidence, /bootstrap/);
    assert.strictEqual(d.findings[0].kind, 'split-brain');
    assert.match(d.summary.line, /^critical: SPLIT BRAIN/);
    assert.deepStrictEqual(
      recoverableInstances(d.findings).map((i) => i.id),
      [IDS[0]],
    );
    assert.strictEqual(memberStateWord(d.findings, IDS[0]), 'split');
  });

  it('split-brain: two members each claim to lead one cluster', () => {
    const o = observation();
    o.endpoints[0] = endpoint(0, { leader: MEMBER_IDS[0] });
    o.endpoints[1] = endpoint(1, { leader: MEMBER_IDS[1] });
    const f = diagnose(o).findings.find((x) => x.kind === 'split-brain')!;
    assert.strictEqual(f.severity, 'critical');
    assert.strictEqual(f.action.flow, 'none');
  });

  it('quorum-lost: two of three stopped with their data (VM evidence) → critical, bring them back (no restore)', () => {
    const o = downFromHere(
      1,
      probe(1, { monit: MONIT_OK.replace('running', 'not monitored'), pid: '', health: false }),
    );
    o.endpoints[2] = endpoint(2, { down: 'UNAVAILABLE' });
    o.probes[IDS[2]] = probe(2, { monit: MONIT_OK.replace('running', 'not monitored'), pid: '', health: false });
    o.endpoints[0] = endpoint(0, { leader: '0' });
    const d = diagnose(o);
    const f = only(d, 'quorum-lost');
    assert.strictEqual(f.severity, 'critical');
    assert.strictEqual(f.action.flow, 'none');
    assert.match(f.action.text, /Bring back the down members whose data is kept/);
    // each stopped member is started again: its own bosh command
    const down = d.findings.filter((x) => x.kind === 'member-down');
    assert.deepStrictEqual(
      down.map((x) => [x.instance?.id, x.cause, x.action.flow]),
      [
        [IDS[1], 'stopped', 'bosh'],
        [IDS[2], 'stopped', 'bosh'],
      ],
    );
  });

  it('quorum-lost: two of three wiped (quorum-loss) → restore-quorum, named; no member finding proposes recover', () => {
    const wiped = { monit: MONIT_OK.replace('running', 'not monitored'), pid: '', health: false, member: false };
    const o = downFromHere(1, probe(1, wiped));
    o.endpoints[2] = endpoint(2, { down: 'UNAVAILABLE' });
    o.probes[IDS[2]] = probe(2, wiped);
    o.endpoints[0] = endpoint(0, { leader: '0' });
    const d = diagnose(o);
    const f = only(d, 'quorum-lost');
    assert.strictEqual(f.severity, 'critical');
    assert.strictEqual(f.action.flow, 'restore-quorum');
    assert.strictEqual(f.action.command, 'bosh-etcd restore-quorum --deployment dep');
    assert.match(f.action.text, /Restore etcd Quorum…, or bosh-etcd restore-quorum/);
    assert.strictEqual(d.findings[0], f, 'the cluster-wide state leads');
    assert.match(d.summary.line, /^critical: QUORUM LOST/);
    assert.match(f.action.text, /master\/0 \(aaaaaaaa\)/, 'the survivor is named');
    assert.doesNotMatch(f.action.text, /Bring back/);
    const down = d.findings.filter((x) => x.kind === 'member-down');
    assert.deepStrictEqual(
      down.map((x) => [x.instance?.id, x.cause, x.action.flow, x.action.command]),
      [
        [IDS[1], 'data-missing', 'restore-quorum', 'bosh-etcd restore-quorum --deployment dep'],
        [IDS[2], 'data-missing', 'restore-quorum', 'bosh-etcd restore-quorum --deployment dep'],
      ],
    );
    assert.ok(!d.findings.some((x) => /bosh-etcd recover /.test(x.action.text)), 'no finding proposes recover');
    assert.ok(!d.findings.some((x) => x.action.flow === 'recover-member'));
    assert.deepStrictEqual(recoverableInstances(d.findings), [], 'the recovery wizard preselects nothing');
    assert.strictEqual(exitCodeFor(d.summary), 8);
  });

  it('quorum-lost: one wiped and one stopped of three → bring the stopped one back, then replace the wiped one', () => {
    const o = downFromHere(
      1,
      probe(1, { monit: MONIT_OK.replace('running', 'not monitored'), pid: '', health: false, member: false }),
    );
    o.endpoints[2] = endpoint(2, { down: 'UNAVAILABLE' });
    o.probes[IDS[2]] = probe(2, { monit: MONIT_OK.replace('running', 'not monitored'), pid: '', health: false });
    o.endpoints[0] = endpoint(0, { leader: '0' });
    const d = diagnose(o);
    const f = only(d, 'quorum-lost');
    assert.strictEqual(f.action.flow, 'none');
    assert.match(f.action.text, /replace master\/1 \(bbbbbbbb\) once quorum is back/);
    const wiped = d.findings.find((x) => x.kind === 'member-down' && x.instance?.id === IDS[1])!;
    assert.strictEqual(wiped.cause, 'data-missing');
    assert.strictEqual(wiped.action.flow, 'none');
    assert.match(wiped.action.text, /once quorum is back/);
    const stopped = d.findings.find((x) => x.kind === 'member-down' && x.instance?.id === IDS[2])!;
    assert.strictEqual(stopped.action.flow, 'bosh');
    assert.match(stopped.action.command ?? '', /monit start etcd/);
  });

  it('no-leader: the members answer status, report no leader and fail quorum reads (no member blamed)', () => {
    const o = observation();
    o.endpoints = [0, 1, 2].map((i) =>
      endpoint(i, {
        leader: '0',
        health: {
          endpoint: url(i),
          ok: true,
          tookMs: 3000,
          value: { endpoint: url(i), healthy: false, tookMs: 3000, error: 'context deadline exceeded' },
        },
      }),
    );
    const d = diagnose(o);
    const f = only(d, 'no-leader');
    assert.strictEqual(f.severity, 'critical');
    assert.strictEqual(f.action.flow, 'none', 'no evidence of lost data: not the quorum-restore flow');
    assert.ok(!kinds(d).includes('member-down'), JSON.stringify(kinds(d)));
    assert.strictEqual(d.findings[0].kind, 'no-leader');
  });

  const withMembers = (list: EtcdMember[]) => {
    const o = observation();
    for (const e of o.endpoints) e.members = { ok: true, value: list };
    return o;
  };

  it('member-unstarted: registered with no name', () => {
    const o = withMembers([
      member(0),
      member(1),
      member(2),
      { id: 'dd', name: '', peerURLs: [peer(2)], clientURLs: [], isLearner: false },
    ]);
    // master/2's own member is the unstarted one
    for (const e of o.endpoints)
      e.members = {
        ok: true,
        value: [member(0), member(1), { id: 'dd', name: '', peerURLs: [peer(2)], clientURLs: [], isLearner: false }],
      };
    const f = only(diagnose(o), 'member-unstarted');
    assert.strictEqual(f.severity, 'warning');
    assert.strictEqual(f.action.flow, 'recover-member');
    assert.strictEqual(f.instance?.id, IDS[2]);
  });

  it('orphan-member: no instance owns it', () => {
    const f = only(
      diagnose(
        withMembers([
          member(0),
          member(1),
          member(2),
          {
            id: 'ee',
            name: 'old-uuid',
            peerURLs: ['https://master-9.etcd.cfcr.internal:2380'],
            clientURLs: [],
            isLearner: false,
          },
        ]),
      ),
      'orphan-member',
    );
    assert.strictEqual(f.severity, 'warning');
    assert.deepStrictEqual(f.member, { id: 'ee', name: 'old-uuid' });
    assert.strictEqual(f.action.flow, 'none');
  });

  it('instance-without-member: a master no member belongs to', () => {
    const f = only(diagnose(withMembers([member(0), member(1)])), 'instance-without-member');
    assert.strictEqual(f.severity, 'critical');
    assert.strictEqual(f.instance?.id, IDS[2]);
    assert.strictEqual(f.action.flow, 'recover-member');
  });

  it("identity-mismatch: name not the instance UUID; peer URL not the job's", () => {
    const byName = diagnose(withMembers([member(0), member(1, { name: 'not-a-uuid' }), member(2)]));
    assert.strictEqual(only(byName, 'identity-mismatch').instance?.id, IDS[1]);
    const byPeer = diagnose(withMembers([member(0), member(1, { peerURLs: ['https://10.0.0.12:2380'] }), member(2)]));
    const f = only(byPeer, 'identity-mismatch');
    assert.strictEqual(f.severity, 'warning');
    assert.match(f.evidence, /10\.0\.0\.12/);
  });

  it('learner-not-promoted', () => {
    const f = only(
      diagnose(withMembers([member(0), member(1), member(2, { isLearner: true })])),
      'learner-not-promoted',
    );
    assert.strictEqual(f.severity, 'warning');
    assert.strictEqual(f.action.flow, 'recover-member');
  });

  it('alarm-nospace and alarm-corrupt', () => {
    const d = diagnose(
      observation({
        alarms: {
          ok: true,
          value: [
            { memberId: MEMBER_IDS[1], alarm: 'NOSPACE' },
            { memberId: MEMBER_IDS[2], alarm: 'CORRUPT' },
          ],
        },
      }),
    );
    const n = only(d, 'alarm-nospace');
    assert.strictEqual(n.severity, 'critical');
    assert.strictEqual(n.action.flow, 'recover-nospace');
    // the CLI's status names the tool's flow, not a bare disarm (which would let NOSPACE come back)
    assert.strictEqual(n.action.command, `bosh-etcd recover-nospace --deployment ${d.deployment}`);
    assert.match(n.action.text, /once the space is reclaimed/);
    const c = only(d, 'alarm-corrupt');
    assert.strictEqual(c.instance?.id, IDS[2]);
    assert.strictEqual(c.action.flow, 'recover-member');
  });

  it("db-near-quota: the job's quota from the VM; default 2 GiB when not probed", () => {
    const o = observation();
    o.probes = Object.fromEntries([0, 1, 2].map((i) => [IDS[i], probe(i, { quota: 16 * 1024 * 1024 })]));
    o.endpoints = [0, 1, 2].map((i) => {
      const e = endpoint(i);
      if (e.status?.ok) Object.assign(e.status.value, { dbSize: 14 * 1024 * 1024, dbSizeInUse: 14 * 1024 * 1024 });
      return e;
    });
    const d = diagnose(o);
    const fs = d.findings.filter((f) => f.kind === 'db-near-quota');
    assert.strictEqual(fs.length, 3);
    assert.strictEqual(fs[0].severity, 'warning');
    assert.strictEqual(fs[0].action.flow, 'none');
    assert.match(fs[0].evidence, /88 % of the quota 16\.0 MiB/);
    // under NOSPACE the size in use still counts the uncompacted history: the NOSPACE recovery comes first
    o.alarms = { ok: true, value: [{ memberId: MEMBER_IDS[1], alarm: 'NOSPACE' }] };
    const under = diagnose(o).findings.filter((f) => f.kind === 'db-near-quota');
    assert.strictEqual(under.length, 3);
    assert.match(under[0].action.text, /NOSPACE is active: recover from it first/);
    assert.doesNotMatch(under[0].action.text, /raise quota-backend-bytes/);
    assert.strictEqual(under[0].action.command, `bosh-etcd recover-nospace --deployment ${d.deployment}`);
    o.alarms = { ok: true, value: [] };
    // the same DB against the default quota is far from it
    o.probes = {};
    o.probed = false;
    assert.ok(!kinds(diagnose(o)).includes('db-near-quota'));
  });

  it('fragmentation (and near quota with mostly free pages: defrag)', () => {
    const o = observation();
    o.endpoints = [0, 1, 2].map((i) => {
      const e = endpoint(i);
      if (e.status?.ok) Object.assign(e.status.value, { dbSize: 1800 * 1024 * 1024, dbSizeInUse: 300 * 1024 * 1024 });
      return e;
    });
    const d = diagnose(o);
    const frag = d.findings.filter((f) => f.kind === 'fragmentation');
    assert.strictEqual(frag.length, 3);
    assert.strictEqual(frag[0].action.flow, 'defrag');
    assert.strictEqual(frag[0].action.command, `bosh-etcd defrag --deployment ${d.deployment}`);
    const near = d.findings.find((f) => f.kind === 'db-near-quota');
    assert.strictEqual(near?.action.flow, 'defrag');
    assert.strictEqual(near?.action.command, `bosh-etcd defrag --deployment ${d.deployment}`);
  });

  it('applied-index-lag', () => {
    const o = observation();
    const st = o.endpoints[2].status!;
    if (st.ok) Object.assign(st.value, { raftIndex: '20000', raftAppliedIndex: '9000' });
    const f = only(diagnose(o), 'applied-index-lag');
    assert.strictEqual(f.severity, 'warning');
    assert.strictEqual(f.instance?.id, IDS[2]);
  });

  it('hashkv-mismatch at the same revision: the minority member, recover-member', () => {
    const o = observation({ hashRevision: '42' });
    o.endpoints.forEach((e, i) => {
      e.hashKV = {
        ok: true,
        value: { memberId: MEMBER_IDS[i], revision: '42', compactRevision: '1', hash: i === 1 ? 7 : 9 },
      };
    });
    const f = only(diagnose(o), 'hashkv-mismatch');
    assert.strictEqual(f.severity, 'critical');
    assert.strictEqual(f.instance?.id, IDS[1]);
    assert.strictEqual(f.action.flow, 'recover-member');
  });

  it('no hashkv-mismatch when the hashes cover other compaction ranges (a compaction cache at that revision)', () => {
    // etcd 3.5.16 after `compact` at head: the member that compacted answers from its cache with the previous
    // compaction revision (-1); the others compute over (3, 3]. Other hashes there prove nothing.
    const o = observation({ hashRevision: '3' });
    o.endpoints.forEach((e, i) => {
      e.hashKV = {
        ok: true,
        value: { memberId: MEMBER_IDS[i], revision: '3', compactRevision: i === 0 ? '-1' : '3', hash: i === 0 ? 5 : 9 },
      };
    });
    const d = diagnose(o);
    assert.ok(!d.findings.some((f) => f.kind === 'hashkv-mismatch'), JSON.stringify(d.findings));
    const healthy = only(d, 'healthy');
    assert.ok(!/equal hashKV/.test(healthy.evidence), healthy.evidence);
    // the same hashes over the same range are a mismatch, and equal hashes are said to be equal
    o.endpoints[0].hashKV = {
      ok: true,
      value: { memberId: MEMBER_IDS[0], revision: '3', compactRevision: '3', hash: 5 },
    };
    assert.strictEqual(only(diagnose(o), 'hashkv-mismatch').instance?.id, IDS[0]);
    o.endpoints[0].hashKV = {
      ok: true,
      value: { memberId: MEMBER_IDS[0], revision: '3', compactRevision: '-1', hash: 9 },
    };
    assert.match(only(diagnose(o), 'healthy').evidence, /equal hashKV at revision 3/);
  });

  it('director-etcd-disagree: failing instance with a healthy member, and the reverse', () => {
    const o = observation();
    o.masters[1] = o.instances[1] = instance(1, {
      processState: 'failing',
      processes: [{ name: 'etcd', state: 'failing' }],
    });
    const f = only(diagnose(o), 'director-etcd-disagree');
    assert.strictEqual(f.severity, 'warning');
    assert.strictEqual(f.instance?.id, IDS[1]);
    assert.strictEqual(f.action.flow, 'none');
    const r = diagnose(downFromHere(2, probe(2, { health: false })));
    assert.strictEqual(only(r, 'director-etcd-disagree').instance?.id, IDS[2]);
    assert.strictEqual(only(r, 'member-down').cause, 'unresponsive');
  });

  it('member names that are not UUIDs and a master without an IP do not throw', () => {
    const o = observation();
    o.masters[2] = o.instances[2] = instance(2, { ips: [], vmCid: null, processState: null, processes: [] });
    o.endpoints = o.endpoints.slice(0, 2);
    delete o.probes[IDS[2]];
    for (const e of o.endpoints) e.members = { ok: true, value: [member(0, { name: 'etcd-0' }), member(1), member(2)] };
    const d = diagnose(o);
    assert.strictEqual(only(d, 'member-down').cause, 'vm-down');
    assert.ok(kinds(d).includes('identity-mismatch'));
  });

  it('probe parsing: a missing log file, the quota flag, free disk', () => {
    const p = parseVmProbe('master/x', probeText({ quota: 123456, freeKb: 2048 }));
    assert.strictEqual(p.logMissing, true);
    assert.deepStrictEqual(p.logTail, []);
    assert.strictEqual(p.quotaBytes, 123456);
    assert.strictEqual(p.storeFreeBytes, 2048 * 1024);
    assert.strictEqual(p.etcdPid, 4242);
    assert.strictEqual(p.localHealth?.healthy, true);
    assert.strictEqual(p.localStatus?.clusterId, CLUSTER);
    assert.strictEqual(p.monitEtcd?.state, 'running');
  });
});
