// The diagnosis against the testbed: for every fault mode, the finding's kind, severity and action
// (real etcd, sshd and monit; the Director stand-in). One 3-master testbed (the tier's root hook)
// and one 5-master testbed with a small quota of our own (net: the tier's with 10 added to the
// last number, e.g. 127.0.26 → 127.0.36), each healed after every fault.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  boshCliEnv,
  breakInstance,
  down,
  heal,
  masters,
  readTestbedState,
  up,
  type TestbedState,
} from './harness/index';
import { resolveLayout } from './harness/layout';
import { waitFor } from './harness/sh';
import { openDeploymentFromEnv } from '../../src/session/session';
import type { DeploymentSession } from '../../src/session/types';
import {
  diagnose,
  observeDeployment,
  type ActionFlow,
  type Diagnosis,
  type FindingKind,
  type Severity,
} from '../../src/diagnosis';

function open(state: TestbedState): DeploymentSession {
  return openDeploymentFromEnv(boshCliEnv(state), {
    gatewayKnownHostsPath: state.staticSsh.knownHostsPath,
    etcdCallTimeoutMs: 3000,
  });
}

async function diagnoseWith(session: DeploymentSession): Promise<Diagnosis> {
  return diagnose(await observeDeployment(session, { endpointDeadlineMs: 3000 }));
}

async function diagnoseOnce(state: TestbedState): Promise<Diagnosis> {
  const s = open(state);
  try {
    return await diagnoseWith(s);
  } finally {
    await s.dispose();
  }
}

const show = (d: Diagnosis) =>
  d.findings
    .map(
      (f) => `  ${f.severity} ${f.kind} ${f.instance?.label ?? ''} [${f.action.flow}] ${f.cause ?? ''}: ${f.evidence}`,
    )
    .join('\n');

interface Expect {
  kind: FindingKind;
  severity: Severity;
  flow: ActionFlow;
  instanceId?: string;
  cause?: string;
}

const matches = (d: Diagnosis, e: Expect) =>
  d.findings.find(
    (f) =>
      f.kind === e.kind &&
      (!e.instanceId || f.instance?.id === e.instanceId) &&
      f.severity === e.severity &&
      f.action.flow === e.flow &&
      (!e.cause || f.cause === e.cause),
  );

/** Diagnoses until the expected finding shows (a fault takes a moment to show: monit retries, logs). */
async function expectFinding(state: TestbedState, e: Expect, timeoutMs = 90_000): Promise<Diagnosis> {
  let last: Diagnosis | undefined;
  try {
    return await waitFor(
      `finding ${e.kind}`,
      timeoutMs,
      async () => {
        last = await diagnoseOnce(state);
        return matches(last, e) ? last : undefined;
      },
      1000,
    );
  } catch {
    assert.fail(
      `expected ${e.severity} ${e.kind} [${e.flow}]${e.cause ? ` (${e.cause})` : ''} for ${e.instanceId ?? 'the cluster'}; got:\n${last ? show(last) : '(no diagnosis)'}`,
    );
  }
}

describe('diagnosis on the testbed (3 masters)', function () {
  this.timeout(300_000);
  let state: TestbedState;
  const m = (i: number) => masters(state)[i];

  before(() => {
    state = readTestbedState(resolveLayout().stateFile);
  });
  afterEach(async () => {
    await heal(undefined, { rebuild: true });
  });

  it('a healthy cluster: one healthy finding, exit worst ok, every VM probed', async () => {
    const s = open(state);
    try {
      const obs = await observeDeployment(s, { endpointDeadlineMs: 3000 });
      const d = diagnose(obs);
      assert.strictEqual(d.summary.worst, 'ok', show(d));
      assert.strictEqual(d.findings[0].kind, 'healthy');
      assert.deepStrictEqual(
        Object.values(obs.probes).map((p) => [p.reachable, p.localHealth?.healthy, p.memberDirExists]),
        masters(state).map(() => [true, true, true]),
      );
      assert.ok(obs.hashRevision, 'hashKV compared');
    } finally {
      await s.dispose();
    }
  });

  it('wipe: member-down (self-add refused: unhealthy cluster), recover-member', async () => {
    await breakInstance(`master/${m(1).id}`, 'wipe');
    await expectFinding(state, {
      kind: 'member-down',
      severity: 'critical',
      flow: 'recover-member',
      instanceId: m(1).id,
      cause: 'unhealthy-cluster',
    });
  });

  it('corrupt: member-down (data corruption), recover-member', async () => {
    await breakInstance(`master/${m(2).id}`, 'corrupt');
    await expectFinding(state, {
      kind: 'member-down',
      severity: 'critical',
      flow: 'recover-member',
      instanceId: m(2).id,
      cause: 'data-corruption',
    });
  });

  it('stop: member-down (stopped), bosh', async () => {
    await breakInstance(`master/${m(1).id}`, 'stop');
    const d = await expectFinding(state, {
      kind: 'member-down',
      severity: 'critical',
      flow: 'bosh',
      instanceId: m(1).id,
      cause: 'stopped',
    });
    assert.match(d.findings.find((f) => f.kind === 'member-down')!.action.command ?? '', /monit start etcd/);
    assert.ok(!d.findings.some((f) => f.kind === 'quorum-lost'), show(d));
  });

  it('vm-down: member-down (VM down, from the Director), bosh cloud-check', async () => {
    await breakInstance(`master/${m(2).id}`, 'vm-down');
    const d = await expectFinding(state, {
      kind: 'member-down',
      severity: 'critical',
      flow: 'bosh',
      instanceId: m(2).id,
      cause: 'vm-down',
    });
    assert.match(d.findings.find((f) => f.kind === 'member-down')!.action.command ?? '', /cloud-check/);
  });

  it('ssh-drop: the same session reconnects and the cluster is healthy', async () => {
    const s = open(state);
    try {
      assert.strictEqual((await diagnoseWith(s)).summary.worst, 'ok');
      await breakInstance(`master/${m(1).id}`, 'ssh-drop');
      const d = await diagnoseWith(s);
      const healthy = d.findings.find((f) => f.kind === 'healthy');
      assert.ok(healthy, show(d));
      assert.strictEqual(healthy.severity, 'info');
      assert.strictEqual(healthy.action.flow, 'none');
      assert.strictEqual(d.summary.worst, 'ok', show(d));
    } finally {
      await s.dispose();
    }
  });

  it('slow-endpoint: member-down (runs but does not answer, even on the VM), bosh restart; the others are diagnosed', async () => {
    await breakInstance(`master/${m(1).id}`, 'slow-endpoint');
    const d = await expectFinding(state, {
      kind: 'member-down',
      severity: 'critical',
      flow: 'bosh',
      instanceId: m(1).id,
      cause: 'unresponsive',
    });
    assert.ok(
      !d.findings.some((f) => f.instance && f.instance.id !== m(1).id && f.severity !== 'info'),
      `only master/1 is reported:\n${show(d)}`,
    );
  });

  it('bootstrap wipe: split-brain, critical, recover-member (the bootstrap instance)', async () => {
    await breakInstance(`master/${m(0).id}`, 'bootstrap-wipe');
    const d = await expectFinding(state, {
      kind: 'split-brain',
      severity: 'critical',
      flow: 'recover-member',
      instanceId: m(0).id,
    });
    assert.strictEqual(d.summary.worst, 'critical');
    assert.match(d.summary.line, /SPLIT BRAIN/);
  });

  it('network path: unreachable-from-here, warning, no recovery offered', async () => {
    await breakInstance(`master/${m(2).id}`, 'network-path');
    const d = await expectFinding(state, {
      kind: 'unreachable-from-here',
      severity: 'warning',
      flow: 'none',
      instanceId: m(2).id,
    });
    assert.ok(!d.findings.some((f) => f.kind === 'member-down'), show(d));
    assert.ok(!d.findings.some((f) => f.action.flow === 'recover-member'), show(d));
  });
});

describe('diagnosis on the testbed (5 masters, 16 MiB quota)', function () {
  this.timeout(300_000);
  // its own second octet (as the other suites' extra testbeds): never a neighbour's tier net
  const [, a, b] = resolveLayout().net.split('.').map(Number);
  const net = `127.${(a + 120) % 256}.${b}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-diagnosis5-'));
  const opts = { dir, net };
  let state: TestbedState;
  const m = (i: number) => masters(state)[i];

  before(async () => {
    state = await up({ ...opts, masters: 5, quotaMb: 16 });
  });
  /** Set by the quorum-loss test: heal does not undo it (the quorum-restore flow does), the testbed goes down. */
  let quorumLost = false;
  after(async () => {
    await down(opts);
  });
  afterEach(async () => {
    if (!quorumLost) await heal(undefined, { ...opts, rebuild: true });
  });

  it('two down: two member-down findings, quorum holds', async () => {
    await breakInstance(`master/${m(3).id}`, 'two-down', opts);
    const d = await expectFinding(state, {
      kind: 'member-down',
      severity: 'critical',
      flow: 'bosh',
      instanceId: m(4).id,
      cause: 'stopped',
    });
    assert.ok(matches(d, { kind: 'member-down', severity: 'critical', flow: 'bosh', instanceId: m(3).id }), show(d));
    assert.ok(!d.findings.some((f) => f.kind === 'quorum-lost' || f.kind === 'no-leader'), show(d));
  });

  it("near quota: db-near-quota, warning (the job's quota read on the VM)", async () => {
    await breakInstance(`master/${m(0).id}`, 'near-quota', opts);
    const d = await expectFinding(state, { kind: 'db-near-quota', severity: 'warning', flow: 'none' });
    assert.match(
      d.findings.find((f) => f.kind === 'db-near-quota')!.evidence,
      /16\.0 MiB \(the job's --quota-backend-bytes\)/,
    );
  });

  it('NOSPACE: alarm-nospace, critical, recover-nospace', async () => {
    await breakInstance(`master/${m(0).id}`, 'nospace', opts);
    await expectFinding(state, { kind: 'alarm-nospace', severity: 'critical', flow: 'recover-nospace' });
  });

  // Last: the quorum-restore flow (not heal) brings a cluster back from this; the testbed is taken down after.
  it('quorum loss (three of five wiped): quorum-lost, critical, restore-quorum; the wiped members point to it, not to recover', async () => {
    quorumLost = true;
    await breakInstance(`master/${m(0).id}`, 'quorum-loss', opts);
    const d = await expectFinding(state, { kind: 'quorum-lost', severity: 'critical', flow: 'restore-quorum' });
    const q = d.findings.find((f) => f.kind === 'quorum-lost')!;
    assert.strictEqual(q.action.command, `bosh-etcd restore-quorum --deployment ${state.deployment}`);
    assert.match(q.action.text, /Restore etcd Quorum…/);
    assert.strictEqual(d.findings[0], q, `the quorum loss leads:\n${show(d)}`);
    for (const i of [0, 1, 2]) {
      const f = d.findings.find((x) => x.kind === 'member-down' && x.instance?.id === m(i).id);
      assert.ok(f, `member-down for master/${i}:\n${show(d)}`);
      assert.strictEqual(f.severity, 'critical');
      assert.strictEqual(f.cause, 'data-missing');
      assert.strictEqual(f.action.flow, 'restore-quorum');
      assert.strictEqual(f.action.command, q.action.command);
    }
    assert.ok(!d.findings.some((f) => f.action.flow === 'recover-member'), show(d));
    assert.ok(!d.findings.some((f) => /bosh-etcd recover /.test(f.action.text)), show(d));
  });
});
