// The recovery engine on a 5-master testbed when more than one member is broken, and its safety
// rules: several targets in one run (dead registrations first, then back one at a time, the
// bootstrap instance last), the refusal of one target while another is broken, two runs at once
// (the cluster lock), a member that heals between the confirmation and the first step, etcd started
// again behind the engine's back right before its data is moved, a member already removed by hand,
// and an endpoint only unreachable from here. Every refusal is checked to change nothing (member list and
// hashKV compared before and after).
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import {
  boshCliEnv,
  breakInstance,
  down,
  etcdctlIn,
  heal,
  masters,
  up,
  TestbedState,
  TestbedVm,
} from './harness/index';
import { resolveLayout } from './harness/layout';
import { inVm, waitFor } from './harness/sh';
import { stopWhen } from './runChecks';
import { openDeploymentFromEnv } from '../../src/session/session';
import type { DeploymentSession } from '../../src/session/types';
import { runRecovery, type RecoveryEvent, type RecoveryResult } from '../../src/recovery';
import {
  clusterIdOnVm,
  clusterPrint,
  dataListing,
  etcdRuns,
  explain,
  healthyOf,
  healthyOnVm,
  options,
} from './recoveryMultiChecks';

/** Address prefix of this file's 5-master testbed: derived from the tier's (never collides with another net). */
const NET = (() => {
  const [, a, b] = resolveLayout().net.split('.').map(Number);
  return `127.${(a + 1) % 256}.${b}`;
})();

const label = (vm: TestbedVm) => `master/${vm.id}`;

describe(`recovery of several members and its safety rules (5 masters, net ${NET})`, function () {
  this.timeout(900_000);
  let dir = '';
  let s: TestbedState;
  let session: DeploymentSession;
  const tb = () => ({ dir, net: NET });
  before(async () => {
    dir = fs.mkdtempSync('/tmp/tb-recovery-multi-');
    fs.rmSync(dir, { recursive: true, force: true });
    s = await up({ dir, net: NET, masters: 5 });
    session = openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
  });
  after(async () => {
    await session?.dispose();
    if (dir) await down({ dir, net: NET });
  });

  it('refuses an endpoint only unreachable from here (network path), changing nothing', async () => {
    const ms = masters(s);
    const target = ms[2];
    await breakInstance(label(target), 'network-path', tb());
    try {
      const before = await clusterPrint(s, ms);
      const res = await runRecovery(session, label(target), options());
      assert.strictEqual(res.outcome, 'refused', explain(res));
      assert.ok(
        res.refusals?.some((r) => r.code === 'network-path'),
        `network-path refusal: ${JSON.stringify(res.refusals)}`,
      );
      assert.strictEqual(await clusterPrint(s, ms), before, 'the refusal changed nothing');
    } finally {
      await heal(label(target), tb());
    }
  });

  it('stops before touching a member that healed between the confirmation and the first step', async () => {
    const ms = masters(s);
    const target = ms[3];
    await breakInstance(label(target), 'stop', tb());
    const healthy = ms.filter((m) => m !== target);
    const before = await clusterPrint(s, healthy);
    const res = await runRecovery(
      session,
      label(target),
      options({
        yes: false,
        confirm: async () => {
          // the operator reads the plan while someone else starts etcd again
          await inVm(target.nsPid, 'monit start etcd');
          await waitFor('the member to be healthy again', 90_000, () => healthyOnVm(target), 500);
          return true;
        },
      }),
    );
    assert.strictEqual(res.outcome, 'refused', explain(res));
    assert.strictEqual(res.refusals?.[0].code, 'plan-changed', explain(res));
    assert.match(res.message, new RegExp(`${label(target)}: broken.*${label(target)}: healthy`));
    assert.strictEqual(await clusterPrint(s, healthy), before, 'nothing was changed');
    assert.ok(await healthyOnVm(target), 'the healed member was not touched');
    await heal(label(target), tb());
  });

  it('two of five broken (the bootstrap among them): one target is refused naming the other; two runs at once: one recovers both, the other is refused naming the holder', async () => {
    const ms = masters(s);
    const boot = ms.find((m) => m.bootstrap)!;
    const other = ms.find((m) => !m.bootstrap && m.index === 3)!;
    await breakInstance(label(other), 'wipe', tb());
    await breakInstance(label(boot), 'bootstrap-wipe', tb());
    const healthy = ms.filter((m) => m !== boot && m !== other);
    // The wiped member's start script keeps trying to add itself (monit restarts it). etcdctl may reach
    // the bootstrap's new one-member cluster first and join it: then it answers, but for the minority
    // cluster. Either way it is out of the majority; both shapes are recovered the same way.
    const majorityId = await clusterIdOnVm(healthyOf(ms, boot, other));
    await waitFor(
      'the wiped member to be out of the majority cluster',
      60_000,
      async () => !(await healthyOnVm(other)) || (await clusterIdOnVm(other)) !== majorityId,
      500,
    );
    const before = await clusterPrint(s, healthy);

    const one = await runRecovery(session, label(other), options());
    assert.strictEqual(one.outcome, 'refused', explain(one));
    const ob = one.refusals!.find((r) => r.code === 'other-broken');
    assert.ok(ob, `other-broken refusal: ${JSON.stringify(one.refusals)}`);
    assert.match(ob.message, new RegExp(label(boot)));
    assert.match(ob.advice, /--all-broken/);
    assert.strictEqual(await clusterPrint(s, healthy), before, 'the refusal changed nothing');

    const second = openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
    let a: RecoveryResult, b: RecoveryResult;
    try {
      [a, b] = await Promise.all([
        runRecovery(session, 'all-broken', options()),
        runRecovery(second, 'all-broken', options()),
      ]);
    } finally {
      await second.dispose();
    }
    const done = [a, b].find((r) => r.outcome === 'recovered');
    const refused = [a, b].find((r) => r.outcome === 'refused');
    assert.ok(done, `one run recovers: ${explain(a)}\n----\n${explain(b)}`);
    assert.ok(refused, `the other is refused: ${explain(a)}\n----\n${explain(b)}`);
    assert.strictEqual(refused.refusals?.[0].code, 'lock-held', explain(refused));
    assert.ok(refused.lockHolder && refused.lockHolder.length > 0, 'the refusal names the holder');
    assert.deepStrictEqual(done.targets, [label(other), label(boot)], 'the bootstrap instance comes back last');
    assert.deepStrictEqual(
      done.plan!.order!.map((e) => e.path),
      ['self-add', 'runbook'],
      'the first comes back through the start script, the last by the runbook',
    );
    // every member started with its name, all healthy, same hash
    const rows = (await etcdctlIn(healthy[0], 'member list', { local: true })).stdout.trim().split('\n');
    assert.deepStrictEqual(rows.map((r) => r.split(', ')[2]).sort(), ms.map((m) => m.id).sort(), rows.join('\n'));
    for (const m of ms) assert.ok(await healthyOnVm(m), `${label(m)} healthy`);
    const after = JSON.parse(await clusterPrint(s, ms)) as { hashes: string[] };
    assert.ok(
      after.hashes.every((h) => h === after.hashes[0]),
      `hashKV equal: ${after.hashes.join(', ')}`,
    );
    const tx = fs.readFileSync(done.transcriptPath, 'utf8');
    assert.match(tx, /member remove/, 'the transcript records the removals');
  });

  it('stops without moving data when etcd is started again behind its back right before the move, and says why', async () => {
    const ms = masters(s);
    const target = ms.find((m) => !m.bootstrap && m.index === 4)!;
    await breakInstance(label(target), 'stop', tb());
    const dataBefore = await dataListing(target);
    assert.match(dataBefore, /member\/snap/, 'the stopped member still has its data');
    let restarted = false;
    try {
      const res = await runRecovery(
        session,
        label(target),
        options({
          onEvent: (e) => {
            if (restarted || e.type !== 'command' || e.step !== 'stop' || e.skipped || !/\bmv\b/.test(e.command))
              return;
            restarted = true;
            // onEvent is synchronous and the engine runs the command right after it returns: block until etcd runs
            const ssh = spawnSync(
              'ssh',
              [
                '-i',
                s.staticSsh.privateKeyPath,
                '-o',
                `UserKnownHostsFile=${s.staticSsh.knownHostsPath}`,
                '-o',
                'StrictHostKeyChecking=yes',
                '-o',
                'BatchMode=yes',
                `vcap@${target.ip}`,
                'sudo monit start etcd',
              ],
              { encoding: 'utf8', timeout: 30_000 },
            );
            assert.strictEqual(ssh.status, 0, `monit start over ssh: ${ssh.stderr}`);
            const deadline = Date.now() + 90_000;
            while (!etcdRuns(target) && Date.now() < deadline) spawnSync('sleep', ['0.2']);
            assert.ok(etcdRuns(target), 'etcd runs again before the move');
          },
        }),
      );
      assert.ok(restarted, `the move was announced: ${explain(res)}`);
      assert.strictEqual(res.outcome, 'failed', explain(res));
      assert.strictEqual(res.failedStep, 'stop', explain(res));
      assert.match(`${res.message}\n${res.error ?? ''}`, /etcd is running/, explain(res));
      assert.strictEqual(await dataListing(target), dataBefore, 'the data directory is intact');
      const backups = await inVm(target.nsPid, 'ls -d /var/vcap/store/etcd.bak-* 2>/dev/null || true');
      assert.strictEqual(backups.stdout.trim(), '', 'nothing was moved aside');
      const rows = (await etcdctlIn(ms[0], 'member list', { local: true })).stdout;
      assert.match(rows, new RegExp(target.id), 'the member is still registered');
    } finally {
      await inVm(target.nsPid, 'rm -f /var/vcap/store/etcd-recovery.state');
      await heal(label(target), tb());
    }
  });

  it('one broken and one already removed by hand: every broken member recovers both', async () => {
    const ms = masters(s);
    const [first, second] = ms.filter((m) => !m.bootstrap).sort((a, b) => a.index - b.index);
    const healthy = ms.filter((m) => m !== first && m !== second);
    // the second is wiped while the first is dead: its start script cannot add it back (a dead member is registered)
    await breakInstance(label(first), 'wipe', tb());
    await waitFor('the first wiped member to be unhealthy', 60_000, async () => !(await healthyOnVm(first)), 500);
    await breakInstance(label(second), 'wipe', tb());
    await waitFor('the second wiped member to be unhealthy', 60_000, async () => !(await healthyOnVm(second)), 500);
    const list = (await etcdctlIn(healthy[0], 'member list', { local: true })).stdout.trim().split('\n');
    const row = list.find((r) => r.split(', ')[2] === second.id);
    assert.ok(row, `the second is registered: ${list.join('\n')}`);
    await etcdctlIn(healthy[0], `member remove ${row.split(', ')[0]}`, { local: true });

    const res = await runRecovery(session, 'all-broken', options());
    assert.strictEqual(res.outcome, 'recovered', explain(res));
    assert.deepStrictEqual([...res.targets].sort(), [label(first), label(second)].sort(), explain(res));
    const rows = (await etcdctlIn(healthy[0], 'member list', { local: true })).stdout.trim().split('\n');
    assert.deepStrictEqual(rows.map((r) => r.split(', ')[2]).sort(), ms.map((m) => m.id).sort(), rows.join('\n'));
    assert.ok(
      rows.every((r) => r.split(', ')[1] === 'started'),
      rows.join('\n'),
    );
    for (const m of ms) assert.ok(await healthyOnVm(m), `${label(m)} healthy`);
    const after = JSON.parse(await clusterPrint(s, ms)) as { hashes: string[] };
    assert.ok(
      after.hashes.every((h) => h === after.hashes[0]),
      `hashKV equal: ${after.hashes.join(', ')}`,
    );
  });
  it('killed at step boundaries of an every-broken-member run of two, runs again until it finishes: no double remove or add, all healthy', async () => {
    const ms = masters(s);
    const [first, second] = ms.filter((m) => !m.bootstrap).sort((a, b) => a.index - b.index);
    // one after the other: the second's start script cannot add it back while the first is dead
    await breakInstance(label(first), 'wipe', tb());
    await waitFor('the first wiped member to be unhealthy', 60_000, async () => !(await healthyOnVm(first)), 500);
    await breakInstance(label(second), 'wipe', tb());
    await waitFor('the second wiped member to be unhealthy', 60_000, async () => !(await healthyOnVm(second)), 500);
    const healthy = ms.filter((m) => m !== first && m !== second);
    // membership changes etcd accepted (a `member add` refused as "unhealthy cluster" right after the
    // first member re-joined is sent again by the engine: only the accepted one counts)
    const commands: string[] = [];
    const record = (e: RecoveryEvent) => {
      if (e.type === 'command-done' && e.exitCode === 0 && /member (add|remove)/.test(e.command))
        commands.push(e.command);
    };
    // The schedule of two (src/recovery/execute.ts): pre-flight, snapshot, stop of each, both removals,
    // then mkdir/add/start of one at a time, then post-checks. Killed (the run's abort, as a closed
    // terminal or Ctrl-C does) right after these step numbers, a new session each time as a new process:
    // KILL_AT covers every kind of boundary: one stopped and the other untouched (3), between the two
    // removals (7), the first added but not started (10), the first started (11), the second added but
    // not started (13), the second started (14), between the two post-checks (15).
    const KILL_AT = [3, 7, 10, 11, 13, 14, 15];
    let total = 0;
    for (const k of KILL_AT) {
      const fresh = openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
      let res: RecoveryResult;
      try {
        res = await runRecovery(
          fresh,
          'all-broken',
          options(
            stopWhen<RecoveryEvent>(
              (e) => e.type === 'step-done' && e.number === k,
              (e) => {
                record(e);
                if (e.type === 'step-start' && !total) total = e.total;
              },
            ),
          ),
        );
      } finally {
        await fresh.dispose();
      }
      assert.strictEqual(res.outcome, 'cancelled', `killed after step ${k}: ${explain(res)}`);
      // quorum held throughout; no member is registered twice
      const rows = (await etcdctlIn(healthy[0], 'member list', { local: true })).stdout.trim().split('\n');
      for (const m of [first, second]) {
        const regs = rows.filter((r) => r.split(', ')[3] === `https://master-${m.index}.etcd.cfcr.internal:2380`);
        assert.ok(
          regs.length <= 1,
          `after step ${k}: ${label(m)} registered ${regs.length} times:\n${rows.join('\n')}`,
        );
      }
    }
    assert.strictEqual(total, 16, 'a two-member schedule: 3 steps of each, 2 removals, 3 of each, 2 post-checks');
    const res = await runRecovery(session, 'all-broken', options({ onEvent: record }));
    assert.strictEqual(res.outcome, 'recovered', explain(res));
    assert.ok(
      commands.filter((c) => /member remove/.test(c)).length === 2,
      `each dead member removed once:\n${commands.join('\n')}`,
    );
    // the first comes back through its start script's self-add, the second by the runbook's member add
    assert.strictEqual(
      commands.filter((c) => /member add/.test(c)).length,
      1,
      `no double add:\n${commands.join('\n')}`,
    );
    const rows = (await etcdctlIn(healthy[0], 'member list', { local: true })).stdout.trim().split('\n');
    assert.deepStrictEqual(rows.map((r) => r.split(', ')[2]).sort(), ms.map((m) => m.id).sort(), rows.join('\n'));
    assert.ok(
      rows.every((r) => r.split(', ')[1] === 'started'),
      rows.join('\n'),
    );
    for (const m of ms) assert.ok(await healthyOnVm(m), `${label(m)} healthy`);
    const after = JSON.parse(await clusterPrint(s, ms)) as { hashes: string[] };
    assert.ok(
      after.hashes.every((h) => h === after.hashes[0]),
      `hashKV equal: ${after.hashes.join(', ')}`,
    );
  });
});
