// The quorum-loss flow (src/disaster/quorum.ts) on its own 3-master testbed with a kube-apiserver
// stand-in that writes to etcd every second: refused while quorum holds; then two of three masters
// wiped and the third stopped (its numbers read offline), the most advanced preselected, a run
// cancelled after the survivor was forced into a new cluster, run again while the survivor's etcd dies
// right after a member was added and before it started (the run stops and reports each master's
// state), and run again to the end (the survivor, whose cluster cannot form a quorum then, is forced
// again). Proves: the
// writes acknowledged before are there afterwards, one cluster id, every member started and healthy,
// no write accepted while the run had the API servers stopped, and the API servers writing again after.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import {
  boshCliEnv,
  breakInstance,
  down,
  etcdctlIn,
  etcdServerPid,
  masters,
  up,
  type TestbedState,
  type TestbedVm,
} from './harness/index';
import { resolveLayout } from './harness/layout';
import { apiWrites, installApiWriter } from './harness/disaster';
import { waitFor } from './harness/sh';
import { explain, stopWhen } from './runChecks';
import { openDeploymentFromEnv } from '../../src/session/session';
import type { DeploymentSession } from '../../src/session/types';
import { restoreQuorum, type QuorumOptions } from '../../src/disaster/quorum';
import type { DisasterEvent } from '../../src/disaster/context';

const TX = fs.mkdtempSync(path.join(os.tmpdir(), 'disaster-quorum-tx-'));

/** This file's testbed: its own second octet, derived from the tier's (never a neighbour's net). */
const NET = (() => {
  const [, a, b] = resolveLayout().net.split('.').map(Number);
  return `127.${(a + 170) % 256}.${b}`;
})();

/** Runs a shell script in the VM's mount namespace (as the harness's faults do). */
function inVmSync(vm: TestbedVm, script: string): void {
  execFileSync('/usr/bin/nsenter', ['-m', '-t', String(vm.nsPid), '/bin/bash', '-c', script]);
}

/** The survivor's etcd dies for good: monit stops watching it, the server is killed, the start script exits. */
function killForGood(vm: TestbedVm): void {
  inVmSync(
    vm,
    `monit unmonitor etcd; kill -9 ${etcdServerPid(vm)}; for _ in $(seq 1 100); do p=$(cat /var/vcap/sys/run/bpm/etcd/etcd.pid 2>/dev/null); [ -n "$p" ] && kill -0 $p 2>/dev/null || break; sleep 0.1; done`,
  );
}

/** What the job's start script of a non-bootstrap master without data does first: `member add` of itself. */
function addAsStartScriptDoes(vm: TestbedVm): void {
  inVmSync(
    vm,
    `source /var/vcap/jobs/etcd/bin/utils.sh; ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl member add ${vm.id} --peer-urls "$etcd_peer_address"`,
  );
}

describe('quorum restore on the testbed (3 masters, kube-apiserver writing)', function () {
  this.timeout(900_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-disaster-quorum-'));
  const opts = { dir, net: NET };
  let state: TestbedState;
  let session: DeploymentSession;
  const m = (i: number) => masters(state).sort((a, b) => a.index - b.index)[i];
  const label = (i: number) => `master/${m(i).id}`;
  const options = (extra: Partial<QuorumOptions>): QuorumOptions => ({
    transcriptDir: TX,
    timeouts: { startMs: 240_000, monitMs: 120_000 },
    ...extra,
  });

  /**
   * Checked with etcdctl on the VMs, independently of the product: every key written before (prefix/key-i
   * = value-i, read from each master in turn), one cluster id, three started voters, each healthy.
   */
  async function assertOneClusterWith(prefix: string, keys: number): Promise<void> {
    for (let i = 0; i < keys; i++) {
      const got = await etcdctlIn(m(i % 3), `get ${prefix}/key-${i} --print-value-only`, { local: true });
      assert.strictEqual(got.stdout.trim(), `value-${i}`, `key ${i} on master-${i % 3}`);
    }
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const st = await etcdctlIn(m(i), 'endpoint status -w json', { local: true });
      ids.add(/"cluster_id":(\d+)/.exec(st.stdout)![1]);
      const h = await etcdctlIn(m(i), 'endpoint health', { local: true });
      assert.match(h.stdout + h.stderr, /is healthy/);
    }
    assert.strictEqual(ids.size, 1, [...ids].join(', '));
    const list = (await etcdctlIn(m(2), 'member list', { local: true })).stdout.trim().split('\n');
    assert.strictEqual(list.length, 3, `one registration per master:\n${list.join('\n')}`);
    for (let i = 0; i < 3; i++)
      assert.ok(
        list.some((l) => l.includes(`started, ${m(i).id},`) && l.endsWith('false')),
        list.join('\n'),
      );
  }

  before(async () => {
    state = await up({ ...opts, masters: 3 });
    await installApiWriter(state);
    session = openDeploymentFromEnv(boshCliEnv(state), { gatewayKnownHostsPath: state.staticSsh.knownHostsPath });
  });
  after(async () => {
    await session?.dispose().catch(() => undefined);
    await down(opts);
  });

  it('refuses while quorum holds (member replacement is the tool), changing nothing', async () => {
    const before = (await etcdctlIn(m(0), 'member list', { local: true })).stdout;
    const res = await restoreQuorum(session, options({ survivor: label(0), yes: true }));
    assert.strictEqual(res.outcome, 'refused', explain(res));
    assert.ok(
      res.refusals?.some((r) => r.code === 'quorum' && /bosh-etcd recover/.test(r.advice)),
      explain(res),
    );
    assert.deepStrictEqual(res.stepsRun, []);
    assert.strictEqual((await etcdctlIn(m(0), 'member list', { local: true })).stdout, before);
    const n = apiWrites(m(0)).length;
    await waitFor('the API server stand-in still writing', 60_000, async () => apiWrites(m(0)).length > n, 500);
  });

  it('two wiped, the third stopped: preselects it from an offline read, survives a cancel and the survivor dying, restores quorum with every acknowledged write', async () => {
    for (let i = 0; i < 20; i++) await etcdctlIn(m(2), `put /dq/key-${i} value-${i}`, { local: true });
    await breakInstance(`master/${m(0).id}`, 'quorum-loss', opts); // wipes master-0 (bootstrap) and master-1
    await breakInstance(`master/${m(2).id}`, 'stop', opts);

    const dry = await restoreQuorum(session, options({ dryRun: true }));
    assert.strictEqual(dry.outcome, 'dry-run', explain(dry));
    assert.strictEqual(dry.plan?.survivor, label(2), explain(dry));
    const ev = dry.evidence!.find((e) => e.label === label(2))!;
    assert.strictEqual(ev.source, 'offline-copy', explain(dry));
    assert.ok(ev.revision !== undefined && ev.revision >= 21n, `revision ${ev.revision}`);
    assert.ok(
      dry.evidence!.filter((e) => e.label !== label(2)).every((e) => !e.dataPresent),
      explain(dry),
    );
    assert.deepStrictEqual(
      dry.plan!.rejoin.map((r) => [r.label, r.path]),
      [
        [label(1), 'self-add'],
        [label(0), 'runbook'],
      ],
    );

    // first run: cancelled right after the survivor was forced into a new cluster
    const times: Record<string, number> = {};
    const record = (e: DisasterEvent) => {
      if (e.type === 'step-done' || e.type === 'step-start') times[`${e.type}:${e.step}`] ??= Date.parse(e.time);
    };
    const first = await restoreQuorum(
      session,
      options({
        survivor: label(2),
        yes: true,
        ...stopWhen<DisasterEvent>((e) => e.type === 'step-done' && e.step === 'force-new-cluster', record),
      }),
    );
    assert.strictEqual(first.outcome, 'cancelled', explain(first));
    // the survivor's own db was copied on its VM before anything changed it
    const copy = await etcdctlIn(m(2), `snapshot status /var/vcap/store/etcd-snapshots/quorum-restore-*.db -w json`, {
      allowFail: true,
    });
    assert.match(copy.stdout + copy.stderr, /"revision":\d+/);

    // second run: as the re-adds begin, master-1's start script adds it (its `member add`), then the
    // survivor's etcd dies (killed, and monit no longer restarts it) before master-1 started: the
    // survivor's configuration now counts two voters, one of them never started
    const dead = await restoreQuorum(
      session,
      options({
        survivor: label(2),
        yes: true,
        onEvent: (e) => {
          record(e);
          if (e.type === 'step-start' && e.step === 'rejoin') {
            addAsStartScriptDoes(m(1));
            killForGood(m(2));
          }
        },
      }),
    );
    assert.strictEqual(dead.outcome, 'failed', explain(dead));
    assert.strictEqual(dead.failedStep, 'rejoin', explain(dead));
    assert.match(dead.message, new RegExp(`the survivor ${label(2)} stopped running etcd`), explain(dead));
    // one line per master: the survivor's data in place and no etcd; the others empty, nothing running
    assert.strictEqual(dead.memberStates?.length, 3, explain(dead));
    const stateOf = (i: number) => dead.memberStates!.find((x) => x.startsWith(label(i)))!;
    assert.match(stateOf(2), /\(the survivor\): etcd not running .*; data in \/var\/vcap\/store\/etcd;/, explain(dead));
    for (const i of [0, 1]) assert.match(stateOf(i), /: etcd not running .*; no data in /, explain(dead));
    for (const x of dead.memberStates!) assert.ok(dead.message.includes(x), explain(dead));

    // third run: the survivor, started under monit, waits for a quorum that cannot form (master-1 was
    // added and never started): the run says so, forces it into a one-member cluster again (its data is
    // the most advanced) and adds the others back
    const second = await restoreQuorum(session, options({ survivor: label(2), yes: true, onEvent: record }));
    assert.strictEqual(second.outcome, 'recovered', explain(second));
    assert.ok(second.stepsRun.includes('verify'), explain(second));
    const tx = fs.readFileSync(second.transcriptPath, 'utf8');
    assert.match(tx, /skipped \(the record on the survivor says it already ran as a new cluster\)/);
    assert.match(tx, /waits for a quorum that cannot form/, explain(second));
    assert.match(tx, new RegExp(`${label(1)}: voting member [0-9a-f]+, added, never started`), explain(second));
    assert.match(tx, new RegExp(`${label(2)}: voting member [0-9a-f]+, the survivor, etcd running`), explain(second));
    assert.match(tx, /\*\*one-member cluster\*\*/, 'the survivor forced again in this run');

    // no write accepted while the API servers were stopped (from the end of step 1 to the start of step 8)
    const from = times['step-done:stop-clients'];
    const to = times['step-start:start-clients'];
    assert.ok(from && to && to > from, JSON.stringify(times));
    for (const vm of masters(state)) {
      const mid = apiWrites(vm).filter((w) => w.at > from && w.at < to);
      assert.deepStrictEqual(mid, [], `writes of the stand-in on master-${vm.index} while stopped`);
    }
    // ... and every stand-in writes again afterwards
    for (const vm of masters(state))
      await waitFor(
        `the API server stand-in of master-${vm.index} writing again`,
        120_000,
        async () => apiWrites(vm).some((w) => w.at > to),
        1000,
      );

    await assertOneClusterWith('/dq', 20);
  });

  it('stopped at every step boundary and twice inside the re-adds, then SSH dropped mid-run, each new run continues; the last one finishes', async () => {
    // the cluster the previous test restored: every master healthy again
    for (let i = 0; i < 10; i++) await etcdctlIn(m(2), `put /dk/key-${i} value-${i}`, { local: true });
    await breakInstance(`master/${m(0).id}`, 'quorum-loss', opts); // wipes master-0 (bootstrap) and master-1
    const rejoined = (i: number) => (e: DisasterEvent) =>
      e.type === 'check' && e.ok && e.name === `${label(i)} back and consistent`;
    // in the order a run reaches them: after each step but the last; between the two re-adds (master-1 by its
    // start script's self-add, then master-0 by the runbook); after master-0's member add, before it started
    const after = (step: string) => (e: DisasterEvent) => e.type === 'step-done' && e.step === step;
    const stops: [string, (e: DisasterEvent) => boolean][] = [
      ['after stop-clients', after('stop-clients')],
      ['after stop-etcd', after('stop-etcd')],
      ['after copy-db', after('copy-db')],
      ['after move-aside', after('move-aside')],
      ['after force-new-cluster', after('force-new-cluster')],
      ['after start-survivor', after('start-survivor')],
      ['between the two re-adds', rejoined(1)],
      ['after the runbook member add', (e) => e.type === 'check' && e.ok && e.name === 'member added'],
      ['after rejoin', after('rejoin')],
      ['after start-clients', after('start-clients')],
    ];
    const log: string[] = [];
    for (const [what, stopAt] of stops) {
      const stop = stopWhen<DisasterEvent>(stopAt, (e) => {
        if (e.type === 'step-start') log.push(`${what}: step ${e.step}`);
      });
      const res = await restoreQuorum(session, options({ survivor: label(2), yes: true, ...stop }));
      assert.ok(stop.reached(), `the run reached "${what}": ${explain(res)}`);
      assert.strictEqual(res.outcome, 'cancelled', `stopped ${what}: ${explain(res)}`);
    }
    // then the SSH connections to every master drop as the re-adds begin: the run fails, or carries on
    // over new connections; when it failed, the next run finishes
    let dropped: Promise<unknown> | undefined;
    const drop = await restoreQuorum(
      session,
      options({
        survivor: label(2),
        yes: true,
        onEvent: (e) => {
          if (!dropped && e.type === 'step-start' && e.step === 'rejoin')
            dropped = Promise.all(masters(state).map((vm) => breakInstance(`master/${vm.id}`, 'ssh-drop', opts)));
        },
      }),
    );
    assert.ok(dropped, `the run reached the re-adds: ${explain(drop)}`);
    await dropped;
    log.push(`after the SSH drop: ${drop.outcome}: ${drop.message}`);
    assert.ok(drop.outcome === 'recovered' || drop.outcome === 'failed', explain(drop));
    const last =
      drop.outcome === 'recovered' ? drop : await restoreQuorum(session, options({ survivor: label(2), yes: true }));
    assert.strictEqual(last.outcome, 'recovered', `${explain(last)}\n${log.join('\n')}`);

    await assertOneClusterWith('/dk', 10);
  });
});
