// The operators' runbook replayed by hand over plain OpenSSH, as the operator did it:
// break a master with `wipe`, see the symptoms (Director `failing`, `unhealthy cluster` in the etcd
// log, three members listed), then remove / mkdir+chown / source utils.sh / member add / monit start,
// and check that everything is back. Every observable the runbook names is asserted.
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as os from 'os';
import * as path from 'path';
import {
  breakInstance,
  down,
  forgetFaults,
  masters,
  readTestbedState,
  TestbedState,
  TestbedVm,
  up,
} from './harness/index';
import { resolveLayout } from './harness/layout';
import { directorInstances } from './harness/director-client';
import { sudo } from './harness/openssh';
import { waitFor } from './harness/sh';

const ETCDCTL = 'ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl';

const rows = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(', '));

async function monitEtcd(s: TestbedState, vm: TestbedVm, re: RegExp, what: string) {
  await waitFor(
    what,
    60_000,
    async () => re.test((await sudo(s, vm, 'monit summary', { allowFail: true })).stdout),
    300,
  );
}

/** job_state of every instance with a VM (the errand apply-addons has none), by instance id. */
async function instanceStates(s: TestbedState): Promise<Map<string, string | null>> {
  const lines = await directorInstances(s);
  const withVm = lines.filter((l) => s.vms.some((v) => v.id === l.id));
  assert.strictEqual(
    withVm.length,
    s.vms.filter((v) => v.group !== 'jumpbox').length,
    'the Director should list every master and worker',
  );
  return new Map(withVm.map((l) => [l.id, l.job_state]));
}

interface TableRow {
  endpoint: string;
  id: string;
  term: number;
  index: number;
  leader: boolean;
}
function parseEndpointTable(out: string): TableRow[] {
  const lines = out.split('\n').filter((l) => l.startsWith('|'));
  const header = lines[0].split('|').map((c) => c.trim());
  const col = (name: string) => header.indexOf(name);
  return lines.slice(1).map((l) => {
    const c = l.split('|').map((x) => x.trim());
    return {
      endpoint: c[col('ENDPOINT')],
      id: c[col('ID')],
      term: Number(c[col('RAFT TERM')]),
      index: Number(c[col('RAFT INDEX')]),
      leader: c[col('IS LEADER')] === 'true',
    };
  });
}

/**
 * Runbook steps 3-5 on the broken VM `bad` (membership commands run on `on`, the broken VM itself in
 * the transcript). Returns the outputs for the assertions.
 */
async function replaceMember(s: TestbedState, bad: TestbedVm, on: TestbedVm, expectedMembers: number) {
  // 3. monit stop etcd; member list shows all members; member remove the broken one
  await sudo(s, bad, 'monit stop etcd');
  await monitEtcd(s, bad, /etcd\s+Not monitored\s/, 'monit to report etcd not monitored');
  const listed = rows((await sudo(s, on, `${ETCDCTL} member list`)).stdout);
  assert.strictEqual(listed.length, expectedMembers, `member list before the removal: ${JSON.stringify(listed)}`);
  for (const m of masters(s))
    assert.ok(
      listed.some((r) => r[2] === m.id),
      `member ${m.id} missing from the list`,
    );
  const hexId = listed.find((r) => r[2] === bad.id)![0];
  assert.match(hexId, /^[0-9a-f]+$/);
  const removed = await sudo(s, on, `${ETCDCTL} member remove ${hexId}`);
  assert.match(removed.stdout, new RegExp(`^Member\\s+${hexId} removed from cluster [0-9a-f]+`, 'm'));
  assert.strictEqual(rows((await sudo(s, on, `${ETCDCTL} member list`)).stdout).length, expectedMembers - 1);

  // 4. mkdir/chown member/, source utils.sh, member add with ${etcd_peer_address}
  await sudo(
    s,
    bad,
    'rm -rf /var/vcap/store/etcd/*; mkdir -p /var/vcap/store/etcd/member; chown vcap:vcap /var/vcap/store/etcd/member',
  );
  const added = await sudo(
    s,
    bad,
    `source /var/vcap/jobs/etcd/bin/utils.sh; ${ETCDCTL} member add ${bad.id} --peer-urls \${etcd_peer_address}`,
  );
  // etcdctl pads ids to 16 columns ("Member  376dc4c9f1d9f86 added"): ids may be 15 hex digits
  assert.match(added.stdout, /^Member\s+[0-9a-f]+ added to cluster [0-9a-f]+/m);
  assert.match(added.stdout, new RegExp(`^ETCD_NAME="${bad.id}"$`, 'm'));
  assert.match(
    added.stdout,
    new RegExp(`^ETCD_INITIAL_CLUSTER=".*${bad.id}=https://master-${bad.index}\\.etcd\\.cfcr\\.internal:2380.*"$`, 'm'),
  );
  assert.match(
    added.stdout,
    new RegExp(`^ETCD_INITIAL_ADVERTISE_PEER_URLS="https://master-${bad.index}\\.etcd\\.cfcr\\.internal:2380"$`, 'm'),
  );
  assert.match(added.stdout, /^ETCD_INITIAL_CLUSTER_STATE="existing"$/m);
  const unstarted = rows((await sudo(s, on, `${ETCDCTL} member list`)).stdout);
  const fresh = unstarted.find((r) => r[3] === `https://master-${bad.index}.etcd.cfcr.internal:2380`)!;
  assert.strictEqual(fresh[1], 'unstarted');
  assert.strictEqual(fresh[2], '', 'an unstarted member has no name yet');

  // 5. monit start etcd; all members started; endpoint status agrees
  await sudo(s, bad, 'monit start etcd');
  await monitEtcd(s, bad, /etcd\s+OK\s/, 'monit to report etcd OK');
  await waitFor(
    `${expectedMembers} members started`,
    60_000,
    async () => {
      const r = rows((await sudo(s, on, `${ETCDCTL} member list`)).stdout);
      return (
        r.length === expectedMembers &&
        r.every((x) => x[1] === 'started') &&
        masters(s).every((m) => r.some((x) => x[2] === m.id))
      );
    },
    500,
  );
  let table: TableRow[] = [];
  await waitFor(
    'raft indexes to agree',
    30_000,
    async () => {
      table = parseEndpointTable((await sudo(s, bad, `${ETCDCTL} endpoint status -w table`)).stdout);
      return (
        table.length === expectedMembers &&
        new Set(table.map((t) => t.term)).size === 1 &&
        Math.max(...table.map((t) => t.index)) - Math.min(...table.map((t) => t.index)) <= 1
      );
    },
    500,
  );
  assert.strictEqual(table.filter((t) => t.leader).length, 1, 'exactly one leader');
  for (const m of masters(s))
    assert.ok(table.some((t) => t.endpoint === `https://master-${m.index}.etcd.cfcr.internal:2379`));
}

describe('runbook: replace a wiped etcd member by hand over ssh (3 masters)', function () {
  let s: TestbedState;
  before(() => {
    s = readTestbedState();
  });

  it('breaks with wipe, shows the symptoms, and the runbook brings the member back', async () => {
    const target = masters(s)[1];
    const keys = Array.from({ length: 20 }, (_, i) => `/runbook/key-${i}`);
    // 1. reach the master: everything running
    const summary = await sudo(s, target, 'monit summary');
    for (const p of ['etcd', 'kube-apiserver']) assert.match(summary.stdout, new RegExp(`${p}\\s+OK\\s+Process`));
    await sudo(
      s,
      masters(s)[0],
      keys.map((k) => `${ETCDCTL} put ${k} value-of-${path.basename(k)} >/dev/null`).join(' && '),
    );
    const initial = await instanceStates(s);
    assert.ok(
      [...initial.values()].every((v) => v === 'running'),
      `every instance should be running before the drill: ${JSON.stringify([...initial])}`,
    );

    // 2. break it: the runbook's wipe
    await breakInstance(`master/${target.id}`, 'wipe');
    await waitFor(
      'the Director to report the instance failing',
      90_000,
      async () => (await instanceStates(s)).get(target.id) === 'failing',
      1000,
    );
    await waitFor(
      '`unhealthy cluster` in etcd.stderr.log',
      60_000,
      async () =>
        /Error: etcdserver: unhealthy cluster/.test(
          (await sudo(s, target, 'cat /var/vcap/sys/log/etcd/etcd.stderr.log')).stdout,
        ),
      500,
    );
    const others = [...(await instanceStates(s)).entries()].filter(([id]) => id !== target.id);
    assert.ok(
      others.every(([, st]) => st === 'running'),
      `only the wiped instance should fail: ${JSON.stringify(others)}`,
    );

    // 3-5 on the broken VM itself, as in the transcript
    await replaceMember(s, target, target, masters(s).length);
    forgetFaults(`master/${target.id}`); // repaired by the runbook: a later suite's `heal` must not refuse it

    await waitFor(
      'the Director to report every instance running',
      60_000,
      async () => [...(await instanceStates(s)).values()].every((v) => v === 'running'),
      1000,
    );
    // keys written before the drill are on the new member
    const got = await sudo(s, target, `LOCAL=true ${ETCDCTL} get /runbook/ --prefix --keys-only --consistency=s`);
    assert.deepStrictEqual(got.stdout.split('\n').filter(Boolean).sort(), [...keys].sort());
    const v = await sudo(s, target, `LOCAL=true ${ETCDCTL} get /runbook/key-7 --print-value-only`);
    assert.strictEqual(v.stdout.trim(), 'value-of-key-7');
  });
});

describe('runbook with 5 masters: the bootstrap instance and the split-brain hazard', function () {
  const tier = resolveLayout();
  const [, a, b] = tier.net.split('.').map(Number);
  const net = `127.${(a + 50) % 256}.${b}`;
  // one folder per tier testbed: a run killed before its `after` hook is cleaned up by the next one
  const dir = path.join(os.tmpdir(), `tb-five-${crypto.createHash('sha1').update(tier.dir).digest('hex').slice(0, 8)}`);
  let s: TestbedState;

  before(async () => {
    await down({ dir, net });
    s = await up({ dir, net, masters: 5 });
  });
  after(async () => {
    await down({ dir, net });
  });

  it('a wiped bootstrap instance starts a brand-new one-member cluster; the runbook (rm, member add, existing) rejoins it', async () => {
    const [boot, good] = masters(s);
    assert.strictEqual(boot.bootstrap, true);
    assert.strictEqual(rows((await sudo(s, good, `${ETCDCTL} member list`)).stdout).length, 5);
    await sudo(s, good, `${ETCDCTL} put /five/before yes`);
    // the start script itself says so: no member/ on the bootstrap instance → state new, only itself
    const script = (await sudo(s, boot, 'cat /var/vcap/jobs/etcd/bin/etcd')).stdout;
    assert.match(script, /CLUSTER_STATE="new"\n\s*CLUSTER="[0-9a-f-]{36}=\$\{etcd_peer_address\}"/);

    await breakInstance(`master/${boot.index}`, 'wipe', { dir, net });
    // split brain: the bootstrap VM now serves its own single-member cluster, without the data
    await waitFor(
      'the bootstrap instance to serve a new single-member cluster',
      60_000,
      async () => {
        const r = await sudo(s, boot, `LOCAL=true ${ETCDCTL} --dial-timeout=1s --command-timeout=2s member list`, {
          allowFail: true,
        });
        return r.code === 0 && rows(r.stdout).length === 1 && rows(r.stdout)[0][2] === boot.id;
      },
      500,
    );
    const rogue = await sudo(s, boot, `LOCAL=true ${ETCDCTL} get /five/before --print-value-only`);
    assert.strictEqual(rogue.stdout.trim(), '', 'the rogue cluster has none of the data');
    const real = rows((await sudo(s, good, `LOCAL=true ${ETCDCTL} member list`)).stdout);
    assert.strictEqual(real.length, 5, 'the real cluster still lists the bootstrap member');
    // same member id (derived from the peer URL), different cluster: the real members' messages are refused
    const clusterId = async (vm: TestbedVm) =>
      /"ClusterID" : (\d+)/.exec((await sudo(s, vm, `LOCAL=true ${ETCDCTL} endpoint status -w fields`)).stdout)![1];
    assert.notStrictEqual(
      await clusterId(boot),
      await clusterId(good),
      'the bootstrap instance should be in a cluster of its own',
    );
    await waitFor(
      "`cluster ID mismatch` in the bootstrap instance's etcd log",
      30_000,
      async () =>
        /cluster ID mismatch/.test((await sudo(s, boot, 'cat /var/vcap/sys/log/etcd/etcd.stderr.log')).stdout),
      500,
    );

    // the runbook, membership commands on a healthy master
    await replaceMember(s, boot, good, 5);
    const got = await sudo(s, boot, `LOCAL=true ${ETCDCTL} get /five/before --print-value-only --consistency=s`);
    assert.strictEqual(got.stdout.trim(), 'yes');
    await waitFor(
      'the Director to report every instance running',
      60_000,
      async () => [...(await instanceStates(s)).values()].every((v) => v === 'running'),
      1000,
    );
  });
});
