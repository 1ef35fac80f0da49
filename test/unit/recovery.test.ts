// Unit tests of the recovery engine's pure parts: plan decisions from recorded observations, command
// building / quoting / validation, monit and probe parsing, transcript redaction (the CLI: cli.test.ts).
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { InstanceInfo } from '../../src/bosh/types';
import type { EndpointStatus, EtcdMember, EndpointResult, EndpointHealth, EtcdAlarm } from '../../src/etcd/types';
import * as cmd from '../../src/recovery/commands';
import { shellQuote } from '../../src/util/shell';
import { fixture } from './fixture-path';
import { parseEtcdctlError } from '../../src/etcd/parsers';
import { STEP_ORDER } from '../../src/recovery/events';
import { STEPS } from '../../src/recovery/steps';
import { rejectedByReconfigCheck } from '../../src/recovery/steps/membershipChange';
import {
  etcdMonitState,
  parseProbe,
  majorityClusterId,
  type Observation,
  type VmProbe,
  type MemberView,
} from '../../src/recovery/observe';
import { planRecovery, formatPlan } from '../../src/recovery/plan';
import { redact, Transcript } from '../../src/recovery/transcript';

const U = [
  'e02f8df6-eea8-4962-a61a-a3dfc309e390',
  '445885f0-cc03-4078-9c65-8c6c90198721',
  '84fb7e2a-5a75-4d77-9564-9975198b21ef',
  'aa5885f0-cc03-4078-9c65-8c6c90198721',
  'bb5885f0-cc03-4078-9c65-8c6c90198721',
];
// ids above 2^53 on purpose (exact hex ids, never through a JS number)
const IDS = ['17f206fd866fdab2', 'b56f3bdcde826086', '8e9e05c52164694d', 'c1a2b3c4d5e6f708', 'd1a2b3c4d5e6f709'];
const LEADER = IDS[0];

function inst(i: number, over: Partial<InstanceInfo> = {}): InstanceInfo {
  return {
    deployment: 'service-instance_x',
    group: 'master',
    id: U[i],
    index: i,
    processState: 'running',
    state: 'started',
    az: `z${i}`,
    ips: [`10.0.0.${i + 11}`],
    vmCid: `vm-${i}`,
    vmType: 'medium',
    agentId: `a${i}`,
    bootstrap: i === 0,
    ignore: false,
    diskCids: [],
    processes: [],
    vmCreatedAt: null,
    ...over,
  };
}
const peer = (i: number) => `https://master-${i}.etcd.cfcr.internal:2380`;
const client = (i: number) => `https://master-${i}.etcd.cfcr.internal:2379`;
const member = (i: number, over: Partial<EtcdMember> = {}): EtcdMember => ({
  id: IDS[i],
  name: U[i],
  peerURLs: [peer(i)],
  clientURLs: [client(i)],
  isLearner: false,
  ...over,
});
const okStatus = (i: number, over: Partial<EndpointStatus> = {}): EndpointResult<EndpointStatus> => ({
  endpoint: client(i),
  ok: true,
  tookMs: 2,
  value: {
    endpoint: client(i),
    memberId: IDS[i],
    version: '3.4.23',
    dbSize: 20480,
    leader: LEADER,
    raftTerm: '2',
    raftIndex: '100',
    errors: [],
    clusterId: 'c1',
    ...over,
  },
});
const okHealth = (i: number): EndpointResult<EndpointHealth> => ({
  endpoint: client(i),
  ok: true,
  tookMs: 2,
  value: { endpoint: client(i), healthy: true, tookMs: 2 },
});
const down = <T>(i: number): EndpointResult<T> => ({
  endpoint: client(i),
  ok: false,
  error: 'cannot reach the member (ECONNREFUSED)',
  tookMs: 1,
});

function probe(over: Partial<VmProbe> = {}): VmProbe {
  return {
    instance: 'x',
    reachable: true,
    monitEtcd: 'not-monitored',
    monitText: 'Not monitored',
    dataEntries: [],
    memberDir: { exists: false, owner: null, entries: [] },
    storeEntries: ['etcd'],
    freeKb: 50_000_000,
    peerAddress: peer(2),
    state: null,
    etcdAlive: false,
    etcdutl: false,
    raw: '',
    ...over,
  };
}

interface Spec {
  n?: number;
  target?: number;
  members?: EtcdMember[];
  down?: number[];
  status?: (i: number) => EndpointResult<EndpointStatus>;
  alarms?: EtcdAlarm[];
  vm?: Partial<VmProbe>;
  helperFreeKb?: number;
}

/** An observation as observeCluster would record it. Default: 3 masters, master-2 wiped (the runbook case). */
function obs(spec: Spec = {}): Observation {
  const n = spec.n ?? 3;
  const t = spec.target ?? 2;
  const instances = Array.from({ length: n }, (_, i) => inst(i));
  const members = spec.members ?? instances.map((_, i) => member(i));
  const downs = new Set(spec.down ?? [t]);
  const status = instances.map((_, i) => (downs.has(i) ? down<EndpointStatus>(i) : (spec.status ?? okStatus)(i)));
  const health = instances.map((_, i) => (downs.has(i) ? down<EndpointHealth>(i) : okHealth(i)));
  const majority = majorityClusterId(status, client(t));
  const views: MemberView[] = instances.map((x, i) => {
    const st = status[i];
    const split = st.ok && !!majority && st.value.clusterId !== majority;
    return {
      instance: x,
      label: `master/${x.id}`,
      endpointUrl: client(i),
      members: members.filter((m) => m.name === x.id || m.peerURLs.includes(peer(i))),
      status: st,
      health: health[i],
      healthy: !split && st.ok && health[i].ok,
      splitClusterId: split && st.ok ? st.value.clusterId : undefined,
    };
  });
  const helperIdx = instances.findIndex((_, i) => i !== t && !downs.has(i));
  return {
    at: '2026-11-26T13:00:00Z',
    findings: [],
    deployment: 'service-instance_x',
    targetLabel: `master/${U[t]}`,
    target: instances[t],
    instances,
    views,
    members,
    status,
    health,
    alarms: spec.alarms ?? [],
    targetVm: probe({ peerAddress: peer(t), ...spec.vm }),
    helper:
      helperIdx >= 0
        ? {
            label: `master/${U[helperIdx]}`,
            vm: probe({ freeKb: spec.helperFreeKb ?? 50_000_000, monitEtcd: 'running', etcdAlive: true }),
          }
        : null,
    errors: [],
  };
}

const NOW = new Date('2026-11-26T13:05:01Z');
const codes = (p: ReturnType<typeof planRecovery>) => p.refusals.map((r) => r.code);
const step = (p: ReturnType<typeof planRecovery>, id: string) => p.steps.find((s) => s.id === id)!;

describe('recovery plan decisions (recorded observations)', () => {
  it('the runbook case (master-2 wiped, stale member registered): eight steps, nothing refused, exact commands', () => {
    const p = planRecovery(obs(), { now: NOW });
    assert.deepStrictEqual(p.refusals, []);
    assert.deepStrictEqual(
      p.steps.map((s) => s.id),
      ['preflight', 'snapshot', 'stop', 'remove', 'mkdir', 'add', 'start', 'postcheck'],
    );
    assert.strictEqual(p.staleMemberId, IDS[2]);
    assert.strictEqual(p.ts, '20261126T130501Z');
    assert.strictEqual(p.clusterSize, 3);
    assert.strictEqual(p.quorum, 2);
    assert.strictEqual(
      step(p, 'remove').commands[0].command,
      `ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl member remove ${IDS[2]}`,
    );
    assert.strictEqual(
      step(p, 'add').commands[0].command,
      `bash -c 'source /var/vcap/jobs/etcd/bin/utils.sh; ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl member add ${U[2]} --peer-urls \${etcd_peer_address}'`,
    );
    assert.strictEqual(
      step(p, 'snapshot').commands[0].command,
      'mkdir -p /var/vcap/store/etcd-snapshots && LOCAL=true ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl snapshot save /var/vcap/store/etcd-snapshots/20261126T130501Z.db',
    );
    assert.strictEqual(step(p, 'snapshot').commands[0].host, `master/${U[0]}`);
    assert.strictEqual(
      step(p, 'mkdir').commands[0].command,
      'mkdir -p /var/vcap/store/etcd/member; chown vcap:vcap /var/vcap/store/etcd/member',
    );
    // wiped and stopped: monit stop and the move are recognised as done; everything else is to do
    const stop = step(p, 'stop').commands;
    assert.deepStrictEqual(
      stop.map((c) => c.done),
      [true, false, true],
    );
    // the recovery record is written once etcd is stopped (and the snapshot has read back), before the move
    assert.deepStrictEqual(
      stop.map((c) => c.command.split(' ')[0]),
      ['monit', 'printf', cmd.assertEtcdStopped().split(' ')[0]],
    );
    for (const id of ['snapshot', 'remove', 'mkdir', 'add', 'start']) assert.strictEqual(step(p, id).done, false, id);
    assert.ok(p.evidence.some((e) => /unhealthy/.test(e)));
    assert.match(formatPlan(p), /member remove 8e9e05c52164694d/);
  });

  it('reads the snapshot with etcdutl only where the snapshot member runs etcd 3.5 and its VM has etcdutl', () => {
    const statusCmd = (version: string, etcdutl: boolean) => {
      const o = obs({ status: (i) => okStatus(i, { version }) });
      o.helper!.vm.etcdutl = etcdutl;
      return step(planRecovery(o, { now: NOW }), 'snapshot').commands[1].command;
    };
    const file = '/var/vcap/store/etcd-snapshots/20261126T130501Z.db';
    assert.strictEqual(
      statusCmd('3.5.16', true),
      `/var/vcap/packages/etcd/bin/etcdutl snapshot status ${file} -w table`,
    );
    for (const [version, etcdutl] of [
      ['3.5.16', false],
      ['3.4.23', true],
      ['3.4.23', false],
    ] as const)
      assert.strictEqual(
        statusCmd(version, etcdutl),
        `ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl snapshot status ${file} -w table`,
        `${version}, etcdutl ${etcdutl}`,
      );
  });

  it('corrupt data (member/ with files, monit running the crash loop): stop and move are to do', () => {
    const p = planRecovery(
      obs({
        vm: {
          monitEtcd: 'start-pending',
          monitText: 'Not monitored - start pending',
          dataEntries: ['member'],
          memberDir: { exists: true, owner: 'vcap:vcap', entries: ['snap', 'wal'] },
        },
      }),
      { now: NOW },
    );
    assert.deepStrictEqual(p.refusals, []);
    assert.deepStrictEqual(
      step(p, 'stop').commands.map((c) => c.done),
      [false, false, false],
    );
    assert.strictEqual(
      step(p, 'stop').commands[2].command,
      `${cmd.assertEtcdStopped()}; mkdir -p /var/vcap/store/etcd.bak-20261126T130501Z && find /var/vcap/store/etcd -mindepth 1 -maxdepth 1 -exec mv -t /var/vcap/store/etcd.bak-20261126T130501Z {} +`,
    );
    assert.strictEqual(step(p, 'mkdir').done, false, 'member/ is moved aside first, so it must be recreated');
  });

  it('refuses a healthy target and says which instance is broken', () => {
    const p = planRecovery(obs({ target: 1, down: [2] }), { now: NOW });
    const r = p.refusals.find((x) => x.code === 'target-healthy');
    assert.ok(r);
    assert.ok(r!.message.includes(U[2]) && r!.advice.includes(U[2]));
  });

  it('refuses when quorum is lost without the target (two members down)', () => {
    const p = planRecovery(obs({ down: [1, 2] }), { now: NOW });
    assert.ok(codes(p).includes('quorum'), JSON.stringify(p.refusals));
  });

  it('refuses with two members only', () => {
    const p = planRecovery(obs({ n: 2, target: 1 }), { now: NOW });
    assert.ok(codes(p).includes('too-few-members'));
  });

  it('refuses without a leader, and when the healthy members disagree on it', () => {
    assert.ok(
      codes(planRecovery(obs({ status: (i) => okStatus(i, { leader: '0' }) }), { now: NOW })).includes('no-leader'),
    );
    assert.ok(
      codes(
        planRecovery(obs({ status: (i) => okStatus(i, { leader: i === 0 ? IDS[0] : IDS[1] }) }), { now: NOW }),
      ).includes('members-disagree'),
    );
  });

  it("refuses identity mismatches: another name at the target's peer URL, duplicates, unknown names", () => {
    const wrongName = obs({ members: [member(0), member(1), member(2, { name: U[1] })] });
    assert.ok(codes(planRecovery(wrongName, { now: NOW })).includes('identity-mismatch'));
    const stranger = obs({ members: [member(0), member(1), member(2, { name: 'not-an-instance' })] });
    assert.ok(
      planRecovery(stranger, { now: NOW }).refusals.some(
        (r) => r.code === 'identity-mismatch' && r.message.includes('not-an-instance'),
      ),
    );
    const wrongPeer = obs({ members: [member(0), member(1), member(2, { peerURLs: [peer(1)] })] });
    assert.ok(codes(planRecovery(wrongPeer, { now: NOW })).includes('peer-url-mismatch'));
    const utils = obs({ vm: { peerAddress: peer(1) } });
    assert.ok(
      planRecovery(utils, { now: NOW }).refusals.some(
        (r) => r.code === 'peer-url-mismatch' && r.message.includes(peer(1)),
      ),
    );
  });

  it('refuses a second learner, and --learner on etcd 3.3', () => {
    const stray: EtcdMember = {
      id: 'abcdef0123456789',
      name: '',
      peerURLs: ['https://master-9.etcd.cfcr.internal:2380'],
      clientURLs: [],
      isLearner: true,
    };
    const p = planRecovery(obs({ members: [member(0), member(1), member(2), stray] }), { now: NOW });
    assert.ok(p.refusals.some((r) => r.code === 'second-learner' && r.message.includes(stray.id)));
    const old = planRecovery(obs({ status: (i) => okStatus(i, { version: '3.3.17' }) }), { now: NOW, learner: true });
    assert.ok(codes(old).includes('learner-unsupported'));
    const fine = planRecovery(obs(), { now: NOW, learner: true });
    assert.deepStrictEqual(fine.refusals, []);
    assert.match(step(fine, 'add').commands[0].command, / --learner'$/);
    assert.ok(step(fine, 'start').commands.some((c) => /member promote <id of the new member>/.test(c.command)));
  });

  it('refuses alarms on healthy members but not a CORRUPT alarm of the dead member', () => {
    assert.ok(
      codes(planRecovery(obs({ alarms: [{ memberId: IDS[0], alarm: 'NOSPACE' }] }), { now: NOW })).includes('alarm'),
    );
    assert.deepStrictEqual(
      planRecovery(obs({ alarms: [{ memberId: IDS[2], alarm: 'CORRUPT' }] }), { now: NOW }).refusals,
      [],
    );
  });

  it('refuses when the snapshot member or the target lacks disk space (before any change)', () => {
    const p = planRecovery(obs({ helperFreeKb: 1024, status: (i) => okStatus(i, { dbSize: 300 * 1024 * 1024 }) }), {
      now: NOW,
    });
    assert.ok(p.refusals.some((r) => r.code === 'disk-space' && r.message.includes(`master/${U[0]}`)));
    const t = planRecovery(obs({ vm: { freeKb: 2048 } }), { now: NOW });
    assert.ok(t.refusals.some((r) => r.code === 'disk-space' && r.message.includes(`master/${U[2]}`)));
  });

  it('resumes from the state file: removed + re-added (unstarted) → steps 2–6 done, start to do', () => {
    const added: EtcdMember = {
      id: 'f00dfeedcafe1234',
      name: '',
      peerURLs: [peer(2)],
      clientURLs: [],
      isLearner: false,
    };
    const o = obs({
      members: [member(0), member(1), added],
      vm: {
        state: {
          ts: '20261126T120000Z',
          oldMemberId: IDS[2],
          snapshot: '/var/vcap/store/etcd-snapshots/20261126T120000Z.db',
          snapshotHost: `master/${U[0]}`,
        },
        dataEntries: ['member'],
        memberDir: { exists: true, owner: 'vcap:vcap', entries: [] },
      },
    });
    const p = planRecovery(o, { now: NOW });
    assert.deepStrictEqual(p.refusals, []);
    assert.strictEqual(p.resumed, true);
    assert.strictEqual(p.ts, '20261126T120000Z', 'the timestamp of the interrupted run is kept');
    assert.strictEqual(p.staleMemberId, null);
    assert.strictEqual(p.newMemberId, added.id);
    for (const id of ['snapshot', 'stop', 'remove', 'mkdir', 'add']) assert.strictEqual(step(p, id).done, true, id);
    assert.strictEqual(step(p, 'start').done, false);
  });

  it('resumed with the new member already started and healthy: not refused as healthy, only verification left', () => {
    const fresh: EtcdMember = {
      id: 'f00dfeedcafe1234',
      name: U[2],
      peerURLs: [peer(2)],
      clientURLs: [client(2)],
      isLearner: false,
    };
    const o = obs({
      members: [member(0), member(1), fresh],
      down: [],
      vm: {
        state: { ts: '20261126T120000Z', oldMemberId: IDS[2], snapshot: null, snapshotHost: null },
        monitEtcd: 'running',
        etcdAlive: true,
        dataEntries: ['member'],
        memberDir: { exists: true, owner: 'vcap:vcap', entries: ['snap', 'wal'] },
      },
    });
    const p = planRecovery(o, { now: NOW });
    assert.deepStrictEqual(p.refusals, []);
    assert.strictEqual(step(p, 'start').done, true);
    assert.strictEqual(step(p, 'postcheck').done, false);
  });

  it("recognises the start script's nameless self-added member: no second add", () => {
    const self: EtcdMember = {
      id: '0123456789abcdef',
      name: '',
      peerURLs: [peer(2)],
      clientURLs: [],
      isLearner: false,
    };
    const p = planRecovery(obs({ members: [member(0), member(1), self] }), { now: NOW });
    assert.deepStrictEqual(p.refusals, []);
    assert.strictEqual(step(p, 'remove').done, true);
    assert.strictEqual(step(p, 'add').done, true);
    assert.strictEqual(p.newMemberId, self.id);
    assert.ok(p.notes.some((n) => /self-adding/.test(n)));
  });

  it('the bootstrap instance: explained in the plan; a split-off bootstrap member is evidence, not health', () => {
    const o = obs({
      target: 0,
      down: [],
      status: (i) => okStatus(i, i === 0 ? { clusterId: 'other', leader: IDS[0] } : { leader: IDS[1] }),
    });
    const p = planRecovery(o, { now: NOW });
    assert.deepStrictEqual(p.refusals, []);
    assert.ok(p.notes.some((n) => /bootstrap/.test(n) && /member\//.test(n)));
    assert.ok(
      p.evidence.some((e) => /split brain/.test(e)),
      p.evidence.join('\n'),
    );
  });

  it('majorityClusterId prefers the id most members report', () => {
    const st = [okStatus(0, { clusterId: 'a' }), okStatus(1, { clusterId: 'b' }), okStatus(2, { clusterId: 'b' })];
    assert.strictEqual(majorityClusterId(st, client(1)), 'b');
    assert.strictEqual(
      majorityClusterId([okStatus(0, { clusterId: 'a' }), okStatus(1, { clusterId: 'b' })], client(0)),
      'b',
      'ties go against the target',
    );
  });

  it('five masters: quorum 3, one other down is fine, two others down is refused', () => {
    assert.deepStrictEqual(planRecovery(obs({ n: 5, target: 3, down: [3, 4] }), { now: NOW }).refusals, []);
    assert.ok(codes(planRecovery(obs({ n: 5, target: 3, down: [3, 4, 1] }), { now: NOW })).includes('quorum'));
  });
});

describe('recovery steps', () => {
  it('are the eight steps in order, each listing its commands and checks in the plan', () => {
    assert.deepStrictEqual(
      STEPS.map((x) => x.id),
      [...STEP_ORDER],
    );
    const p = planRecovery(obs({ n: 3, target: 2, down: [2] }), { now: NOW });
    assert.deepStrictEqual(
      p.steps.map((x) => [x.number, x.title]),
      STEPS.map((x, i) => [i + 1, x.title]),
    );
    assert.ok(p.steps.every((x) => x.commands.length > 0 && x.checks.length > 0));
  });

  it("sends a membership change again only when etcd's reconfiguration check rejected it (real etcdctl stderr)", () => {
    const classify = (stderr: string) => rejectedByReconfigCheck(parseEtcdctlError(stderr));
    assert.strictEqual(classify(fixture('etcdctl-3.4', 'member-add-duplicate.stderr.txt')), true);
    assert.strictEqual(
      classify('Error: etcdserver: re-configuration failed due to not enough started members\n'),
      true,
    );
    assert.strictEqual(classify(fixture('etcdctl-3.4', 'member-add-peer-exists.stderr.txt')), false);
    assert.strictEqual(classify(fixture('etcdctl-3.4', 'member-remove-notfound.stderr.txt')), false);
    assert.strictEqual(classify(fixture('etcdctl-3.4', 'member-promote-notready.stderr.txt')), false);
    assert.strictEqual(classify('connection to master/x dropped during the command'), false);
  });
});

describe('recovery command building, quoting and validation', () => {
  it('quotes for the POSIX shell', () => {
    assert.strictEqual(shellQuote('abc-1.2/x:y'), 'abc-1.2/x:y');
    assert.strictEqual(shellQuote("it's"), `'it'\\''s'`);
    assert.strictEqual(shellQuote('a b'), "'a b'");
    assert.strictEqual(shellQuote(''), "''");
    assert.strictEqual(cmd.memberRemove('8e9e05c52164694d').command.endsWith(' member remove 8e9e05c52164694d'), true);
    assert.strictEqual(
      cmd
        .snapshotStatus('20261126T130501Z')
        .command.includes(' snapshot status /var/vcap/store/etcd-snapshots/20261126T130501Z.db -w table'),
      true,
    );
  });

  for (const bad of [
    '8e9e; reboot',
    '$(id)',
    '`id`',
    'ab cd',
    '8e9e\n',
    "8e9e'",
    'DEADBEEF',
    '0',
    '12345678901234567',
    '',
  ]) {
    it(`rejects member id ${JSON.stringify(bad)} before building a command`, () => {
      assert.throws(() => cmd.memberRemove(bad), cmd.ValidationError);
      assert.throws(() => cmd.memberPromote(bad), cmd.ValidationError);
    });
  }

  for (const bad of ['x; rm -rf /', 'a|b', '$(reboot)', 'a&&b', '../etc', 'a b', 'uuid\n', "o'brien", '']) {
    it(`rejects instance id ${JSON.stringify(bad)}`, () => {
      assert.throws(() => cmd.memberAdd(bad, false), cmd.ValidationError);
      assert.throws(() => cmd.validateInstanceLabel(`master/${bad}`), cmd.ValidationError);
    });
  }

  for (const bad of [
    'https://master-0.etcd.cfcr.internal:2380;reboot',
    'http://master-0.etcd.cfcr.internal:2380',
    'https://$(id):2380',
    'https://a b:2380',
    'https://master-0.etcd.cfcr.internal',
    'https://MASTER:2380',
  ]) {
    it(`rejects peer URL ${JSON.stringify(bad)}`, () =>
      assert.throws(() => cmd.validatePeerUrl(bad), cmd.ValidationError));
  }

  it('builds the runbook commands from validated values (64-bit ids kept exactly)', () => {
    assert.strictEqual(cmd.validatePeerUrl(cmd.expectedPeerUrl(2)), 'https://master-2.etcd.cfcr.internal:2380');
    assert.strictEqual(
      cmd.memberRemove('8e9e05c52164694d').command,
      'ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl member remove 8e9e05c52164694d',
    );
    assert.strictEqual(
      cmd.memberPromote('ffffffffffffffff').command,
      'ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl member promote ffffffffffffffff',
    );
    assert.strictEqual(cmd.monitStop().mutates, true);
    assert.strictEqual(cmd.probeVm().mutates, false);
    assert.strictEqual(cmd.memberList().mutates, false);
    assert.throws(() => cmd.backupDirFor('2026-11-26; rm'), cmd.ValidationError);
    assert.throws(() => cmd.writeStateFile('20261126T130501Z', 'zz', null), cmd.ValidationError);
    const marker = cmd.writeStateFile('20261126T130501Z', 'abc', `master/${U[0]}`, { runId: 'run-1' }).command;
    assert.match(marker, /> \/var\/vcap\/store\/etcd-recovery\.state\.tmp && mv -f /);
    assert.match(marker, /old_member_id=abc/);
    assert.match(marker, /run_id=run-1/);
  });
});

describe('recovery: monit and VM probe parsing', () => {
  it("reads etcd's state through the monit parser: 5.2.5 (BOSH) and 5.33 (Debian, columns and boxes, truncated)", () => {
    assert.deepStrictEqual(
      etcdMonitState(
        "The Monit daemon 5.2.5 uptime: 1h\n\nProcess 'kube-apiserver'            running\nProcess 'etcd'                      running\nSystem 'system_x'                   running\n",
      ),
      { state: 'running', text: 'running' },
    );
    assert.strictEqual(etcdMonitState("Process 'etcd'                      not monitored\n").state, 'not-monitored');
    assert.deepStrictEqual(etcdMonitState("Process 'etcd'                      not monitored - stop pending\n"), {
      state: 'stop-pending',
      text: 'not monitored - stop pending',
    });
    assert.strictEqual(
      etcdMonitState("Process 'etcd'                      running - restart pending\n").state,
      'start-pending',
    );
    assert.strictEqual(etcdMonitState("Process 'etcd'                      Execution failed\n").state, 'failed');
    assert.strictEqual(etcdMonitState("Process 'etcd'                      Does not exist\n").state, 'does-not-exist');
    assert.strictEqual(etcdMonitState("Process 'etcd'                      initializing\n").state, 'initializing');
    // a real capture right after `monit start etcd`: the column is cut inside the word "pending"
    const cols = fixture('monit', 'monit-5.33-summary-start-pending.txt');
    assert.deepStrictEqual(etcdMonitState(cols), { state: 'start-pending', text: 'Not monitored - start pending' });
    assert.strictEqual(
      etcdMonitState(cols.replace('Not monitored - start p...', 'Not monitored             ')).state,
      'not-monitored',
    );
    assert.strictEqual(
      etcdMonitState(cols.replace('Not monitored - start p...', 'OK                        ')).state,
      'running',
    );
    assert.strictEqual(
      etcdMonitState('│ etcd                            │ OK                         │ Process     │\n').state,
      'running',
    );
    assert.strictEqual(etcdMonitState(cols.replace(' etcd      ', ' etcd-proxy')).state, 'missing');
    assert.deepStrictEqual(
      etcdMonitState('Cannot create socket to [localhost]:2822 -- Connection refused\n'),
      { state: 'unknown', text: 'Cannot create socket to [localhost]:2822 -- Connection refused' },
      'monit itself failing is told apart from etcd missing',
    );
  });

  it('parses a recorded probe of a wiped master', () => {
    const out = [
      '### monit',
      'Monit 5.33.0 uptime: 1m',
      ' Service Name                     Status                      Type          ',
      ' etcd                             Not monitored               Process       ',
      '### data',
      '### member',
      '### store',
      'etcd',
      'etcd-snapshots',
      'etcd.bak-20261126T120000Z',
      '### df',
      'Filesystem     1024-blocks    Used Available Capacity Mounted on',
      '/dev/sdb1        103081248 2182344  95639640       3% /var/vcap/store',
      '### peer',
      'https://master-2.etcd.cfcr.internal:2380',
      '### state',
      'ts=20261126T120000Z',
      'old_member_id=8e9e05c52164694d',
      'snapshot=/var/vcap/store/etcd-snapshots/20261126T120000Z.db',
      'snapshot_host=master/x',
      '### pid',
      '',
    ].join('\n');
    const p = parseProbe('master/x', out);
    assert.strictEqual(p.monitEtcd, 'not-monitored');
    assert.deepStrictEqual(p.dataEntries, []);
    assert.strictEqual(p.memberDir.exists, false);
    assert.strictEqual(p.freeKb, 95639640);
    assert.strictEqual(p.peerAddress, 'https://master-2.etcd.cfcr.internal:2380');
    assert.deepStrictEqual(
      { ...p.state, marker: undefined },
      {
        marker: undefined,
        ts: '20261126T120000Z',
        oldMemberId: '8e9e05c52164694d',
        snapshot: '/var/vcap/store/etcd-snapshots/20261126T120000Z.db',
        snapshotHost: 'master/x',
      },
    );
    assert.strictEqual(p.etcdAlive, false);
    const running = parseProbe(
      'm',
      out
        .replace('### data\n### member', '### data\nmember\n### member\nvcap:vcap\nsnap\nwal')
        .replace('### pid\n', '### pid\nalive'),
    );
    assert.deepStrictEqual(running.memberDir, { exists: true, owner: 'vcap:vcap', entries: ['snap', 'wal'] });
    assert.strictEqual(running.etcdAlive, true);
  });
});

describe('recovery transcript', () => {
  const KEY = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1\nabc\n-----END RSA PRIVATE KEY-----';
  const CERT = '-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----';
  const OSSH = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
  const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcHNfbWFuYWdlciJ9.c2lnbmF0dXJlLXZhbHVl';

  it('redacts PEM blocks, tokens, passwords and secrets, keeps file paths', () => {
    const text = `key:\n${KEY}\ncert ${CERT}\n${OSSH}\nAuthorization: Bearer ${JWT}\nBOSH_CLIENT_SECRET=s3cr3t-value\npassword: hunter2\n"client_secret":"abc123"\n--client-secret xyz\n--key /var/vcap/jobs/etcd/config/etcdctl.key`;
    const r = redact(text);
    for (const secret of [
      'MIIEowIBAAKCAQEAx1',
      'MIIDdzCCAl',
      'b3BlbnNzaC1rZXktdjEAAAAA',
      JWT,
      's3cr3t-value',
      'hunter2',
      'abc123',
      'xyz',
    ]) {
      assert.ok(!r.includes(secret), `${secret} leaked:\n${r}`);
    }
    assert.ok(r.includes('/var/vcap/jobs/etcd/config/etcdctl.key'), 'paths stay');
    assert.ok(r.includes('[REDACTED RSA PRIVATE KEY]') && r.includes('[REDACTED CERTIFICATE]'));
  });

  it('writes every event to a private Markdown file, redacted', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tx-unit-'));
    const t = new Transcript(dir, { deployment: 'd', target: `master/${U[2]}`, dryRun: false, started: NOW });
    const time = NOW.toISOString();
    t.record({
      type: 'step-start',
      time,
      step: 'remove',
      number: 4,
      total: 8,
      title: 'Remove the dead member',
      alreadyDone: false,
    });
    t.record({
      type: 'command',
      time,
      step: 'remove',
      host: `master/${U[2]}`,
      command: cmd.memberRemove(IDS[2]).command,
      purpose: 'x',
      mutates: true,
    });
    t.record({
      type: 'output',
      time,
      step: 'remove',
      host: `master/${U[2]}`,
      stream: 'stdout',
      text: `Member ${IDS[2]} removed\n${KEY}\n`,
    });
    t.record({
      type: 'command-done',
      time,
      step: 'remove',
      host: `master/${U[2]}`,
      command: 'x',
      exitCode: 0,
      signal: null,
      durationMs: 12,
    });
    t.record({ type: 'check', time, step: 'remove', name: 'dead member removed', ok: true, detail: 'gone' });
    t.record({ type: 'step-done', time, step: 'remove', number: 4, skipped: false });
    const p = t.write();
    const md = fs.readFileSync(p, 'utf8');
    assert.match(md, /## Step 4\/8: Remove the dead member/);
    assert.match(md, /member remove 8e9e05c52164694d/);
    assert.match(md, /Member 8e9e05c52164694d removed/);
    assert.match(md, /\*\*Verdict:\*\* step 4 done/);
    assert.ok(!md.includes('MIIEowIBAAKCAQEAx1'));
    assert.strictEqual(fs.statSync(p).mode & 0o777, 0o600);
  });
});
