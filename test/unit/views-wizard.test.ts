// The recovery wizard's flow through the Ui seam (ScriptedUi), with a recording stand-in for the
// engine (the real engine is exercised by the extension-host test against the testbed).
import * as assert from 'assert';
import { settledTrust } from '../../src/wizard/trust';
import { runWizard } from '../../src/wizard/wizardFlow';
import type { RunSink, WizardDeps } from '../../src/wizard/wizardTypes';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import { BoshTreeModel } from '../../src/views/treeModel';
import { planCommands } from '../../src/wizard/planDocument';
import { reviewTabName } from '../../src/wizard/reviewName';
import type { Plan, RecoveryOptions, RecoveryResult } from '../../src/recovery/events';
import { FAKE_ENV, fakeSession, makeWorld, type FakeWorld } from './views-fakes';
import type { ClusterObservation, VmProbe } from '../../src/diagnosis';
import { endpoint, member, observation, probe } from './observation-fixtures';

/**
 * A recorded observation of the fake world's deployment: every master healthy except master
 * `brokenIndex`, which does not answer from here and whose VM shows `brokenProbe` (default: its
 * data wiped: positive evidence that the recovery wizard is the fix).
 */
function worldObservation(
  w: FakeWorld,
  dep: string,
  brokenIndex = 1,
  brokenProbe?: VmProbe,
  alsoBroken: number[] = [],
): ClusterObservation {
  const all = w.instances.get(dep)!;
  const masters = all.filter((i) => i.group === 'master');
  const o = observation({ deployment: dep, instances: all, masters });
  const list = masters.map((m, k) => member(k, { name: m.id }));
  o.endpoints = masters.map((m, k) => ({ ...endpoint(k), instanceId: m.id, members: { ok: true, value: list } }));
  o.endpoints[brokenIndex] = {
    ...endpoint(brokenIndex, { down: 'connection refused' }),
    instanceId: masters[brokenIndex].id,
  };
  o.probes = Object.fromEntries(masters.map((m, k) => [m.id, probe(k)]));
  o.probes[masters[brokenIndex].id] = brokenProbe ?? probe(brokenIndex, { member: false, health: false, pid: '' });
  for (const k of alsoBroken) {
    o.endpoints[k] = { ...endpoint(k, { down: 'connection refused' }), instanceId: masters[k].id };
    o.probes[masters[k].id] = probe(k, { member: false, health: false, pid: '' });
  }
  return o;
}

function fakePlan(target: string, staleId: string): Plan {
  const cmd = (step: number, command: string, mutates = true) => ({
    host: target,
    command,
    purpose: `purpose ${step}`,
    mutates,
    done: false,
  });
  const titles = [
    'Pre-flight',
    'Snapshot',
    'Stop etcd',
    'Remove member',
    'Recreate member dir',
    'Add member',
    'Start etcd',
    'Post-checks',
  ];
  const ids = ['preflight', 'snapshot', 'stop', 'remove', 'mkdir', 'add', 'start', 'postcheck'] as const;
  return {
    deployment: 'd',
    target,
    targetId: target.split('/')[1],
    targetIndex: 1,
    targetBootstrap: false,
    ts: '20261126T130000Z',
    resumed: false,
    learner: false,
    peerUrl: 'https://master-1.etcd.cfcr.internal:2380',
    staleMemberId: staleId,
    newMemberId: null,
    snapshotHost: 'master/x',
    snapshotPath: '/var/vcap/store/etcd-snapshots/s.db',
    backupDir: '/var/vcap/store/etcd.bak-20261126T130000Z',
    evidence: ['endpoint unreachable'],
    notes: [],
    refusals: [],
    clusterSize: 3,
    quorum: 2,
    steps: ids.map((id, k) => ({
      id,
      number: k + 1,
      title: titles[k],
      description: `does ${id}`,
      commands: [cmd(k + 1, `echo step-${id} '${staleId}'`, id !== 'preflight')],
      checks: [`check ${id}`],
      done: false,
    })),
  };
}

function harness(
  outcomes: RecoveryResult['outcome'][],
  answers: ConstructorParameters<typeof ScriptedUi>[0],
  brokenProbe?: VmProbe,
  several?: { masters: number; alsoBroken: number[] },
) {
  const w = makeWorld(1, (several?.masters ?? 3) + 1, several?.masters ?? 3);
  const dep = w.deployments[0].name;
  const broken = w.instances.get(dep)![1];
  w.instances.get(dep)![1] = { ...broken, processState: 'failing' };
  w.down.add('https://master-1.etcd.cfcr.internal:2379');
  for (const k of several?.alsoBroken ?? []) {
    const i = w.instances.get(dep)![k];
    w.instances.get(dep)![k] = { ...i, processState: 'failing' };
    w.down.add(`https://master-${k}.etcd.cfcr.internal:2379`);
  }
  const model = new BoshTreeModel({
    environments: async () => [{ name: FAKE_ENV.name, config: FAKE_ENV }],
    openSession: (e) => fakeSession(w, e),
    observe: async () => worldObservation(w, dep, 1, brokenProbe, several?.alsoBroken),
  });
  const ui = new ScriptedUi(answers);
  const runs: { target: string; opts: RecoveryOptions }[] = [];
  const sinks: { text: string; finished?: string }[] = [];
  const reviews: string[] = [];
  const opened: string[] = [];
  let plan: Plan | undefined;
  const deps: WizardDeps = {
    ui,
    model,
    trusted: () => true,
    transcriptDir: () => '/tmp/transcripts-test',
    downloadSnapshotDefault: () => false,
    openRunSink: (): RunSink => {
      const s = { text: '' } as { text: string; finished?: string };
      sinks.push(s);
      return {
        write: (t) => {
          s.text += t;
        },
        onClose: () => undefined,
        finished: (o) => {
          s.finished = o;
        },
      };
    },
    showReview: async (md) => {
      reviews.push(md);
    },
    openHealthPanel: (e, d) => {
      opened.push(`${e}/${d}`);
    },
    openFile: async () => undefined,
    runRecovery: async (session, target, opts) => {
      runs.push({ target, opts });
      plan = fakePlan(target, 'a1b2c3d4e5f60718');
      const t = new Date().toISOString();
      opts.onEvent?.({ type: 'plan', time: t, plan });
      const outcome = outcomes[runs.length - 1];
      if (outcome === 'dry-run')
        return { outcome, message: 'dry', transcriptPath: '/tmp/t.md', plan, stepsRun: [], targets: [target] };
      const go = await opts.confirm!(plan);
      if (!go)
        return {
          outcome: 'declined',
          message: 'Not confirmed: nothing was changed.',
          transcriptPath: '/tmp/t.md',
          plan,
          stepsRun: [],
          targets: [target],
        };
      opts.onEvent?.({
        type: 'step-start',
        time: t,
        step: 'stop',
        number: 3,
        total: 8,
        title: 'Stop etcd',
        alreadyDone: false,
      });
      opts.onEvent?.({
        type: 'command',
        time: t,
        step: 'stop',
        host: target,
        command: 'monit stop etcd',
        purpose: 'stop',
        mutates: true,
      });
      if (outcome === 'failed') {
        opts.onEvent?.({
          type: 'step-failed',
          time: t,
          step: 'stop',
          number: 3,
          error: 'exit 1: monit: cannot connect',
          advice: 'check monit',
        });
        return {
          outcome,
          message: 'Step 3 (Stop etcd) failed: exit 1',
          advice: 'check monit',
          failedStep: 'stop',
          transcriptPath: '/tmp/t.md',
          plan,
          stepsRun: [],
          targets: [target],
        };
      }
      return {
        outcome: 'recovered',
        message: 'Recovered',
        transcriptPath: '/tmp/t.md',
        plan,
        stepsRun: ['stop'],
        targets: [target],
      };
    },
  };
  return { w, dep, broken, ui, deps, runs, sinks, reviews, opened, plan: () => plan! };
}

describe('views: recovery wizard flow (Ui seam)', () => {
  it('preselects the broken member with its evidence, shows every command for review, confirms with a consequence, runs, opens the panel', async () => {
    const h = harness(['recovered'], {
      pick: { member: { preselected: true }, options: () => [] },
      confirm: { recover: true },
    });
    const res = await runWizard(h.deps, {});
    assert.strictEqual(res.outcome, 'recovered');
    const memberPrompt = h.ui.prompts.find((p) => p.id === 'member')!;
    const pre = memberPrompt.items!.find((i) => i.picked)!;
    assert.ok(pre.label.includes(h.broken.id), 'the broken instance is preselected');
    assert.match(pre.detail ?? '', /the data was wiped/);
    assert.strictEqual(memberPrompt.items!.filter((i) => i.picked).length, 1, 'only the broken member');
    assert.strictEqual(h.runs[0].target, `master/${h.broken.id}`);
    assert.strictEqual(h.runs[0].opts.dryRun, false);
    for (const c of planCommands(h.plan())) assert.ok(h.reviews[0].includes(c), `review lists ${c}`);
    const confirm = h.ui.prompts.find((p) => p.kind === 'confirm')!;
    assert.match(
      confirm.title,
      new RegExp(
        `Remove member a1b2c3d4e5f60718 \\(instance master/${h.broken.id} in AZ pks-az2\\) from the etcd cluster and re-add it with empty data`,
      ),
    );
    assert.strictEqual(confirm.confirmLabel, 'Remove and Re-add Member');
    assert.match(h.sinks[0].text, /monit stop etcd/);
    assert.deepStrictEqual(h.opened, [`${FAKE_ENV.name}/${h.dep}`]);
  });

  it('cancel at the member prompt runs nothing; declining the modal changes nothing and says so', async () => {
    const h1 = harness(['recovered'], { pick: { member: undefined } });
    assert.strictEqual((await runWizard(h1.deps, {})).outcome, 'aborted');
    assert.strictEqual(h1.runs.length, 0);
    const h2 = harness(['recovered'], {
      pick: { member: { preselected: true }, options: () => [] },
      confirm: { recover: false },
    });
    const r2 = await runWizard(h2.deps, {});
    assert.strictEqual(r2.outcome, 'declined');
    assert.ok(h2.ui.messages('info').some((m) => /nothing was changed/.test(m)));
    assert.doesNotMatch(h2.sinks[0].text, /monit stop/);
  });

  it('on failure stops, explains, and Resume runs the engine again', async () => {
    const h = harness(['failed', 'recovered'], {
      pick: { member: { preselected: true }, options: () => [] },
      confirm: { recover: true },
      message: { stopped: 'Resume' },
    });
    const res = await runWizard(h.deps, {});
    assert.strictEqual(h.runs.length, 2);
    assert.strictEqual(res.outcome, 'recovered');
    const err = h.ui.messages('error')[0];
    assert.match(err, /Step 3 \(Stop etcd\) failed/);
    assert.match(err, /check monit/);
    assert.match(h.sinks[0].text, /Step 3 failed/);
  });

  it('dry-run passes dryRun to the engine and shows the review page without asking to confirm', async () => {
    const h = harness(['dry-run'], {
      pick: {
        member: { preselected: true },
        options: (items) => items.filter((i) => i.label === 'Dry-run').map((i) => i.value),
      },
    });
    const res = await runWizard(h.deps, {});
    assert.strictEqual(res.outcome, 'dry-run');
    assert.strictEqual(h.runs[0].opts.dryRun, true);
    assert.strictEqual(h.ui.prompts.filter((p) => p.kind === 'confirm').length, 0);
    assert.strictEqual(h.reviews.length, 1);
  });

  it('a member whose fix is BOSH (etcd stopped) is shown with its reason, not preselected, and picking it explains', async () => {
    const stopped = probe(1, {
      monit: "The Monit daemon 5.2.5 uptime: 1h 0m\n\nProcess 'etcd'                      not monitored\n",
      pid: '',
      health: false,
    });
    const h = harness(['recovered'], { pick: { member: { labelIncludes: '$(circle-slash)' } } }, stopped);
    const res = await runWizard(h.deps, {});
    assert.strictEqual(res.outcome, 'aborted');
    assert.strictEqual(h.runs.length, 0, 'nothing ran');
    const prompt = h.ui.prompts.find((p) => p.id === 'member')!;
    assert.strictEqual(prompt.items!.filter((i) => i.picked).length, 0, 'nothing preselected');
    const item = prompt.items!.find((i) => i.label.includes(h.broken.id))!;
    assert.match(item.label, /^\$\(circle-slash\) /);
    assert.match(item.description ?? '', /^not offered: .*etcd is stopped/);
    const warn = h.ui.messages('warning')[0];
    assert.match(warn, /is not replaced by the recovery wizard/);
    assert.match(warn, /monit start etcd/);
  });

  it('a member that only fails to answer from here (healthy on its VM) is not offered', async () => {
    const healthyOnVm = probe(1);
    const h = harness(['recovered'], { pick: { member: undefined } }, healthyOnVm);
    await runWizard(h.deps, {});
    const prompt = h.ui.prompts.find((p) => p.id === 'member')!;
    assert.strictEqual(prompt.items!.filter((i) => i.picked).length, 0);
    const item = prompt.items!.find((i) => i.label.includes(h.broken.id))!;
    assert.match(item.description ?? '', /^not offered: /);
    assert.match(item.detail ?? '', /network path/);
  });

  it('several broken: offers "Recover every broken member (N)" first, runs the engine with all-broken, and the review page shows the order', async () => {
    const h = harness(
      ['recovered'],
      { pick: { member: { preselected: true }, options: () => [] }, confirm: { recover: true } },
      undefined,
      { masters: 5, alsoBroken: [3] },
    );
    const masters = h.w.instances.get(h.dep)!.filter((i) => i.group === 'master');
    const order = [masters[1], masters[3]].map((m) => `master/${m.id}`);
    const run = h.deps.runRecovery;
    // the engine's plan of several members carries the targets and the order, with why
    const withOrder = (plan: Plan): Plan => ({
      ...plan,
      targets: order,
      order: order.map((t, k) => ({
        target: t,
        bootstrap: false,
        path: k === 0 ? 'self-add' : 'runbook',
        why: `reason ${k}`,
      })),
    });
    h.deps.runRecovery = async (session, target, opts) =>
      run(session, target, { ...opts, confirm: (plan) => opts.confirm!(withOrder(plan)) });
    const res = await runWizard(h.deps, {});
    assert.strictEqual(res.outcome, 'recovered');
    const prompt = h.ui.prompts.find((p) => p.id === 'member')!;
    assert.match(prompt.items![0].label, /Recover every broken member \(2\)$/);
    assert.strictEqual(prompt.items![0].picked, true, 'offered first and preselected');
    for (const t of order) assert.ok(prompt.items![0].detail!.includes(t), `names ${t}`);
    assert.strictEqual(prompt.items!.filter((i) => i.picked).length, 1);
    assert.strictEqual(h.runs.length, 1);
    assert.strictEqual(h.runs[0].target, 'all-broken');
    assert.strictEqual(res.target, 'all-broken');
    assert.match(h.reviews[0], /^# Recovery plan: 2 members/);
    const orderSection = h.reviews[0].split('## Order')[1].split('## What will happen')[0];
    assert.match(orderSection, new RegExp(`1\\. \`${order[0]}\`[^\n]*start script[^\n]*reason 0`));
    assert.match(orderSection, new RegExp(`2\\. \`${order[1]}\`[^\n]*member add[^\n]*reason 1`));
    const confirm = h.ui.prompts.find((p) => p.kind === 'confirm')!;
    assert.match(confirm.title, /Replace 2 etcd members/);
    assert.strictEqual(h.ui.prompts.find((p) => p.kind === 'progress')!.title, 'Recovering 2 etcd members…');
  });

  it('one broken: no "every broken member" entry', async () => {
    const h = harness(['recovered'], { pick: { member: undefined } });
    await runWizard(h.deps, {});
    const prompt = h.ui.prompts.find((p) => p.id === 'member')!;
    assert.ok(!prompt.items!.some((i) => /every broken member/.test(i.label)));
  });

  it('is disabled in an untrusted workspace', async () => {
    const h = harness(['recovered'], {});
    h.deps.trusted = () => false;
    const res = await runWizard(h.deps, {});
    assert.strictEqual(res.outcome, 'aborted');
    assert.strictEqual(h.runs.length, 0);
    assert.match(h.ui.messages('warning')[0], /untrusted workspace/);
  });

  it('started while the window still settles its trust: waits for the grant and runs', async () => {
    const h = harness(['recovered'], {
      pick: { member: { preselected: true }, options: () => [] },
      confirm: { recover: true },
    });
    const grants = new Set<() => void>();
    const source = {
      isTrusted: false,
      onDidGrant: (l: () => void) => {
        grants.add(l);
        return { dispose: () => grants.delete(l) };
      },
    };
    h.deps.trusted = () => settledTrust(source, 5000);
    setTimeout(() => {
      source.isTrusted = true;
      for (const l of [...grants]) l();
    }, 30);
    const res = await runWizard(h.deps, {});
    assert.strictEqual(res.outcome, 'recovered');
    assert.strictEqual(h.runs.length, 1);
    assert.deepStrictEqual(h.ui.messages('warning'), []);
    assert.strictEqual(grants.size, 0, 'the grant listener is disposed');
  });
});

describe('the recovery review tab name', () => {
  it('names the instance of a one-member run, and how many and which of a several-member run', () => {
    assert.strictEqual(
      reviewTabName({ target: 'master/2b3c4d5e-0000-4000-8000-000000000002' }),
      'master-2b3c4d5e-0000-4000-8000-000000000002',
    );
    const several = {
      target: 'master/2b3c4d5e-0000-4000-8000-000000000002',
      targets: ['master/2b3c4d5e-0000-4000-8000-000000000002', 'master/4d5e6f70-0000-4000-8000-000000000004'],
    };
    assert.strictEqual(reviewTabName(several), '2-members-master-2b3c+master-4d5e');
  });
});
