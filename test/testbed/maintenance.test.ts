// The maintenance flows against the testbed: real etcd 3.4 with a small quota (24 MB, so the
// filler reaches fragmentation and NOSPACE in seconds), real sshd and monit, the Director
// stand-in. Every figure the assertions use is read independently of the product, with the job's
// etcdctl inside the VM. One testbed of our own (its quota differs from the tier's): net
// 127.<a+150>.<b> for a tier net 127.a.b.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  boshCliEnv,
  breakInstance,
  down,
  etcdctlIn,
  heal,
  masters,
  up,
  type TestbedState,
  type TestbedVm,
} from './harness/index';
import { churnEtcd, CHURN_PREFIX } from './harness/fill';
import { stopWhen } from './runChecks';
import { openDeploymentFromEnv } from '../../src/session/session';
import type { DeploymentSession } from '../../src/session/types';
import { defragCluster, recoverNospace, type MaintenanceEvent } from '../../src/maintenance';
import { main } from '../../src/cli';
import { PassThrough } from 'stream';
import { acquireClusterLock, ClusterLockError } from '../../src/session/clusterLock';

const TX = fs.mkdtempSync(path.join(os.tmpdir(), 'maintenance-tx-'));
const tierNet = (process.env.BOSH_ETCD_TESTBED_NET || '127.0.0').split('.');
const NET = `127.${Number(tierNet[1]) + 150}.${tierNet[2]}`;
const DIR = path.join(os.tmpdir(), `bosh-etcd-tb-maintenance-${NET}`);
const QUOTA_MB = 24;

interface EpStatus {
  endpoint: string;
  dbSize: number;
  dbSizeInUse: number;
  leader: boolean;
}

/** `endpoint status` of every member, from etcdctl in the VM of a running master. */
async function statusOf(s: TestbedState, via: TestbedVm = masters(s)[0]): Promise<Map<string, EpStatus>> {
  const r = await etcdctlIn(via, '--dial-timeout=2s --command-timeout=5s endpoint status -w json', { allowFail: true });
  const rows = JSON.parse(r.stdout) as {
    Endpoint: string;
    Status: { dbSize: number; dbSizeInUse: number; leader: string; header: { member_id: string } };
  }[];
  return new Map(
    rows.map((x) => [
      x.Endpoint,
      {
        endpoint: x.Endpoint,
        dbSize: x.Status.dbSize,
        dbSizeInUse: x.Status.dbSizeInUse,
        leader: String(x.Status.leader) === String(x.Status.header.member_id),
      },
    ]),
  );
}

async function alarmList(s: TestbedState): Promise<string> {
  return (await etcdctlIn(masters(s)[0], 'alarm list', { local: true })).stdout.trim();
}

const labelOf = (vm: TestbedVm) => `master/${vm.id}`;
const urlOf = (vm: TestbedVm) => vm.etcdClientUrl!;

describe('maintenance: defragmentation and NOSPACE recovery (testbed, quota 24 MB)', function () {
  this.timeout(240_000);
  let s: TestbedState;
  let session: DeploymentSession;

  before(async () => {
    await down({ dir: DIR, net: NET });
    s = await up({ dir: DIR, net: NET, quotaMb: QUOTA_MB });
    session = openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
  });
  after(async () => {
    await session?.dispose();
    await down({ dir: DIR, net: NET });
  });

  it('a dry run shows the plan and every command and changes nothing (sizes unchanged)', async () => {
    await churnEtcd(s, { mb: 8 });
    const before = await statusOf(s);
    const events: MaintenanceEvent[] = [];
    const res = await defragCluster(session, { dryRun: true, transcriptDir: TX, onEvent: (e) => events.push(e) });
    assert.strictEqual(res.outcome, 'dry-run', res.message);
    const cmds = events.filter((e): e is Extract<MaintenanceEvent, { type: 'command' }> => e.type === 'command');
    const defrags = cmds.filter((c) => / defrag$/.test(c.command));
    assert.strictEqual(defrags.length, 3, 'every member is planned');
    assert.ok(defrags.every((c) => c.skipped === 'dry run'));
    assert.ok(
      cmds.filter((c) => c.mutates).every((c) => c.skipped),
      'no changing command was run',
    );
    const after = await statusOf(s);
    for (const [ep, b] of before) assert.strictEqual(after.get(ep)!.dbSize, b.dbSize, `${ep} size changed`);
    assert.match(fs.readFileSync(res.transcriptPath!, 'utf8'), /dry-run/);
  });

  it('refuses while another run holds the cluster lock, naming it, and changes nothing', async () => {
    const other = await acquireClusterLock(session, { flow: 'member-recovery', runId: 'other-recovery-run' });
    try {
      const before = await statusOf(s);
      const res = await defragCluster(session, { yes: true, pauseMs: 0, transcriptDir: TX });
      assert.strictEqual(res.outcome, 'refused', res.message);
      assert.deepStrictEqual(
        res.refusals?.map((r) => r.code),
        ['lock-held'],
      );
      assert.match(res.message, /held by run other-recovery-run \(member-recovery\)/);
      const nospace = await recoverNospace(session, { yes: true, pauseMs: 0, transcriptDir: TX });
      assert.deepStrictEqual(
        nospace.refusals?.map((r) => r.code),
        ['lock-held'],
        nospace.message,
      );
      const after = await statusOf(s);
      for (const [ep, b] of before) assert.strictEqual(after.get(ep)!.dbSize, b.dbSize, `${ep} size changed`);
    } finally {
      await other.release();
    }
  });

  it('CLI: without --yes and without a terminal, defrag names the consequence and changes nothing (exit 4); --dry-run exits 0', async () => {
    const before = await statusOf(s);
    const run = async (args: string[]) => {
      const out = new PassThrough();
      const err = new PassThrough();
      let text = '';
      out.on('data', (d) => (text += d));
      err.on('data', (d) => (text += d));
      const code = await main(args, {
        out,
        err,
        env: {},
        interactive: false,
        open: () => openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath }),
      });
      return { code, text };
    };
    const declined = await run(['defrag', '--deployment', s.deployment, '--transcript-dir', TX]);
    assert.strictEqual(declined.code, 4, declined.text);
    assert.match(declined.text, /will not answer reads or writes while it is defragmented, about \d+ s for [\d.]+ MiB/);
    assert.match(declined.text, /Not a terminal and no --yes/);
    const dry = await run(['defrag', '--deployment', s.deployment, '--dry-run', '--transcript-dir', TX]);
    assert.strictEqual(dry.code, 0, dry.text);
    assert.match(
      dry.text,
      /\(not run: dry run\) \$ LOCAL=true ETCDCTL_API=3 \/var\/vcap\/jobs\/etcd\/bin\/etcdctl --command-timeout=\d+s defrag/,
    );
    assert.strictEqual((await run(['defrag', '--deployment', s.deployment, '--pause-seconds', 'soon'])).code, 2);
    const after = await statusOf(s);
    for (const [ep, b] of before) assert.strictEqual(after.get(ep)!.dbSize, b.dbSize, `${ep} size changed`);
  });

  it('defragments followers first and the leader last, every member healthy after each, and a second run skips them all', async () => {
    const before = await statusOf(s);
    const leaderUrl = [...before.values()].find((x) => x.leader)!.endpoint;
    assert.ok(
      [...before.values()].every((x) => x.dbSize - x.dbSizeInUse > 4 * 1024 * 1024),
      'the filler fragmented every member',
    );
    const events: MaintenanceEvent[] = [];
    // while it runs it holds the cluster lock: a recovery started meanwhile is refused
    let during: Promise<unknown> | undefined;
    const res = await defragCluster(session, {
      yes: true,
      pauseMs: 300,
      transcriptDir: TX,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'member-done' && !during)
          during = acquireClusterLock(session, { flow: 'member-recovery', runId: 'during-defrag' }).then(
            async (l) => {
              await l.release();
              return 'acquired';
            },
            (err: unknown) => (err instanceof ClusterLockError ? err.kind : String(err)),
          );
      },
    });
    assert.strictEqual(res.outcome, 'done', `${res.message}\n${res.advice ?? ''}`);
    assert.strictEqual(await during, 'held', 'the lock was held by the defragmentation');
    const done = events.filter(
      (e): e is Extract<MaintenanceEvent, { type: 'member-done' }> => e.type === 'member-done',
    );
    assert.strictEqual(done.length, 3);
    assert.strictEqual(done[2].result.endpointUrl, leaderUrl, 'the leader is last');
    assert.ok(done.every((d) => d.result.outcome === 'defragmented' && d.healthyAfter));
    // before each member: every member healthy; after each: that member healthy and caught up
    const checks = events.filter((e): e is Extract<MaintenanceEvent, { type: 'check' }> => e.type === 'check');
    assert.strictEqual(checks.filter((c) => c.name === 'every member healthy' && c.ok).length, 3);
    assert.strictEqual(checks.filter((c) => / healthy and caught up$/.test(c.name) && c.ok).length, 3);
    // the defrag commands ran in the same order, each on its own VM
    const order = events
      .filter(
        (e): e is Extract<MaintenanceEvent, { type: 'command' }> => e.type === 'command' && / defrag$/.test(e.command),
      )
      .map((e) => e.host);
    assert.deepStrictEqual(
      order,
      done.map((d) => d.result.label),
    );
    const after = await statusOf(s);
    for (const [ep, b] of before)
      assert.ok(after.get(ep)!.dbSize < b.dbSize / 2, `${ep}: ${b.dbSize} → ${after.get(ep)!.dbSize}`);

    const again = await defragCluster(session, { yes: true, pauseMs: 0, transcriptDir: TX });
    assert.strictEqual(again.outcome, 'nothing-to-do', again.message);
    assert.ok(again.members.every((m) => m.outcome === 'skipped'));
  });

  it('stops when a member goes down mid-run and leaves the members after it as they are; the next run resumes', async () => {
    await churnEtcd(s, { mb: 8 });
    const before = await statusOf(s);
    const ms = masters(s);
    let stopped: TestbedVm | undefined;
    let stopping: Promise<unknown> | undefined;
    const events: MaintenanceEvent[] = [];
    const res = await defragCluster(session, {
      yes: true,
      pauseMs: 15_000,
      transcriptDir: TX,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'member-done' && !stopping) {
          // stop the member planned next, during the pause
          const doneLabel = e.result.label;
          const next = ms.find((m) => labelOf(m) !== doneLabel && !before.get(urlOf(m))!.leader)!;
          stopped = next;
          stopping = breakInstance(labelOf(next), 'stop', { dir: DIR, net: NET });
        }
      },
    });
    await stopping;
    try {
      assert.strictEqual(res.outcome, 'failed', res.message);
      assert.match(res.message, new RegExp(stopped!.id));
      assert.deepStrictEqual(
        res.members.map((m) => m.outcome),
        ['defragmented', 'not-reached', 'not-reached'],
      );
      const defragCommands = events.filter((e) => e.type === 'command' && / defrag$/.test(e.command));
      assert.strictEqual(defragCommands.length, 1, 'no command after the member went down');
      const leader = ms.find((m) => before.get(urlOf(m))!.leader)!;
      const now = await statusOf(s, leader);
      assert.strictEqual(
        now.get(urlOf(leader))!.dbSize,
        before.get(urlOf(leader))!.dbSize,
        'the leader was left as it was',
      );
    } finally {
      await heal(labelOf(stopped!), { dir: DIR, net: NET });
    }
    // resumed: the member already done is skipped
    const again = await defragCluster(session, { yes: true, pauseMs: 0, transcriptDir: TX });
    assert.strictEqual(again.outcome, 'done', again.message);
    assert.deepStrictEqual(
      again.members.map((m) => m.outcome),
      ['skipped', 'defragmented', 'defragmented'],
    );
  });

  it('cancelled during the pause: reports the member done, runs nothing further; the next run continues', async () => {
    await churnEtcd(s, { mb: 8 });
    const events: MaintenanceEvent[] = [];
    const res = await defragCluster(session, {
      yes: true,
      pauseMs: 10_000,
      transcriptDir: TX,
      ...stopWhen<MaintenanceEvent>(
        (e) => e.type === 'pause',
        (e) => events.push(e),
      ),
    });
    assert.strictEqual(res.outcome, 'cancelled', res.message);
    assert.deepStrictEqual(
      res.members.map((m) => m.outcome),
      ['defragmented', 'not-reached', 'not-reached'],
    );
    assert.strictEqual(events.filter((e) => e.type === 'command' && / defrag$/.test(e.command)).length, 1);
    const again = await defragCluster(session, { yes: true, pauseMs: 0, transcriptDir: TX });
    assert.deepStrictEqual(
      again.members.map((m) => m.outcome),
      ['skipped', 'defragmented', 'defragmented'],
    );
  });

  it('recovers from NOSPACE: compaction, rolling defragmentation, disarm, a write accepted after', async () => {
    const fill = await churnEtcd(s, { mb: 200, untilNospace: true });
    assert.ok(fill.nospace);
    assert.match(await alarmList(s), /alarm:NOSPACE/);
    const refused = await etcdctlIn(masters(s)[0], 'put /testbed/probe x', { local: true, allowFail: true });
    assert.match(refused.stderr, /database space exceeded/);

    const events: MaintenanceEvent[] = [];
    const res = await recoverNospace(session, {
      yes: true,
      pauseMs: 300,
      transcriptDir: TX,
      onEvent: (e) => events.push(e),
    });
    assert.strictEqual(res.outcome, 'done', `${res.message}\n${res.advice ?? ''}`);
    assert.ok(res.disarmed && res.writeTestOk);
    assert.strictEqual(res.quotaBackendBytes, QUOTA_MB * 1024 * 1024, "the quota is read from the job's configuration");
    const cmds = events
      .filter((e): e is Extract<MaintenanceEvent, { type: 'command' }> => e.type === 'command' && e.mutates)
      .map((e) => e.command.replace(/^.*etcdctl /, ''));
    assert.match(cmds[0], /^compaction \d+ --physical$/);
    assert.deepStrictEqual(
      cmds.slice(1, 4).map((c) => c.replace(/--command-timeout=\d+s /, '')),
      ['defrag', 'defrag', 'defrag'],
    );
    // the disarm and the test write in one shell on one VM, each only after the one before succeeded
    const last = events
      .filter((e): e is Extract<MaintenanceEvent, { type: 'command' }> => e.type === 'command')
      .at(-1)!;
    assert.deepStrictEqual(
      last.command.split(' && ').map((c) => c.replace(/^.*etcdctl /, '').replace(/write-test\/\S+/, 'write-test/K')),
      ['alarm disarm', 'put /bosh-etcd-doctor/write-test/K ok', 'del /bosh-etcd-doctor/write-test/K'],
    );
    assert.strictEqual(cmds.length, 5);

    assert.strictEqual(await alarmList(s), '', 'no alarm left');
    const w = await etcdctlIn(masters(s)[1], 'put /testbed/after-nospace yes', { local: true });
    assert.match(w.stdout, /OK/);
    assert.strictEqual(
      (await etcdctlIn(masters(s)[0], 'get --prefix /bosh-etcd-doctor/ --keys-only', { local: true })).stdout.trim(),
      '',
    );
  });

  it('says the quota is too small (and does not disarm) when the live data needs it, then recovers once data is deleted', async () => {
    // distinct keys: nothing for the compaction to free
    const fill = await churnEtcd(s, { mb: 200, keys: 1_000_000, untilNospace: true });
    assert.ok(fill.nospace);
    const res = await recoverNospace(session, { yes: true, pauseMs: 0, transcriptDir: TX });
    assert.strictEqual(res.outcome, 'quota-too-small', res.message);
    assert.strictEqual(res.disarmed, false);
    assert.match(res.advice!, /quota-backend-bytes/);
    assert.match(await alarmList(s), /alarm:NOSPACE/, 'not disarmed');

    // deletes are allowed under NOSPACE: the operator removes data, then runs the recovery again
    await etcdctlIn(masters(s)[0], `del --prefix ${CHURN_PREFIX}`, { local: true });
    const again = await recoverNospace(session, { yes: true, pauseMs: 0, transcriptDir: TX });
    assert.strictEqual(again.outcome, 'done', again.message);
    assert.strictEqual(await alarmList(s), '');
  });

  it('refuses NOSPACE recovery while a member is down: replace it first; nothing changed', async () => {
    await churnEtcd(s, { mb: 200, untilNospace: true });
    const down1 = masters(s)[2];
    await breakInstance(labelOf(down1), 'stop', { dir: DIR, net: NET });
    try {
      const before = await statusOf(s, masters(s)[0]);
      const res = await recoverNospace(session, { yes: true, pauseMs: 0, transcriptDir: TX });
      assert.strictEqual(res.outcome, 'refused', res.message);
      assert.ok(res.refusals!.some((r) => r.code === 'member-unhealthy' && r.message.includes(down1.id)));
      assert.match(res.refusals!.find((r) => r.code === 'member-unhealthy')!.advice, /bosh-etcd recover/);
      const after = await statusOf(s, masters(s)[0]);
      assert.strictEqual(after.get(urlOf(masters(s)[0]))!.dbSize, before.get(urlOf(masters(s)[0]))!.dbSize);
      assert.match(await alarmList(s), /alarm:NOSPACE/);
    } finally {
      await heal(labelOf(down1), { dir: DIR, net: NET });
    }
    const res = await recoverNospace(session, { yes: true, pauseMs: 0, transcriptDir: TX });
    assert.strictEqual(res.outcome, 'done', res.message);
  });
});
