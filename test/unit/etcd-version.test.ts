// etcd 3.5 output captured from Debian 13's etcdctl 3.5.16 against the testbed (auth on), and
// what the product decides per version (src/etcd/version.ts), beside the 3.4 captures.
import * as assert from 'assert';
import { parseEndpointHealth, parseEndpointStatus, parseEtcdctlError, parseMemberList } from '../../src/etcd/parsers';
import {
  compareEtcdVersions,
  etcdAtLeast,
  etcdFeatures,
  lowestEtcdVersion,
  parseEtcdVersion,
  snapshotStatusTool,
} from '../../src/etcd/version';
import { probeVm, snapshotStatus } from '../../src/recovery/commands';
import { parseProbe } from '../../src/recovery/observe';
import { fixture } from './fixture-path';

const f35 = (n: string) => fixture('etcdctl-3.5', n);
const f34 = (n: string) => fixture('etcdctl-3.4', n);

describe('etcd versions (src/etcd/version.ts)', () => {
  it('reads the version from the server status, etcd --version and etcdctl version', () => {
    assert.deepStrictEqual(parseEtcdVersion('3.5.16'), { major: 3, minor: 5, patch: 16, text: '3.5.16' });
    assert.strictEqual(parseEtcdVersion('v3.4.23')?.text, '3.4.23');
    assert.strictEqual(parseEtcdVersion(f35('version.txt'))?.text, '3.5.16');
    assert.strictEqual(parseEtcdVersion(f34('version.txt'))?.text, '3.4.23');
    assert.strictEqual(parseEtcdVersion('etcd Version: 3.3.17\nGit SHA: x')?.text, '3.3.17');
    assert.strictEqual(parseEtcdVersion(parseEndpointStatus(f35('endpoint-status.json'))[0].version)?.text, '3.5.16');
    assert.strictEqual(parseEtcdVersion(''), undefined);
    assert.strictEqual(parseEtcdVersion('not a version'), undefined);
  });

  it('compares versions numerically and finds the lowest among the members', () => {
    const v = (s: string) => parseEtcdVersion(s)!;
    assert.ok(compareEtcdVersions(v('3.10.0'), v('3.9.9')) > 0);
    assert.ok(compareEtcdVersions(v('3.4.23'), v('3.5.0')) < 0);
    assert.strictEqual(compareEtcdVersions(v('3.5.6'), v('3.5.6')), 0);
    assert.strictEqual(lowestEtcdVersion(['3.5.16', undefined, '3.4.23', 'x'])?.text, '3.4.23');
    assert.ok(etcdAtLeast('3.5.0', 3, 5) && etcdAtLeast('4.0.0', 3, 5) && !etcdAtLeast('3.4.23', 3, 5));
    assert.strictEqual(etcdAtLeast(undefined, 3, 4), false);
  });

  it('knows what each version offers (3.3 / 3.4 / 3.5)', () => {
    assert.deepStrictEqual(etcdFeatures('3.3.17'), {
      learners: false,
      etcdutl: false,
      etcdctlSnapshotStatusDeprecated: false,
      authStatus: false,
      healthCountsAlarms: false,
      memberListHex: false,
    });
    assert.strictEqual(etcdFeatures('3.4.23').learners, true);
    assert.strictEqual(etcdFeatures('3.4.23').etcdutl, false);
    assert.deepStrictEqual(Object.values(etcdFeatures('3.5.16')), [true, true, true, true, true, true]);
  });

  it('uses etcdutl for snapshot status only on 3.5 where the VM has it, else etcdctl', () => {
    assert.strictEqual(snapshotStatusTool('3.5.16', true), 'etcdutl');
    assert.strictEqual(snapshotStatusTool('3.5.16', false), 'etcdctl');
    assert.strictEqual(snapshotStatusTool('3.4.23', true), 'etcdctl');
    assert.strictEqual(snapshotStatusTool(undefined, true), 'etcdctl');
    const ts = '20260101T000000Z';
    assert.match(snapshotStatus(ts).command, /^ETCDCTL_API=3 \/var\/vcap\/jobs\/etcd\/bin\/etcdctl snapshot status /);
    assert.match(snapshotStatus(ts, 'etcdutl').command, /^\/var\/vcap\/packages\/etcd\/bin\/etcdutl snapshot status /);
    // both print the same table, whose row the recovery checks
    for (const out of [
      f35('snapshot-status-table.txt'),
      f35('etcdutl-snapshot-status-table.txt'),
      f34('snapshot-status-table.txt'),
    ])
      assert.ok(
        out.split('\n').some((l) => /^\|\s*[0-9a-f]+\s*\|\s*\d+\s*\|\s*\d+\s*\|/.test(l)),
        out,
      );
    assert.match(f35('snapshot-status-table.stderr.txt'), /Deprecated: Use `etcdutl snapshot status` instead/);
  });

  it("the recovery's VM probe tells whether the VM's etcd package ships etcdutl", () => {
    assert.match(
      probeVm().command,
      /echo '### etcdutl'; test -x \/var\/vcap\/packages\/etcd\/bin\/etcdutl && echo present/,
    );
    assert.strictEqual(parseProbe('m', '### pid\nalive\n### etcdutl\npresent\n').etcdutl, true);
    assert.strictEqual(parseProbe('m', '### pid\nalive\n### etcdutl\n').etcdutl, false);
  });
});

describe('etcdctl 3.5 output (src/etcd/parsers.ts)', () => {
  const ids = ['7cd8646a9ddeabe', '17f206fd866fdab2', 'b56f3bdcde826086'];

  it('reads member list in the simple, table, JSON and --hex JSON forms to the same members', () => {
    const forms = ['member-list.txt', 'member-list-table.txt', 'member-list.json', 'member-list-hex.json'].map((n) =>
      parseMemberList(f35(n)),
    );
    for (const list of forms) {
      assert.deepStrictEqual(
        list.map((m) => m.id),
        ids,
      );
      assert.deepStrictEqual(list[1].clientURLs, ['https://master-0.etcd.cfcr.internal:2379']);
      assert.deepStrictEqual(list[1].peerURLs, ['https://master-0.etcd.cfcr.internal:2380']);
      assert.ok(list.every((m) => m.status === 'started' && !m.isLearner && m.name.length === 36));
    }
    // 3.4 ignores --hex and prints decimal ids: still read right
    assert.ok(parseMemberList(f34('member-list-hex.json')).some((m) => m.id === 'b56f3bdcde826086'));
  });

  it('reads endpoint status (simple, table, JSON) and endpoint health', () => {
    for (const n of ['endpoint-status.txt', 'endpoint-status-table.txt', 'endpoint-status.json']) {
      const st = parseEndpointStatus(f35(n));
      assert.deepStrictEqual(
        st.map((s) => s.memberId),
        ['17f206fd866fdab2', 'b56f3bdcde826086', '7cd8646a9ddeabe'],
      );
      assert.ok(
        st.every((s) => s.version === '3.5.16' && s.leader === '7cd8646a9ddeabe' && s.raftAppliedIndex === '39'),
      );
    }
    for (const n of ['endpoint-health.txt', 'endpoint-health.json', 'endpoint-health-table.txt']) {
      const h = parseEndpointHealth(f35(n));
      assert.strictEqual(h.length, 3);
      assert.ok(h.every((x) => x.healthy && x.tookMs > 0));
    }
  });

  it('classifies the refusals of a non-root certificate with authentication on (3.4 and 3.5)', () => {
    for (const [text, grpc] of [
      [f35('hashkv-nonroot.stderr.txt'), 'Unknown'],
      [f35('snapshot-save-nonroot.stderr.txt'), 'Unknown'],
      [f34('hashkv-nonroot.stderr.txt'), 'Unknown'],
      [f34('snapshot-save-nonroot.stderr.txt'), 'Unknown'],
    ]) {
      assert.deepStrictEqual(parseEtcdctlError(text), {
        message: 'rpc error: code = Unknown desc = auth: permission denied',
        reason: 'permission-denied',
        grpcCode: grpc,
      });
    }
    assert.strictEqual(parseEtcdctlError(f35('member-add-nonroot.stderr.txt')).reason, 'permission-denied');
    assert.strictEqual(
      parseEtcdctlError(f35('auth-status-nonroot.stderr.txt')).message,
      'etcdserver: permission denied',
    );
  });
});
