// Restore every master from one snapshot (src/disaster/restore.ts), on a 3-master testbed of its own
// with the kube-apiserver stand-in writing to etcd: a truncated snapshot is refused before anything is
// stopped; the CLI's dry run prints every command and changes nothing; a good snapshot restores all
// three masters (a run cancelled after every master was restored, then run again, finishes): keys
// written before the snapshot are there, keys written after it are gone, one cluster id, every member
// healthy, the revision bumped, the old data kept, kube-apiserver stopped throughout and running again.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  boshCliEnv,
  down,
  etcdctlIn,
  etcdServerPid,
  masters,
  up,
  type TestbedState,
  type TestbedVm,
} from './harness/index';
import { apiWrites, installApiWriter } from './harness/disaster';
import { resolveLayout } from './harness/layout';
import { inVm, waitFor } from './harness/sh';
import { explain, stopWhen } from './runChecks';
import { openDeploymentFromEnv } from '../../src/session/session';
import type { DeploymentSession } from '../../src/session/types';
import { saveSnapshot, type SavedSnapshot } from '../../src/snapshots';
import { runRestore, type RestoreOptions } from '../../src/disaster/restore';
import type { DisasterEvent } from '../../src/disaster/context';
import { main } from '../../src/cli';

/** This file's testbed: the tier's net plus 190 on the second octet (never collides with another net). */
const NET = (() => {
  const [, a, b] = resolveLayout().net.split('.').map(Number);
  return `127.${(a + 190) % 256}.${b}`;
})();
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'disaster-restore-'));
const BUMP = 1_000_000;
/** The testbed's 3.5 is 3.5.16 with etcdutl (--bump-revision from 3.5.10); its 3.4 restores without the bump. */
const bumps = (s: TestbedState) => s.etcd.version.startsWith('3.5.');

async function valueOn(m: TestbedVm, key: string): Promise<string> {
  const r = await etcdctlIn(m, `--command-timeout=5s get ${key} --print-value-only`, { local: true });
  return r.stdout.trim();
}

async function statusOn(m: TestbedVm): Promise<{ clusterId: string; revision: number } | null> {
  const r = await etcdctlIn(m, '--dial-timeout=2s --command-timeout=4s endpoint status -w json', {
    local: true,
    allowFail: true,
  });
  const id = /"cluster_id":(\d+)/.exec(r.stdout)?.[1];
  const rev = /"revision":(\d+)/.exec(r.stdout)?.[1];
  return r.code === 0 && id && rev ? { clusterId: id, revision: Number(rev) } : null;
}

const sink = () => {
  let text = '';
  return {
    stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream,
    text: () => text,
  };
};

describe(`restore every master from one snapshot (3 masters, kube-apiserver stand-in, net ${NET})`, function () {
  this.timeout(900_000);
  let dir = '';
  let s: TestbedState;
  let ms: TestbedVm[];
  let snap: SavedSnapshot;
  const sessions: DeploymentSession[] = [];
  const open = () => {
    const x = openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
    sessions.push(x);
    return x;
  };
  const options = (extra: Partial<RestoreOptions>): RestoreOptions => ({
    snapshot: snap.file,
    transcriptDir: path.join(WORK, 'transcripts'),
    confirmDeployment: s.deployment,
    yes: true,
    timeouts: { monitMs: 120_000, startMs: 240_000, directorMs: 240_000 },
    ...extra,
  });

  before(async () => {
    dir = fs.mkdtempSync('/tmp/tb-disaster-restore-');
    fs.rmSync(dir, { recursive: true, force: true });
    s = await up({ dir, net: NET });
    ms = masters(s).sort((a, b) => a.index - b.index);
    await installApiWriter(s);
    for (let i = 0; i < 3; i++) await etcdctlIn(ms[0], `put /restore-test/before-${i} b${i}`);
    const session = open();
    snap = await saveSnapshot(session, { dir: path.join(WORK, 'snapshots') });
    for (let i = 0; i < 3; i++) await etcdctlIn(ms[0], `put /restore-test/after-${i} a${i}`);
  });
  after(async () => {
    for (const x of sessions) await x.dispose().catch(() => undefined);
    if (dir) await down({ dir, net: NET });
    fs.rmSync(WORK, { recursive: true, force: true });
  });

  it('refuses a truncated snapshot before anything is stopped; the CLI dry run prints every command and changes nothing', async () => {
    const truncated = path.join(WORK, 'truncated.db');
    fs.copyFileSync(snap.file, truncated);
    fs.copyFileSync(snap.metadataFile, path.join(WORK, 'truncated.json'));
    fs.truncateSync(truncated, snap.metadata.size - 8192);
    const pids = ms.map(etcdServerPid);
    const writesBefore = ms.map((m) => apiWrites(m).length);
    const res = await runRestore(open(), options({ snapshot: truncated }));
    assert.strictEqual(res.outcome, 'refused', explain(res));
    assert.match(res.message, /truncated/, explain(res));
    assert.match(res.message, /Nothing was stopped or changed/);
    const transcript = fs.readFileSync(res.transcriptPath, 'utf8');
    assert.doesNotMatch(transcript, /monit (stop|start)/, 'no monit command was run or planned');

    // The CLI's dry run, the snapshot taken from a file on one master (copied here, verified, planned).
    const onVm = '/var/vcap/store/etcd-snapshots/operator-copy.db';
    fs.mkdirSync(path.join(ms[1].dir, 'vcap/store/etcd-snapshots'), { recursive: true });
    fs.copyFileSync(snap.file, path.join(ms[1].dir, 'vcap', onVm.replace('/var/vcap/', '')));
    const out = sink();
    const err = sink();
    const code = await main(
      [
        'restore',
        '--deployment',
        s.deployment,
        '--snapshot-on-vm',
        `master/${ms[1].id}:${onVm}`,
        '--dry-run',
        '--transcript-dir',
        WORK,
      ],
      { out: out.stream, err: err.stream, env: {}, interactive: false, open: () => open() },
    );
    assert.strictEqual(code, 0, err.text() + out.text());
    for (const m of ms) {
      assert.match(out.text(), new RegExp(`snapshot restore \\S+ --name ${m.id} --initial-cluster \\S+`));
      assert.match(
        out.text(),
        new RegExp(`--initial-advertise-peer-urls https://master-${m.index}\\.etcd\\.cfcr\\.internal:2380`),
      );
    }
    assert.match(
      out.text(),
      new RegExp(`snapshot master/${ms[1].id}:${onVm} verified: revision ${snap.metadata.revision}`),
    );
    assert.match(out.text(), /tee \/var\/vcap\/store\/etcd-snapshots\/restore-[0-9a-f]{16}\.db\.partial/);
    assert.match(
      out.text(),
      new RegExp(`Every write to etcd after that snapshot \\(after revision ${snap.metadata.revision}`),
    );
    if (bumps(s)) assert.match(out.text(), /--bump-revision N --mark-compacted/, 'the bump is offered and explained');

    // Nothing stopped: the same etcd processes, the stand-in still writing, the later keys still there.
    assert.deepStrictEqual(ms.map(etcdServerPid), pids);
    await waitFor('the kube-apiserver stand-ins to keep writing', 60_000, async () =>
      ms.every((m, i) => apiWrites(m).length > writesBefore[i] + 1),
    );
    assert.strictEqual(await valueOn(ms[1], '/restore-test/after-2'), 'a2');
  });

  it('restores all three masters from the good snapshot (stopped at every step boundary, each run continuing), before-keys present, after-keys absent, one cluster', async () => {
    // Runs stopped after each step but the last, each a new session (as a killed CLI run again); the one
    // stopped after the restore step leaves every master restored with etcd still down.
    const events: DisasterEvent[] = [];
    const STEPS = [
      'precheck',
      'upload',
      'stop-clients',
      'stop-etcd',
      'restore',
      'start-etcd',
      'verify',
      'start-clients',
    ];
    for (const step of STEPS) {
      const stop = stopWhen<DisasterEvent>(
        (e) => e.type === 'step-done' && e.step === step,
        (e) => events.push(e),
      );
      const run = await runRestore(
        open(),
        options({ ...stop, bump: bumps(s) ? { revision: BUMP, markCompacted: true } : undefined }),
      );
      assert.ok(stop.reached(), `the run reached the end of ${step}: ${explain(run)}`);
      assert.strictEqual(run.outcome, 'cancelled', `stopped after ${step}: ${explain(run)}`);
      if (step === 'restore')
        for (const m of ms) assert.ok(!(await statusOn(m)), `etcd is down on master-${m.index} after the restore step`);
    }
    const stoppedAt = Date.parse(events.find((e) => e.type === 'step-start' && e.step === 'stop-etcd')!.time);
    // the first start of the API servers (the run stopped after start-clients started them)
    const firstClientsAt = Date.parse(events.find((e) => e.type === 'step-start' && e.step === 'start-clients')!.time);

    // Run again: it finds every master restored from this snapshot and finishes.
    const again: DisasterEvent[] = [];
    const res = await runRestore(
      open(),
      options({
        bump: bumps(s) ? { revision: BUMP, markCompacted: true } : undefined,
        onEvent: (e) => again.push(e),
      }),
    );
    assert.strictEqual(res.outcome, 'recovered', explain(res));
    assert.ok(
      again.some((e) => e.type === 'info' && /already restored from this snapshot/.test(e.message)),
      'the second run resumed (did not restore again)',
    );
    const clientsAt = Date.parse(again.find((e) => e.type === 'step-start' && e.step === 'start-clients')!.time);
    assert.ok(firstClientsAt < clientsAt);

    const st = await Promise.all(ms.map(statusOn));
    assert.ok(
      st.every((x) => x),
      `every member answers: ${JSON.stringify(st)}`,
    );
    assert.strictEqual(new Set(st.map((x) => x!.clusterId)).size, 1, `one cluster id: ${JSON.stringify(st)}`);
    assert.ok(
      st.every((x) => x!.revision >= Number(snap.metadata.revision) + (bumps(s) ? BUMP : 0)),
      `revision at least ${snap.metadata.revision}${bumps(s) ? ` + ${BUMP}` : ''}: ${JSON.stringify(st)}`,
    );
    for (const m of ms) {
      const h = await etcdctlIn(m, '--command-timeout=5s endpoint health', { local: true, allowFail: true });
      assert.strictEqual(h.code, 0, `master-${m.index} healthy: ${h.stderr}`);
      for (let i = 0; i < 3; i++) {
        assert.strictEqual(await valueOn(m, `/restore-test/before-${i}`), `b${i}`, 'a key written before the snapshot');
        assert.strictEqual(
          await valueOn(m, `/restore-test/after-${i}`),
          '',
          'a key written after the snapshot is gone',
        );
      }
      const bak = await inVm(
        m.nsPid,
        'ls -d /var/vcap/store/etcd.bak-*/member && ls /var/vcap/store/etcd-restore.state',
        {
          allowFail: true,
        },
      );
      assert.match(bak.stdout, /etcd\.bak-\d{8}T\d{6}Z\/member/, 'the old data is kept');
      assert.doesNotMatch(bak.stdout, /etcd-restore\.state/, 'the restore record is cleared at the end');
    }
    // kube-apiserver wrote nothing while etcd was being restored, and writes again afterwards.
    for (const m of ms) {
      const during = apiWrites(m).filter((w) => w.at > stoppedAt && w.at < firstClientsAt);
      assert.deepStrictEqual(during, [], `master-${m.index}'s kube-apiserver was stopped during the restore`);
    }
    await waitFor('every kube-apiserver stand-in to write again', 120_000, async () =>
      ms.every((m) => apiWrites(m).some((w) => w.at > clientsAt)),
    );
  });
});
