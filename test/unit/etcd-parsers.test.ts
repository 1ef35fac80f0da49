import * as assert from 'assert';
import {
  ParseError,
  parseAlarmList,
  parseEndpointHealth,
  parseEndpointStatus,
  parseEndpointStatusFailures,
  parseEtcdctlError,
  parseGoDuration,
  parseHumanBytes,
  parseJsonHeader,
  parseMemberAdd,
  parseMemberList,
  parseMemberPromote,
  parseMemberRemove,
  parseSnapshotStatus,
} from '../../src/etcd/parsers';
import { fixture } from './fixture-path';

const f34 = (n: string) => fixture('etcdctl-3.4', n);
const f33 = (n: string) => fixture('etcdctl-3.3', n);

describe('etcdctl parsers (src/etcd/parsers.ts)', () => {
  describe('member list', () => {
    const expected3 = [
      {
        id: '15a71761333ad988',
        status: 'started',
        name: 'm1',
        peerURLs: ['http://127.0.4.2:2380'],
        clientURLs: ['http://127.0.4.2:2379'],
        isLearner: false,
      },
      {
        id: '6e6f447ccd1806f7',
        status: 'started',
        name: 'm0',
        peerURLs: ['http://127.0.4.1:2380'],
        clientURLs: ['http://127.0.4.1:2379'],
        isLearner: false,
      },
      {
        id: 'ff9cff6022f04755',
        status: 'started',
        name: 'm2',
        peerURLs: ['http://127.0.4.3:2380'],
        clientURLs: ['http://127.0.4.3:2379'],
        isLearner: false,
      },
    ];

    it('reads 3.4 plain, table and json output to the same members (json ids exact above 2^53)', () => {
      assert.deepStrictEqual(parseMemberList(f34('member-list.txt')), expected3);
      assert.deepStrictEqual(parseMemberList(f34('member-list-table.txt')), expected3);
      assert.deepStrictEqual(parseMemberList(f34('member-list.json')), expected3);
      assert.deepStrictEqual(parseJsonHeader(f34('member-list.json')), {
        clusterId: '75005ab792f74204',
        memberId: 'ff9cff6022f04755',
        raftTerm: '2',
      });
    });

    it('recognises an added-but-unstarted member with an empty name and no client URLs', () => {
      for (const text of [f34('member-list-unstarted.txt'), f34('member-list-unstarted-table.txt')]) {
        const ms = parseMemberList(text);
        assert.strictEqual(ms.length, 4);
        const u = ms.find((m) => m.id === '83c7a596b71cfe1d')!;
        assert.deepStrictEqual(u, {
          id: '83c7a596b71cfe1d',
          status: 'unstarted',
          name: '',
          peerURLs: ['http://127.0.4.4:2380'],
          clientURLs: [],
          isLearner: false,
        });
      }
    });

    it('recognises a learner in text, table and json', () => {
      for (const text of [
        f34('member-list-learner.txt'),
        f34('member-list-learner-table.txt'),
        f34('member-list-learner.json'),
      ]) {
        const l = parseMemberList(text).find((m) => m.id === '6639b096b9aeedf6');
        assert.ok(l, 'learner listed');
        assert.strictEqual(l.isLearner, true);
        assert.strictEqual(l.status, 'unstarted');
        assert.strictEqual(l.name, '');
      }
    });

    it('reads 3.3 five-field output (no IS LEARNER column), plain and table', () => {
      const plain = parseMemberList(f33('member-list.txt'));
      assert.deepStrictEqual(
        plain.map((m) => [m.id, m.name]),
        [
          ['18ac61d8503c2eb', '6f8b2e9c-3d4a-4b8e-9a1f-2c7d5e8f0a13'],
          ['8e9e05c52164694d', '0a7c5a2e-9b1d-4f3e-8c6a-5d2e1f0b9c84'],
          ['91bc3c398fb3c146', 'd3e4f5a6-b7c8-4d9e-8f01-23456789abcd'],
        ],
      );
      assert.ok(plain.every((m) => m.isLearner === false && m.status === 'started'));
      assert.deepStrictEqual(parseMemberList(f33('member-list-table.txt')), plain);
      const un = parseMemberList(f33('member-list-unstarted.txt'));
      assert.deepStrictEqual(un[2], {
        id: 'f3a1c2b4d5e6f708',
        status: 'unstarted',
        name: '',
        peerURLs: ['https://master-1.etcd.cfcr.internal:2380'],
        clientURLs: [],
        isLearner: false,
      });
    });

    it('keeps several client URLs of one member', () => {
      const [m] = parseMemberList(
        '9f650397a300a2f0, started, etcd2, http://192.168.2.52:2380, http://192.168.2.52:2379,http://192.168.2.52:4001, false\n',
      );
      assert.deepStrictEqual(m.clientURLs, ['http://192.168.2.52:2379', 'http://192.168.2.52:4001']);
    });

    it('throws a ParseError that quotes the offending line', () => {
      const bad =
        '15a71761333ad988, started, m1, http://127.0.4.2:2380, http://127.0.4.2:2379, false\nthis is not a member\n';
      assert.throws(
        () => parseMemberList(bad),
        (e: unknown) =>
          e instanceof ParseError &&
          e.line === 'this is not a member' &&
          e.lineNumber === 2 &&
          /this is not a member/.test(e.message),
      );
      assert.throws(() => parseMemberList('zz9cff6022f04755, started, m2, a, b, false'), /hex member id/);
      assert.throws(() => parseMemberList('ff9cff6022f04755, running, m2, a, b, false'), /Unknown member status/);
    });
  });

  describe('endpoint status', () => {
    it('reads the 3.4 ten-column table', () => {
      const rows = parseEndpointStatus(f34('endpoint-status-table.txt'));
      assert.strictEqual(rows.length, 3);
      assert.deepStrictEqual(rows[2], {
        endpoint: 'http://127.0.4.3:2379',
        memberId: 'ff9cff6022f04755',
        version: '3.4.23',
        dbSize: 20000,
        leader: 'ff9cff6022f04755',
        isLeader: true,
        isLearner: false,
        raftTerm: '2',
        raftIndex: '8',
        raftAppliedIndex: '8',
        errors: [],
      });
      assert.ok(
        rows.every((r) => r.leader === 'ff9cff6022f04755'),
        'leader id filled in from the IS LEADER row',
      );
      assert.strictEqual(rows[1].dbSize, 25000);
    });

    it('reads 3.4 plain text to the same rows as the table', () => {
      assert.deepStrictEqual(
        parseEndpointStatus(f34('endpoint-status.txt')),
        parseEndpointStatus(f34('endpoint-status-table.txt')),
      );
    });

    it('reads -w json exactly (sizes, in-use size, ids above 2^53, cluster id)', () => {
      const rows = parseEndpointStatus(f34('endpoint-status.json'));
      assert.deepStrictEqual(rows[0], {
        endpoint: 'http://127.0.4.1:2379',
        memberId: '6e6f447ccd1806f7',
        version: '3.4.23',
        dbSize: 20480,
        dbSizeInUse: 16384,
        leader: 'ff9cff6022f04755',
        isLeader: false,
        isLearner: false,
        raftTerm: '2',
        raftIndex: '8',
        raftAppliedIndex: '8',
        errors: [],
        clusterId: '75005ab792f74204',
        revision: '1',
      });
      assert.strictEqual(rows[2].isLeader, true);
      assert.strictEqual(rows[2].memberId, 'ff9cff6022f04755');
    });

    it("reads the runbook's 3.3 seven-column table and plain text (no learner/applied index/errors)", () => {
      for (const text of [f33('endpoint-status-table.txt'), f33('endpoint-status.txt')]) {
        const rows = parseEndpointStatus(text);
        assert.strictEqual(rows.length, 3);
        const leader = rows.find((r) => r.isLeader)!;
        assert.strictEqual(leader.memberId, '18ac61d8503c2eb');
        assert.strictEqual(leader.endpoint, 'https://master-1.etcd.cfcr.internal:2379');
        assert.deepStrictEqual(
          rows.map((r) => r.raftIndex),
          ['9847261', '9847261', '9847262'],
        );
        assert.ok(
          rows.every(
            (r) =>
              r.leader === '18ac61d8503c2eb' && r.version === '3.3.17' && r.raftTerm === '47' && r.dbSize === 7_600_000,
          ),
        );
        assert.ok(
          rows.every((r) => r.isLearner === undefined && r.raftAppliedIndex === undefined && r.errors.length === 0),
        );
      }
    });

    it('reads the NOSPACE alarm in the ERRORS column, also wrapped over two table lines', () => {
      const t = parseEndpointStatus(fixture('etcdctl-3.4', 'endpoint-status-nospace-table.txt'));
      assert.strictEqual(t.length, 1, 'the wrapped continuation line is not a row');
      assert.deepStrictEqual(t[0].errors, ['memberID:17254859148753933417 alarm:NOSPACE']);
      assert.strictEqual(t[0].dbSize, 205_000);
      const p = parseEndpointStatus(fixture('etcdctl-3.4', 'endpoint-status-nospace.txt'));
      assert.deepStrictEqual(p[0].errors, ['memberID:17254859148753933417 alarm:NOSPACE']);
    });

    it('a down endpoint has no row; its failure line is reported separately', () => {
      const rows = parseEndpointStatus(f34('endpoint-status-one-down-table.txt'));
      assert.deepStrictEqual(
        rows.map((r) => r.endpoint),
        ['http://127.0.4.2:2379', 'http://127.0.4.3:2379'],
      );
      assert.deepStrictEqual(parseEndpointStatusFailures(f34('endpoint-status-one-down-table.stderr.txt')), [
        { endpoint: 'http://127.0.4.1:2379', error: 'context deadline exceeded' },
      ]);
    });

    it('rejects rows that are neither 3.3 nor 3.4 and misaligned tables', () => {
      assert.throws(
        () => parseEndpointStatus('http://a:2379, ff9cff6022f04755, 3.4.23, 20 kB, true, 2, 8, 8'),
        (e: unknown) => e instanceof ParseError && /7 \(etcd 3.3\) or 10/.test(e.message) && e.lineNumber === 1,
      );
      assert.throws(
        () => parseEndpointStatus('http://a:2379, ff9cff6022f04755, 3.4.23, twenty, true, 2, 8'),
        /size like/,
      );
      const broken = f34('endpoint-status-table.txt').replace('| http://127.0.4.2:2379 |', '| http://127.0.4.2:2379  ');
      assert.throws(() => parseEndpointStatus(broken), /line up|Unexpected line/);
    });

    it('size and duration helpers', () => {
      assert.strictEqual(parseHumanBytes('20 kB'), 20000);
      assert.strictEqual(parseHumanBytes('1.2 GB'), 1_200_000_000);
      assert.strictEqual(parseHumanBytes('999 B'), 999);
      assert.throws(() => parseHumanBytes('12 parsecs'), ParseError);
      assert.strictEqual(parseGoDuration('2.952623ms'), 2.952623);
      assert.strictEqual(parseGoDuration('850µs'), 0.85);
      assert.strictEqual(parseGoDuration('1m2.5s'), 62_500);
      assert.throws(() => parseGoDuration('fast'), ParseError);
    });
  });

  describe('endpoint health', () => {
    it('reads healthy lines with their latency (text, table, json)', () => {
      const text = parseEndpointHealth(f34('endpoint-health.txt'));
      assert.deepStrictEqual(
        text.map((h) => [h.endpoint, h.healthy]),
        [
          ['http://127.0.4.2:2379', true],
          ['http://127.0.4.3:2379', true],
          ['http://127.0.4.1:2379', true],
        ],
      );
      assert.strictEqual(text[2].tookMs, 4.578116);
      const table = parseEndpointHealth(f34('endpoint-health-table.txt'));
      assert.deepStrictEqual(table[1], { endpoint: 'http://127.0.4.2:2379', healthy: true, tookMs: 2.24892 });
      const json = parseEndpointHealth(f34('endpoint-health.json'));
      assert.deepStrictEqual(json[0], { endpoint: 'http://127.0.4.1:2379', healthy: true, tookMs: 3.038605 });
    });

    it("reads an unhealthy endpoint among healthy ones, skipping etcdctl's log and Error lines", () => {
      const h = parseEndpointHealth(f34('endpoint-health-one-down.stderr.txt'));
      assert.strictEqual(h.length, 3);
      assert.deepStrictEqual(h[2], {
        endpoint: 'http://127.0.4.1:2379',
        healthy: false,
        tookMs: 0,
        error: 'failed to commit proposal: context deadline exceeded',
      });
      assert.ok(h[0].healthy && h[1].healthy);
    });

    it('quotes an unknown line', () => {
      assert.throws(
        () => parseEndpointHealth('https://x:2379 is maybe fine\n'),
        (e: unknown) => e instanceof ParseError && e.line === 'https://x:2379 is maybe fine',
      );
    });
  });

  describe('member add / remove / promote', () => {
    it('reads `member add` with its ETCD_* lines (3.4 capture)', () => {
      const r = parseMemberAdd(f34('member-add.txt'));
      assert.strictEqual(r.memberId, '83c7a596b71cfe1d');
      assert.strictEqual(r.clusterId, '75005ab792f74204');
      assert.strictEqual(r.name, 'm3');
      assert.deepStrictEqual(r.peerURLs, ['http://127.0.4.4:2380']);
      assert.strictEqual(r.initialClusterState, 'existing');
      assert.deepStrictEqual(r.initialCluster, [
        { name: 'm1', peerURL: 'http://127.0.4.2:2380' },
        { name: 'm0', peerURL: 'http://127.0.4.1:2380' },
        { name: 'm3', peerURL: 'http://127.0.4.4:2380' },
        { name: 'm2', peerURL: 'http://127.0.4.3:2380' },
      ]);
      assert.strictEqual(parseMemberAdd(f34('member-add-learner.txt')).memberId, '6639b096b9aeedf6');
    });

    it('reads ids shorter than 16 digits, which etcdctl pads with spaces (`%16x`, real capture)', () => {
      const r = parseMemberAdd(f34('member-add-short-id.txt'));
      assert.strictEqual(r.memberId, '9bff428bbfe3fd');
      assert.strictEqual(r.clusterId, '131fbe5aab4b7cf0');
      assert.deepStrictEqual(r.peerURLs, ['https://master-1.etcd.cfcr.internal:2380']);
      assert.deepStrictEqual(parseMemberRemove('Member   9bff428bbfe3fd removed from cluster 131fbe5aab4b7cf0\n'), {
        memberId: '9bff428bbfe3fd',
        clusterId: '131fbe5aab4b7cf0',
      });
    });

    it("reads the runbook's `member add` for a BOSH instance", () => {
      const r = parseMemberAdd(f33('member-add.txt'));
      assert.strictEqual(r.name, '6f8b2e9c-3d4a-4b8e-9a1f-2c7d5e8f0a13');
      assert.deepStrictEqual(r.peerURLs, ['https://master-1.etcd.cfcr.internal:2380']);
      assert.strictEqual(r.initialCluster.length, 3);
      assert.strictEqual(r.env.ETCD_INITIAL_CLUSTER_STATE, 'existing');
    });

    it("reads the runbook's `member remove` line and the 3.4 capture", () => {
      assert.deepStrictEqual(parseMemberRemove(f33('member-remove.txt')), {
        memberId: '18ac61d8503c2eb',
        clusterId: '6d938e3be5102340',
      });
      assert.deepStrictEqual(parseMemberRemove(f34('member-remove.txt')), {
        memberId: '83c7a596b71cfe1d',
        clusterId: '75005ab792f74204',
      });
      assert.deepStrictEqual(parseMemberPromote('Member 6639b096b9aeedf6 promoted in cluster 75005ab792f74204\n'), {
        memberId: '6639b096b9aeedf6',
        clusterId: '75005ab792f74204',
      });
    });

    it('refuses output that is not a successful change', () => {
      assert.throws(() => parseMemberRemove(''), /no "Member <id> removed from cluster <id>" line/);
      assert.throws(() => parseMemberAdd(f34('member-add-peer-exists.stderr.txt')), /no "Member <id> added/);
      assert.throws(
        () => parseMemberAdd('Member 1 added to cluster 2\nsomething odd\n'),
        (e: unknown) => e instanceof ParseError && e.line === 'something odd',
      );
    });
  });

  describe('snapshot status', () => {
    it('reads `snapshot status -w table` (real capture): hash, revision, keys, size', () => {
      assert.deepStrictEqual(parseSnapshotStatus(f34('snapshot-status-table.txt')), {
        hash: 'd1e2bdde',
        revision: '0',
        totalKeys: 5,
        totalSize: 20_000,
      });
      assert.throws(
        () => parseSnapshotStatus('Error: snapshot file has no data\n'),
        (e: unknown) => e instanceof ParseError && /border/.test(e.message),
      );
      const noRow = f34('snapshot-status-table.txt').split('\n').slice(0, 3).join('\n');
      assert.throws(() => parseSnapshotStatus(noRow), /0 rows/);
    });
  });

  describe('alarms and errors', () => {
    it('reads `alarm list` (decimal member id → hex), empty and json', () => {
      assert.deepStrictEqual(parseAlarmList(f34('alarm-list-nospace.txt')), [
        { memberId: 'ef7592f9c2e09469', alarm: 'NOSPACE' },
      ]);
      assert.deepStrictEqual(parseAlarmList(f34('alarm-list-nospace.json')), [
        { memberId: 'ef7592f9c2e09469', alarm: 'NOSPACE' },
      ]);
      assert.deepStrictEqual(parseAlarmList(f34('alarm-list-empty.txt')), []);
      assert.throws(() => parseAlarmList('memberID:abc alarm:NOSPACE'), ParseError);
    });

    it('classifies real etcdctl failures', () => {
      assert.deepStrictEqual(parseEtcdctlError(f34('member-remove-notfound.stderr.txt')), {
        message: 'etcdserver: member not found',
        reason: 'member-not-found',
        grpcCode: 'NotFound',
      });
      assert.deepStrictEqual(parseEtcdctlError(f34('member-add-peer-exists.stderr.txt')), {
        message: 'etcdserver: Peer URLs already exists',
        reason: 'peer-urls-exist',
        grpcCode: 'FailedPrecondition',
      });
      assert.strictEqual(parseEtcdctlError(f34('member-add-duplicate.stderr.txt')).reason, 'unhealthy-cluster');
      assert.strictEqual(parseEtcdctlError(f34('member-promote-notready.stderr.txt')).reason, 'learner-not-in-sync');
      assert.strictEqual(parseEtcdctlError(f34('endpoint-status-one-down-table.stderr.txt')).reason, 'unreachable');
      assert.strictEqual(parseEtcdctlError('Error: x509: certificate signed by unknown authority').reason, 'tls');
    });
  });
});
