// The disaster-recovery flows of the extension without VS Code: the survivor candidates and what
// each choice loses (src/disaster/survivorChoice.ts), the quorum-loss wizard's pick (preselected
// only when unambiguous; a tie asks for an explicit choice, never a default) and its modal, and the
// restore-from-snapshot flow (the bump offered on etcd ≥ 3.5.10 only, the deployment's name typed).
// The engines are stand-ins that call the flows' hooks with plans from the real planner.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { MasterEvidence } from '../../src/disaster/evidence';
import { planQuorumRestore } from '../../src/disaster/quorumPlan';
import { lossAgainst, survivorCandidates } from '../../src/disaster/survivorChoice';
import type { QuorumOptions, QuorumResult } from '../../src/disaster/quorum';
import type { RestoreOptions, RestoreResult } from '../../src/disaster/restore';
import { deleteSnapshot, listSnapshots, verifySnapshot, type SnapshotEntry } from '../../src/snapshots';
import { showSnapshots } from '../../src/wizard/snapshotFlow';
import type { DeploymentSession } from '../../src/session/types';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import { runQuorumWizard, type QuorumWizardDeps } from '../../src/wizard/quorumFlow';
import { BUMP_REVISION, runRestoreWizard, type RestoreWizardDeps } from '../../src/wizard/restoreFlow';
import type { RunSink } from '../../src/wizard/wizardTypes';
import { RunGate } from '../../src/wizard/runGate';

const id = (i: number) => `0000000${i}-1111-2222-3333-444444444444`;
const lbl = (i: number) => `master/${id(i)}`;
const ev = (i: number, o: Partial<MasterEvidence> = {}): MasterEvidence => ({
  label: lbl(i),
  index: i,
  bootstrap: i === 0,
  dataPresent: false,
  running: false,
  source: 'none',
  ...o,
});
const data = (i: number, index: bigint, revision: bigint) =>
  ev(i, { dataPresent: true, source: 'offline-copy', raftTerm: 3n, raftIndex: index, revision, clusterId: 'c1' });
const plan = (evidence: MasterEvidence[], survivor?: string) =>
  planQuorumRestore({ deployment: 'd', evidence, survivor, now: new Date('2026-12-01T00:00:00Z'), learners: true });

class Sink implements RunSink {
  text = '';
  done?: string;
  write(t: string) {
    this.text += t;
  }
  onClose() {}
  finished(o: string) {
    this.done = o;
  }
}

const model = {
  environments: async () => [{ name: 'e', config: { url: 'https://d' } }],
  deployments: async () => [{ name: 'd' }],
  deploymentSession: async () => ({ deployment: 'd' }) as unknown as DeploymentSession,
  refreshDeployment: () => undefined,
};

function quorumDeps(ui: ScriptedUi, evidence: MasterEvidence[], seen: QuorumOptions[]): QuorumWizardDeps {
  const sink = new Sink();
  return {
    ui,
    model,
    trusted: () => true,
    transcriptDir: () => '/tmp',
    openRunSink: () => sink,
    showReview: async () => undefined,
    openHealthPanel: () => undefined,
    openFile: async () => undefined,
    // the engine's order: evidence, the survivor chosen, the plan confirmed
    restoreQuorum: async (_s, o): Promise<QuorumResult> => {
      seen.push(o);
      const chosen = await o.chooseSurvivor!(plan(evidence));
      const p = plan(evidence, chosen);
      const ok = await o.confirm!(p);
      return { outcome: ok ? 'recovered' : 'declined', message: 'm', plan: p, transcriptPath: '/tmp/t', stepsRun: [] };
    },
  };
}

describe('disaster wizard: survivor candidates and what a choice loses', () => {
  it('ranks the masters with data first and says what each other master loses', () => {
    const evidence = [ev(0), data(1, 90n, 40n), data(2, 120n, 55n)];
    const c = survivorCandidates(plan(evidence));
    assert.deepStrictEqual(
      c.map((x) => [x.label, x.rank, x.choosable, x.preselected]),
      [
        [lbl(2), 1, true, true],
        [lbl(1), 2, true, false],
        [lbl(0), undefined, false, false],
      ],
    );
    assert.strictEqual(c[2].notChoosable, 'it has no etcd data');
    const loss = lossAgainst(evidence, lbl(1));
    assert.deepStrictEqual(
      loss.map((l) => [l.label, l.loses, l.revisionsAhead]),
      [
        [lbl(0), false, undefined],
        [lbl(2), true, 15n],
      ],
    );
    assert.match(loss[1].text, /15 revisions AHEAD of the survivor: those writes are LOST/);
    assert.match(lossAgainst(evidence, lbl(2))[1].text, /15 revisions behind the survivor: nothing of it is lost/);
  });
});

describe('disaster wizard: the quorum-loss flow', () => {
  it('unambiguous: the most advanced is preselected, each entry says what choosing it loses, the modal names it', async () => {
    const evidence = [ev(0), data(1, 90n, 40n), data(2, 120n, 55n)];
    const ui = new ScriptedUi({
      pick: { options: () => [], survivor: { label: '$(database) master/1 · 00000001' } },
      confirm: { restoreQuorum: false },
    });
    const seen: QuorumOptions[] = [];
    const res = await runQuorumWizard(quorumDeps(ui, evidence, seen), {});
    assert.strictEqual(res.outcome, 'declined');
    assert.strictEqual(res.survivor, lbl(1));
    const pick = ui.prompts.find((p) => p.id === 'survivor')!;
    assert.deepStrictEqual(
      pick.items!.map((i) => i.picked),
      [true, false, false],
    );
    assert.match(pick.items![0].label, /star-full\) master\/2 · 00000002$/);
    assert.match(
      pick.items![1].detail!,
      /if chosen: .*00000002.*15 revisions AHEAD of the survivor: those writes are LOST/,
    );
    const confirm = ui.prompts.find((p) => p.id === 'restoreQuorum')!;
    assert.match(confirm.title, /Writes only master\/00000002 had are LOST/);
    assert.match(confirm.detail!, /kube-apiserver is stopped on every master \(3\)/);
    assert.strictEqual(seen[0].dryRun, false);
    assert.match(ui.messages('info').join('\n'), /not confirmed: nothing was changed/);
  });

  it('a tie: nothing preselected; "no automatic choice" asks again, a master without data too, until one is chosen', async () => {
    const evidence = [ev(0), data(1, 100n, 50n), data(2, 100n, 50n)];
    const ui = new ScriptedUi({
      pick: {
        options: () => ['dryRun'],
        survivor: [{ preselected: true }, { labelIncludes: 'master/0 · ' }, { labelIncludes: 'master/2 · ' }],
      },
      confirm: { restoreQuorum: true },
    });
    const seen: QuorumOptions[] = [];
    const res = await runQuorumWizard(quorumDeps(ui, evidence, seen), {});
    assert.strictEqual(res.outcome, 'recovered');
    assert.strictEqual(res.survivor, lbl(2));
    const picks = ui.prompts.filter((p) => p.id === 'survivor');
    assert.strictEqual(picks.length, 3);
    assert.match(picks[0].items![0].label, /No automatic choice/);
    assert.ok(
      picks[0].items!.slice(1).every((i) => !i.picked),
      'no master preselected',
    );
    assert.match(ui.messages('warning')[0], /Choose the survivor yourself: .*equally advanced/);
    assert.match(ui.messages('warning')[1], /cannot be the survivor: it has no etcd data/);
    assert.strictEqual(seen[0].dryRun, true);
  });

  it('Escape at the survivor pick: cancelled before anything changed', async () => {
    const ui = new ScriptedUi({ pick: { options: () => [], survivor: undefined } });
    const deps = quorumDeps(ui, [ev(0), data(1, 1n, 1n), data(2, 2n, 2n)], []);
    deps.restoreQuorum = async (_s, o) => {
      try {
        await o.chooseSurvivor!(plan([ev(0), data(1, 1n, 1n), data(2, 2n, 2n)]));
        return { outcome: 'recovered', message: '', transcriptPath: '', stepsRun: [] };
      } catch (e) {
        return { outcome: 'cancelled', message: `Cancelled: ${(e as Error).name}`, transcriptPath: '', stepsRun: [] };
      }
    };
    const res = await runQuorumWizard(deps, {});
    assert.strictEqual(res.outcome, 'cancelled');
    assert.ok(!ui.prompts.some((p) => p.kind === 'confirm'));
  });
});

function entry(etcdVersion: string): SnapshotEntry {
  return {
    file: '/snaps/d-1.db',
    name: 'd-1.db',
    size: 1000,
    takenAt: new Date('2026-12-01T07:00:00Z'),
    ageMs: 3_600_000,
    deployment: 'd',
    revision: '42',
    metadata: { etcdVersion, takenAt: '2026-12-01T07:00:00.000Z', environment: 'e' } as SnapshotEntry['metadata'],
  };
}

function restoreDeps(ui: ScriptedUi, snap: SnapshotEntry, seen: RestoreOptions[]): RestoreWizardDeps {
  return {
    ui,
    model,
    trusted: () => true,
    transcriptDir: () => '/tmp',
    snapshotDir: () => '/snaps',
    listSnapshots: async () => [snap],
    openRunSink: () => new Sink(),
    showReview: async () => undefined,
    openHealthPanel: () => undefined,
    openFile: async () => undefined,
    runRestore: async (_s, o): Promise<RestoreResult> => {
      seen.push(o);
      const ok = await o.confirm!([
        'Restore deployment d from snapshot /snaps/d-1.db',
        '  revision 42, 7 keys, taken 2026-12-01T07:00:00.000Z, sha256 0123…',
      ]);
      return { outcome: ok ? 'recovered' : 'declined', message: 'm', transcriptPath: '/tmp/t' };
    },
  };
}

describe('disaster wizard: restore from a snapshot', () => {
  it('etcd 3.5.16: the bump is offered (preselected, explained) and passed; the name is typed; the title names revision and time', async () => {
    const ui = new ScriptedUi({
      pick: { snapshot: { preselected: true }, options: (items) => items.filter((i) => i.picked).map((i) => i.value) },
      input: { confirmDeployment: 'd' },
    });
    const seen: RestoreOptions[] = [];
    const res = await runRestoreWizard(restoreDeps(ui, entry('3.5.16'), seen), {});
    assert.strictEqual(res.outcome, 'recovered');
    assert.deepStrictEqual(seen[0].bump, { revision: BUMP_REVISION, markCompacted: true });
    const opts = ui.prompts.find((p) => p.id === 'options')!;
    assert.match(opts.items![1].detail!, /watchers .* re-list/);
    const typed = ui.prompts.find((p) => p.id === 'confirmDeployment')!;
    assert.match(typed.title, /revision 42 \(2026-12-01T07:00:00.000Z\): every later write is LOST/);
  });

  it('etcd 3.5.9: no bump offered; a wrong name is rejected; Escape declines', async () => {
    const ui = new ScriptedUi({
      pick: { snapshot: { preselected: true }, options: () => [] },
      input: { confirmDeployment: 'other' },
    });
    // the input box refuses it (ScriptedUi turns the refusal into an error: the run stops there)
    const wrong = await runRestoreWizard(restoreDeps(ui, entry('3.5.9'), []), {});
    assert.strictEqual(wrong.outcome, 'failed');
    assert.match(ui.messages('error').join('\n'), /Type d exactly to restore/);
    const opts = ui.prompts.find((p) => p.id === 'options')!;
    assert.strictEqual(opts.items!.length, 1);
    const ui2 = new ScriptedUi({
      pick: { snapshot: { preselected: true }, options: () => [] },
      input: { confirmDeployment: undefined },
    });
    const seen: RestoreOptions[] = [];
    const res = await runRestoreWizard(restoreDeps(ui2, entry('3.5.9'), seen), {});
    assert.strictEqual(res.outcome, 'declined');
    assert.strictEqual(seen[0].bump, undefined);
  });
});

describe('disaster wizard: a flow that ends before its run does not hold the gate', () => {
  it('an error while preparing (no snapshot) or an untrusted workspace: the message is shown, the flow ends without waiting for it to be closed, the next flow may start', async () => {
    // VS Code resolves a notification without buttons only when it is closed: this Ui never resolves one
    class NeverClosed extends ScriptedUi {
      override message(level: 'info' | 'warning' | 'error', text: string, ...actions: string[]) {
        void super.message(level, text, ...actions);
        return new Promise<string | undefined>(() => undefined);
      }
    }
    const gate = new RunGate();
    const noSnapshot = new NeverClosed({});
    const deps = { ...restoreDeps(noSnapshot, entry('3.5.16'), []), listSnapshots: async () => [] };
    const ended = await gate.once(
      async () => 'refused' as const,
      async () => (await runRestoreWizard(deps, {})).outcome,
    );
    assert.strictEqual(ended, 'aborted');
    assert.match(noSnapshot.prompts.find((p) => p.kind === 'message')?.title ?? '', /No etcd snapshot in \/snaps/);
    assert.strictEqual(gate.running, false, 'the gate is open again: the next flow is not told one is running');
    const untrusted = new NeverClosed({});
    const r = await gate.once(
      async () => 'refused' as const,
      async () =>
        (await runRestoreWizard({ ...restoreDeps(untrusted, entry('3.5.16'), []), trusted: () => false }, {})).outcome,
    );
    assert.strictEqual(r, 'aborted');
    assert.match(untrusted.prompts[0]?.title ?? '', /untrusted workspace/);
    assert.strictEqual(gate.running, false);
  });
});

describe('disaster wizard: the snapshot list offers the restore', () => {
  it('"Restore the cluster from this snapshot…" hands the chosen file to the restore flow', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-etcd-restore-ui-'));
    try {
      const file = path.join(dir, 'service-instance_x-20261201T010203Z-rev9.db');
      fs.writeFileSync(file, Buffer.alloc(4096, 1));
      const ui = new ScriptedUi({
        pick: { snapshot: { labelIncludes: 'rev 9' }, snapshotAction: { labelIncludes: 'Restore the cluster' } },
      });
      const restored: SnapshotEntry[] = [];
      const res = await showSnapshots({
        ui,
        model: { ...model, deployments: async () => [{ name: 'service-instance_x' }] },
        saveSnapshot: () => Promise.reject(new Error('not used')),
        listSnapshots,
        verifySnapshot: (f) => verifySnapshot(f),
        deleteSnapshot,
        trusted: () => true,
        snapshotDir: () => dir,
        checked: new Map(),
        reveal: async () => undefined,
        restore: async (e) => {
          restored.push(e);
        },
      });
      assert.strictEqual(res.action, 'restore');
      assert.deepStrictEqual(
        restored.map((e) => [e.file, e.deployment]),
        [[file, 'service-instance_x']],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
