// Unit tier: the restore from a snapshot's pre-checks (src/disaster/restoreChecks.ts), its commands
// and plan (restoreCommands.ts, restorePlan.ts) and the `bosh-etcd restore` arguments.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseEtcdVersion } from '../../src/etcd/version';
import { verifySnapshot } from '../../src/snapshots';
import {
  bumpSupported,
  initialCluster,
  installRestored,
  parseRestoreState,
  remoteSnapshotPath,
  restoreMember,
  uploadSnapshot,
} from '../../src/disaster/restoreCommands';
import {
  checkRestore,
  confirmationText,
  parseMasterFacts,
  snapshotRefusal,
  type MasterFacts,
  type SnapshotFacts,
} from '../../src/disaster/restoreChecks';
import { formatRestorePlan, restorePlan } from '../../src/disaster/restorePlan';
import { parseRestoreArgs } from '../../src/cli/restore';
import { EXIT, main } from '../../src/cli';

const IDS = [
  'aaaaaaaa-0000-4000-8000-000000000000',
  'bbbbbbbb-1111-4000-8000-000000000001',
  'cccccccc-2222-4000-8000-000000000002',
];
const peer = (i: number) => `https://master-${i}.etcd.cfcr.internal:2380`;
const PEERS = IDS.map((id, i) => `${id}=${peer(i)}`).join(',');
const SHA = 'ab'.repeat(32);
const TS = '20261201T074400Z';

function probeOut(i: number, o: { version?: string; etcdutl?: boolean; peers?: string; state?: string } = {}): string {
  return [
    '### version',
    `etcd Version: ${o.version ?? '3.5.16'}`,
    '### etcdutl',
    o.etcdutl === false ? '' : 'present',
    '### peers',
    peer(i),
    o.peers ?? PEERS,
    '### state',
    o.state ?? '',
  ].join('\n');
}

const facts = (o: Parameters<typeof probeOut>[1] = {}, only?: number): MasterFacts[] =>
  IDS.map((id, i) =>
    parseMasterFacts({ label: `master/${id}`, id, index: i }, probeOut(i, only === undefined || only === i ? o : {})),
  );

const SNAP: SnapshotFacts = {
  file: '/snaps/d-20261201T070000Z-rev42.db',
  source: 'workstation',
  sha256: SHA,
  size: 24608,
  revision: '42',
  totalKeys: 17,
  hash: '1a2b3c4d',
  takenAt: '2026-12-01T07:00:00.000Z',
  etcdVersion: '3.5.16',
  deployment: 'd',
};

describe('restore from a snapshot: pre-checks', () => {
  it('reads a master probe: version, etcdutl, own peer URL, the job peer list, an unfinished-restore record', () => {
    const f = parseMasterFacts(
      { label: `master/${IDS[1]}`, id: IDS[1], index: 1 },
      probeOut(1, { state: `ts=${TS} sha256=${SHA} phase=restored` }),
    );
    assert.strictEqual(f.version?.text, '3.5.16');
    assert.strictEqual(f.etcdutl, true);
    assert.strictEqual(f.peerAddress, peer(1));
    assert.strictEqual(f.peers, PEERS);
    assert.deepStrictEqual(f.state, { ts: TS, sha256: SHA, phase: 'restored' });
    assert.strictEqual(parseRestoreState('garbage'), null);
  });

  it('passes a consistent cluster: members in the job order, etcdutl, the bump offered and explained on 3.5.16', () => {
    const c = checkRestore('d', SNAP, facts());
    assert.deepStrictEqual(c.refusals, []);
    assert.deepStrictEqual(
      c.members,
      IDS.map((id, i) => ({ id, peerUrl: peer(i) })),
    );
    assert.strictEqual(c.tool, 'etcdutl');
    assert.strictEqual(c.bumpOffered, true);
    assert.ok(c.notes.some((n) => /Kubernetes watchers/.test(n) && /--bump-revision/.test(n)));
    assert.strictEqual(c.resumeTs, undefined);
  });

  it('refuses a snapshot of another etcd version than the cluster, saying which and what to do', () => {
    const c = checkRestore('d', { ...SNAP, etcdVersion: '3.4.23' }, facts());
    assert.strictEqual(c.refusals.length, 1);
    assert.match(c.refusals[0].message, /taken from etcd 3\.4\.23 but the cluster runs etcd 3\.5\.16/);
    assert.match(c.refusals[0].message, /Nothing was stopped or changed/);
    assert.match(c.refusals[0].advice, /taken from etcd 3\.5/);
  });

  it('refuses masters that disagree on the peer list or on the etcd version, and an unreadable version', () => {
    const other = PEERS.replace('master-2', 'master-9');
    assert.ok(checkRestore('d', SNAP, facts({ peers: other }, 2)).refusals.some((r) => r.code === 'peer-url-mismatch'));
    assert.ok(
      checkRestore('d', SNAP, facts({ version: '3.5.15' }, 0)).refusals.some((r) => r.code === 'members-disagree'),
    );
    const unread = checkRestore('d', SNAP, facts({ version: 'garbage' }, 1));
    assert.ok(unread.refusals.some((r) => r.code === 'observation-failed' && r.message.includes(IDS[1])));
    assert.ok(checkRestore('d', SNAP, []).refusals.some((r) => r.code === 'target-unknown'));
  });

  it('refuses a master without room on /var/vcap/store for the snapshot, the restored database and its WAL', () => {
    const tight = facts().map((f, i) => ({ ...f, freeKb: i === 2 ? 60 * 1024 : 10 * 1024 * 1024 }));
    const c = checkRestore('d', { ...SNAP, size: 20 * 1024 * 1024 }, tight);
    assert.deepStrictEqual(
      c.refusals.map((r) => r.code),
      ['disk-space'],
    );
    assert.match(c.refusals[0].message, new RegExp(`${IDS[2]} has 60 MiB free .* needs about 104 MiB`));
    assert.deepStrictEqual(
      checkRestore('d', { ...SNAP, size: 20 * 1024 * 1024 }, facts()).refusals,
      [],
      'unknown space is not refused',
    );
  });

  it('refuses --bump-revision where etcdutl or etcd 3.5.10 is missing; the thresholds', () => {
    const bump = { bump: { revision: 1000, markCompacted: true } };
    assert.strictEqual(
      checkRestore('d', SNAP, facts({ etcdutl: false }, 0)).tool,
      'etcdctl',
      'etcdutl only when every master has it',
    );
    assert.deepStrictEqual(checkRestore('d', SNAP, facts(), bump).refusals, []);
    assert.ok(
      checkRestore('d', SNAP, facts({ etcdutl: false }, 1), bump).refusals.some((r) =>
        /without etcdutl/.test(r.message),
      ),
    );
    const v = (t: string) => parseEtcdVersion(t);
    assert.strictEqual(bumpSupported(v('3.5.9'), 'etcdutl'), false);
    assert.strictEqual(bumpSupported(v('3.5.10'), 'etcdutl'), true);
    assert.strictEqual(bumpSupported(v('3.6.0'), 'etcdutl'), true);
    assert.strictEqual(bumpSupported(v('3.5.16'), 'etcdctl'), false);
  });

  it('resumes an unfinished restore of the same snapshot (its timestamp, the masters already done)', () => {
    const c = checkRestore('d', SNAP, facts({ state: `ts=${TS} sha256=${SHA} phase=restored` }, 0));
    assert.strictEqual(c.resumeTs, TS);
    assert.deepStrictEqual(c.alreadyRestored, [`master/${IDS[0]}`]);
    const other = checkRestore('d', SNAP, facts({ state: `ts=${TS} sha256=${'cd'.repeat(32)} phase=restored` }, 0));
    assert.strictEqual(other.resumeTs, undefined);
    assert.ok(other.notes.some((n) => /another snapshot/.test(n)));
  });

  it('refuses a truncated snapshot file with the reason, before anything', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-unit-'));
    const f = path.join(dir, 'x.db');
    fs.writeFileSync(f, Buffer.alloc(3 * 4096 + 32 - 100));
    const r = snapshotRefusal(await verifySnapshot(f));
    assert.ok(r);
    assert.strictEqual(r.code, 'invalid-input');
    assert.match(r.message, /truncated/);
    assert.match(r.message, /Nothing was stopped or changed/);
    fs.rmSync(dir, { recursive: true });
  });

  it('the confirmation names the revision and time and says later writes are lost', () => {
    const t = confirmationText('d', SNAP, ['master/a', 'master/b', 'master/c']).join('\n');
    assert.match(t, /revision 42/);
    assert.match(t, /2026-12-01T07:00:00.000Z/);
    assert.match(t, /after revision 42.*is LOST/);
  });
});

describe('restore from a snapshot: commands and plan', () => {
  const masters = IDS.map((id, i) => ({ label: `master/${id}`, member: { id, peerUrl: peer(i) } }));

  it('restores each master with its own name and peer URL, the whole cluster, the job token, into a fresh dir', () => {
    const c = restoreMember(
      remoteSnapshotPath(SHA),
      masters[1].member,
      masters.map((m) => m.member),
      TS,
      'etcdutl',
    );
    assert.strictEqual(
      c.command,
      `rm -rf /var/vcap/store/etcd.restore-${TS} && /var/vcap/packages/etcd/bin/etcdutl snapshot restore /var/vcap/store/etcd-snapshots/restore-${SHA.slice(0, 16)}.db --name ${IDS[1]} --initial-cluster ${PEERS} --initial-cluster-token etcd-cluster --initial-advertise-peer-urls ${peer(1)} --data-dir /var/vcap/store/etcd.restore-${TS}`,
    );
    const bumped = restoreMember('/s.db', masters[0].member, [masters[0].member], TS, 'etcdutl', {
      revision: 1000,
      markCompacted: true,
    });
    assert.match(bumped.command, / --bump-revision 1000 --mark-compacted$/);
    assert.throws(
      () => restoreMember('/s.db', masters[0].member, [], TS, 'etcdctl', { revision: 5, markCompacted: false }),
      /etcdutl/,
    );
    assert.throws(() => initialCluster([{ id: 'x;rm -rf /', peerUrl: peer(0) }]), /metacharacters/);
    assert.throws(() => uploadSnapshot('/tmp/$(reboot)'), /not an absolute path/);
  });

  it('installs the restored member only with etcd stopped, gives it to vcap and records it', () => {
    const c = installRestored(TS, SHA).command;
    assert.match(c, /^for f in .*exit 3; fi; done; set -e;/);
    assert.match(c, new RegExp(`mv /var/vcap/store/etcd.restore-${TS}/member /var/vcap/store/etcd/member`));
    assert.match(c, /chown -R vcap:vcap \/var\/vcap\/store\/etcd; chmod 0700/);
    assert.match(c, new RegExp(`echo 'ts=${TS} sha256=${SHA} phase=restored' > /var/vcap/store/etcd-restore.state$`));
  });

  it('plans every step in order with every command on every master; a path on the VMs is not uploaded', () => {
    const plan = restorePlan({ masters, sha256: SHA, ts: TS, tool: 'etcdutl' });
    assert.deepStrictEqual(
      plan.map((s) => s.id),
      ['precheck', 'upload', 'stop-clients', 'stop-etcd', 'restore', 'start-etcd', 'verify', 'start-clients', 'finish'],
    );
    const step = (id: string) => plan.find((s) => s.id === id)!.commands;
    for (const m of masters) {
      const on = (id: string) =>
        step(id)
          .filter((c) => c.host === m.label)
          .map((c) => c.command);
      assert.match(on('upload')[0], /^sha256sum /);
      // hashed as it arrives: what the VM received, without a second read
      assert.match(
        on('upload')[1],
        /sum=\$\(bash -c '.*pipefail; tee .*\.partial \| sha256sum'\) && mv -f .*\.partial/,
      );
      assert.match(on('upload')[2], /etcdutl snapshot status .* -w table$/);
      assert.deepStrictEqual(on('stop-clients'), ['monit stop kube-apiserver', 'monit stop flanneld']);
      assert.deepStrictEqual(on('stop-etcd'), ['monit stop etcd']);
      assert.strictEqual(on('restore').length, 3);
      assert.match(on('restore')[0], new RegExp(`--name ${m.member.id} `));
      assert.match(on('restore')[1], new RegExp(`mv -t /var/vcap/store/etcd.bak-${TS}`));
      assert.deepStrictEqual(on('start-etcd'), ['monit start etcd']);
      assert.deepStrictEqual(on('start-clients'), ['monit start kube-apiserver', 'monit start flanneld']);
    }
    // stop before restore before start, on every master
    const all = plan.flatMap((s) => s.commands.map((c) => c.command));
    assert.ok(all.lastIndexOf('monit stop etcd') < all.findIndex((c) => c.includes('snapshot restore')));
    assert.ok(
      all.findIndex((c) => c === 'monit start etcd') >
        all.map((c, i) => (c.includes('phase=restored') ? i : -1)).reduce((a, b) => Math.max(a, b)),
      'every master is restored before etcd starts anywhere',
    );
    const onVms = restorePlan({ masters, sha256: SHA, ts: TS, tool: 'etcdctl', pathOnVms: '/var/vcap/store/x.db' });
    assert.ok(onVms.find((s) => s.id === 'upload')!.commands.every((c) => !c.mutates));
    assert.ok(
      onVms
        .find((s) => s.id === 'restore')!
        .commands[0].command.includes('etcdctl snapshot restore /var/vcap/store/x.db'),
    );
    const text = formatRestorePlan(plan).join('\n');
    assert.match(text, /^1\. Pre-checks/);
    assert.match(text, new RegExp(`\\[master/${IDS[2]}\\] \\$ monit start etcd`));
  });
});

describe('bosh-etcd restore: arguments', () => {
  it('parses the options and refuses bad combinations', () => {
    const a = parseRestoreArgs([
      '--deployment',
      'd',
      '--snapshot=/s.db',
      '--confirm-deployment',
      'd',
      '--yes',
      '--bump-revision',
      '1000',
      '--mark-compacted',
    ]);
    assert.deepStrictEqual(
      [a.deployment, a.snapshot, a.confirmDeployment, a.yes, a.bumpRevision, a.markCompacted],
      ['d', '/s.db', 'd', true, 1000, true],
    );
    assert.throws(() => parseRestoreArgs(['-d', 'd']), /exactly one of --snapshot/);
    assert.deepStrictEqual(parseRestoreArgs(['--snapshot-on-vm', 'master/u-1:/var/vcap/store/s.db']).snapshotOnVm, {
      vm: 'master/u-1',
      path: '/var/vcap/store/s.db',
    });
    assert.throws(() => parseRestoreArgs(['--snapshot-on-vm', 'relative.db']), /master\/UUID:\/absolute/);
    assert.throws(() => parseRestoreArgs(['--snapshot', 'a', '--snapshot-on-vms', '/b']), /exactly one/);
    assert.throws(() => parseRestoreArgs(['--snapshot', 'a', '--mark-compacted']), /goes with --bump-revision/);
    assert.throws(() => parseRestoreArgs(['--snapshot', 'a', '--bump-revision', '-3']), /needs a value|positive/);
  });

  it('without --confirm-deployment naming the deployment it exits 2 before connecting', async () => {
    let err = '';
    const io = {
      out: { write: () => true } as unknown as NodeJS.WritableStream,
      err: { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WritableStream,
      env: {},
      interactive: false,
      open: () => {
        throw new Error('must not connect');
      },
    };
    assert.strictEqual(
      await main(['restore', '-d', 'd', '--snapshot', '/s.db', '--yes', '--confirm-deployment', 'e'], io),
      EXIT.USAGE,
    );
    assert.match(err, /--confirm-deployment d/);
  });
});
