// Testbed tier: snapshots taken from the real etcd over the session's tunnels (src/snapshots),
// checked against the workstation's own `etcdctl snapshot status`, and the `bosh-etcd snapshot`
// commands with their exit codes, including an interrupted save and a 30 MB database.
import * as assert from 'assert';
import { execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { boshCliEnv } from './harness/env';
import { masters, readTestbedState, type TestbedState } from './harness/state';
import { breakInstance, etcdctlIn, heal } from './harness/index';
import { fillEtcd, FILL_PREFIX } from './harness/fill';
import { waitFor } from './harness/sh';
import { openDeploymentFromEnv } from '../../src/session/session';
import type { DeploymentSession } from '../../src/session/types';
import { listSnapshots, saveSnapshot, SnapshotError, verifySnapshot } from '../../src/snapshots';
import { metadataPathOf } from '../../src/snapshots/metadata';
import { CancelledError } from '../../src/util/cancel';
import { diagnose, observeDeployment } from '../../src/diagnosis';
import { EXIT, main } from '../../src/cli';

const ETCDCTL = '/usr/bin/etcdctl';

function etcdctlStatus(file: string): { hash: number; revision: number; totalKey: number; totalSize: number } {
  const out = execFileSync(ETCDCTL, ['snapshot', 'status', file, '-w', 'json'], {
    env: { ...process.env, ETCDCTL_API: '3' },
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

function sha256Of(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function cliEnv(state: TestbedState): NodeJS.ProcessEnv {
  return { ...boshCliEnv(state), BOSH_ETCD_KNOWN_HOSTS: state.staticSsh.knownHostsPath };
}

async function cli(state: TestbedState, args: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  const code = await main(args, { out, err, env: cliEnv(state), interactive: false });
  return { code, out: o, err: e };
}

describe('snapshots (testbed)', function () {
  this.timeout(300_000);
  let state: TestbedState;
  let session: DeploymentSession;
  let dir: string;

  before(() => {
    state = readTestbedState();
    session = openDeploymentFromEnv(boshCliEnv(state), { gatewayKnownHostsPath: state.staticSsh.knownHostsPath });
  });
  after(async () => {
    await session?.dispose();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapshots-tb-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('saves from a healthy follower: 0600 file and metadata, verified, and etcdctl snapshot status agrees', async () => {
    const cluster = await session.etcd();
    const putRevision = Number(await cluster.put('/snapshots-test/before', 'present'));
    const saved = await saveSnapshot(session, { dir });
    const m = saved.metadata;

    assert.strictEqual(path.dirname(saved.file), dir);
    assert.match(path.basename(saved.file), new RegExp(`^${state.deployment}-\\d{8}T\\d{6}Z-rev${m.revision}\\.db$`));
    assert.strictEqual(fs.statSync(saved.file).mode & 0o777, 0o600);
    assert.strictEqual(fs.statSync(saved.metadataFile).mode & 0o777, 0o600);
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(saved.metadataFile, 'utf8')), m);
    assert.strictEqual(saved.metadataFile, metadataPathOf(saved.file));
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), [path.basename(saved.file), path.basename(saved.metadataFile)]);

    assert.strictEqual(m.clusterId, await cluster.clusterId());
    assert.strictEqual(m.deployment, state.deployment);
    assert.strictEqual(m.environment, session.env.name);
    const statuses = await cluster.status();
    const leader = statuses.find((s) => s.ok)!;
    assert.ok(leader.ok);
    assert.notStrictEqual(m.member.id, leader.value.leader, 'a follower, not the leader');
    const vm = masters(state).find((v) => v.id === m.member.name);
    assert.ok(vm, `member name ${m.member.name} is a master's instance id`);
    assert.strictEqual(m.member.endpoint, vm.etcdClientUrl);
    const own = statuses.find((s) => s.endpoint === m.member.endpoint);
    assert.ok(own?.ok && own.value.memberId === m.member.id);
    assert.strictEqual(m.etcdVersion, own.value.version);
    assert.strictEqual(m.size, fs.statSync(saved.file).size);
    assert.strictEqual(m.sha256, sha256Of(saved.file));
    assert.ok(Number(m.revision) >= putRevision, `revision ${m.revision} holds the put at ${putRevision}`);
    assert.ok(Number(m.statusRevisionBefore) <= Number(m.revision));
    assert.ok(Number(m.revision) <= Number(m.statusRevisionAfter));

    const v = await verifySnapshot(saved.file);
    assert.ok(v.ok, JSON.stringify(v));
    assert.strictEqual(v.metadata?.sha256, m.sha256);
    const ctl = etcdctlStatus(saved.file);
    assert.strictEqual(String(ctl.revision), m.revision);
    assert.strictEqual(String(ctl.revision), v.status.revision);
    assert.strictEqual(ctl.totalKey, m.totalKeys);
    assert.strictEqual(ctl.totalKey, v.status.totalKeys);
    assert.strictEqual(ctl.hash, m.hash);
    assert.strictEqual(ctl.hash, v.status.hash);
    assert.strictEqual(ctl.totalSize, m.size - 32);

    // the diagnosis reports it as the deployment's newest snapshot, young: info
    const d = diagnose(await observeDeployment(session, { probeVms: false, snapshotDir: dir }));
    const age = d.findings.find((f) => f.kind === 'snapshot-age');
    assert.ok(age, d.findings.map((f) => f.title).join('; '));
    assert.strictEqual(age.severity, 'info');
    assert.match(age.title, /^newest snapshot \d+ min old$/);
    assert.ok(age.evidence.includes(`${path.basename(saved.file)} in ${dir}`), age.evidence);
    assert.ok(age.evidence.includes(`of cluster ${m.clusterId}`), age.evidence);
  });

  it('takes it from the member asked for, and refuses a member that is not in the deployment', async () => {
    const vm = masters(state)[0];
    const saved = await saveSnapshot(session, { dir, member: `master/${vm.id}` });
    assert.strictEqual(saved.metadata.member.name, vm.id);
    await assert.rejects(
      saveSnapshot(session, { dir, member: 'master/00000000-0000-0000-0000-000000000000' }),
      (e: unknown) => e instanceof SnapshotError && e.kind === 'config' && /No etcd member/.test(e.message),
    );
    assert.strictEqual(fs.readdirSync(dir).length, 2, 'only the first snapshot and its metadata');
  });

  it('a save aborted mid-stream throws CancelledError and leaves no file', async () => {
    const ac = new AbortController();
    let chunks = 0;
    await assert.rejects(
      saveSnapshot(session, {
        dir,
        signal: ac.signal,
        onProgress: () => {
          chunks++;
          ac.abort();
        },
      }),
      (e: unknown) => e instanceof CancelledError,
    );
    assert.ok(chunks >= 1, 'the stream had started');
    assert.deepStrictEqual(fs.readdirSync(dir), []);
  });

  it('CLI: a stopped member asked for is refused (3), an unknown one is a configuration error (6)', async () => {
    const vm = masters(state)[1];
    await breakInstance(`master/${vm.id}`, 'stop');
    try {
      const r = await cli(state, ['snapshot', 'save', '--dir', dir, '--member', `master/${vm.id}`]);
      assert.strictEqual(r.code, EXIT.REFUSED, r.err);
      assert.match(r.err, new RegExp(`Member master/${vm.id} cannot be snapshotted`));
      assert.match(r.err, /what to do:/);
    } finally {
      await heal(`master/${vm.id}`);
    }
    const u = await cli(state, ['snapshot', 'save', '--dir', dir, '--member', 'master/nope']);
    assert.strictEqual(u.code, EXIT.CONFIG, u.err);
    assert.deepStrictEqual(fs.readdirSync(dir), []);
  });

  describe('with 30 MB of data', () => {
    before(async function () {
      this.timeout(600_000);
      await fillEtcd(state, 30);
    });
    after(async function () {
      this.timeout(120_000);
      await etcdctlIn(masters(state)[0], `del --prefix ${FILL_PREFIX}`, { timeoutMs: 60_000 });
    });

    it('streams: the saving process grows far less than the file and holds few bytes in flight', () => {
      const child = path.join(__dirname, 'snapshot-memory-child.js');
      const r = JSON.parse(
        execFileSync(process.execPath, ['--expose-gc', child, dir], { encoding: 'utf8', timeout: 240_000 }),
      ) as {
        file: string;
        size: number;
        rssBefore: number;
        peakRss: number;
        maxInFlight: number;
      };
      const growth = r.peakRss - r.rssBefore;
      const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
      console.log(
        `      snapshot ${mb(r.size)} MB: RSS ${mb(r.rssBefore)} → peak ${mb(r.peakRss)} MB (growth ${mb(growth)} MB), max in flight ${(r.maxInFlight / 1024).toFixed(0)} kB`,
      );
      assert.ok(r.size > 30 * 1024 * 1024, `the snapshot holds the fill (${r.size} bytes)`);
      assert.ok(growth < r.size / 2, `RSS grew ${growth} bytes for a ${r.size}-byte snapshot`);
      assert.ok(r.maxInFlight < 2 * 1024 * 1024, `at most ${r.maxInFlight} bytes received but not yet written`);
    });

    it('CLI: Ctrl-C during save exits 5 and leaves no file; save, list and verify exit 0', async () => {
      const child = spawn(
        process.execPath,
        [path.join(__dirname, '../../src/cli.js'), 'snapshot', 'save', '--dir', dir],
        { env: { ...process.env, ...cliEnv(state) }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      let done = false;
      void exited.then(() => (done = true));
      await waitFor(
        'the partial snapshot file',
        120_000,
        async () => done || fs.readdirSync(dir).some((n) => n.endsWith('.partial')),
        10,
      );
      assert.ok(!done, `the save ended before it could be interrupted: ${stderr}`);
      child.kill('SIGINT');
      assert.strictEqual(await exited, EXIT.CANCELLED, stderr);
      assert.match(stderr, /CANCELLED/);
      assert.deepStrictEqual(fs.readdirSync(dir), [], 'no partial and no complete-looking file');

      const s = await cli(state, ['snapshot', 'save', '--dir', dir]);
      assert.strictEqual(s.code, EXIT.OK, s.err);
      const [entry] = await listSnapshots(dir);
      assert.ok(entry && entry.size > 30 * 1024 * 1024);
      assert.match(s.out, new RegExp(`Saved ${entry.file}`));

      const l = await cli(state, ['snapshot', 'list', '--dir', dir, '--deployment', state.deployment]);
      assert.strictEqual(l.code, EXIT.OK, l.err);
      assert.match(
        l.out,
        new RegExp(`${entry.name}\\s+${state.deployment}\\s+\\d+s\\s+[\\d.]+ MiB\\s+${entry.revision}\\s+\\S+\\s+ok`),
      );

      const v = await cli(state, ['snapshot', 'verify', entry.file]);
      assert.strictEqual(v.code, EXIT.OK, v.err);
      assert.match(v.out, new RegExp(`revision ${entry.revision}, ${etcdctlStatus(entry.file).totalKey} total keys`));

      const copy = path.join(dir, 'cut.db');
      fs.copyFileSync(entry.file, copy);
      fs.truncateSync(copy, entry.size - 4096);
      const bad = await cli(state, ['snapshot', 'verify', copy]);
      assert.strictEqual(bad.code, EXIT.FAILED);
      assert.match(bad.err, /REFUSED .*cut\.db: the sha256 etcd appended/);
    });
  });
});
