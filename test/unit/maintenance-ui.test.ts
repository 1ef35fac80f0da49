// The maintenance and snapshot flows of the extension (src/wizard/maintenanceFlow.ts,
// snapshotFlow.ts, maintenanceText.ts) through the Ui seam (ScriptedUi), with recording stand-ins
// for the engines (the real engines run in the extension-host tests against the testbed) and real
// files for the snapshot list.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  defragConsequences,
  planDefrag,
  planNospace,
  type DefragOptions,
  type DefragResult,
  type MaintenanceEvent,
  type MaintenanceMember,
  type MaintenanceObservation,
} from '../../src/maintenance';
import { deleteSnapshot, listSnapshots, verifySnapshot, type VerifyResult } from '../../src/snapshots';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import { CancelledError } from '../../src/util/cancel';
import type { RunSink } from '../../src/wizard/wizardTypes';
import {
  defragConfirmation,
  maintenanceEventText,
  maintenanceReviewMarkdown,
  nospaceConfirmation,
} from '../../src/wizard/maintenanceText';
import {
  instanceNamedIn,
  REPLACE_MEMBER_ACTION,
  runMaintenance,
  type MaintenanceDeps,
} from '../../src/wizard/maintenanceFlow';
import {
  adviceForUi,
  formatAge,
  progressText,
  showSnapshots,
  takeSnapshot,
  type SnapshotDeps,
} from '../../src/wizard/snapshotFlow';
import type { DeploymentSession } from '../../src/session/types';

const MB = 1024 * 1024;
const UUID = (n: number) => `0000000${n}-aaaa-bbbb-cccc-dddddddddddd`;

function member(index: number, o: Partial<MaintenanceMember> = {}): MaintenanceMember {
  return {
    label: `master/${UUID(index)}`,
    instanceId: UUID(index),
    index,
    endpointUrl: `https://master-${index}.etcd.cfcr.internal:2379`,
    memberId: `a${index}`,
    healthy: true,
    isLeader: false,
    isLearner: false,
    dbSize: 100 * MB,
    dbSizeInUse: 40 * MB,
    raftIndex: '100',
    vm: { reachable: true, recoveryInProgress: false, quotaBackendBytes: null },
    ...o,
  };
}

function obs(o: Partial<MaintenanceObservation> = {}): MaintenanceObservation {
  return {
    at: '',
    deployment: 'service-instance_x',
    members: [member(0, { isLeader: true }), member(1), member(2)],
    alarms: [],
    learners: [],
    errors: [],
    ...o,
  };
}

class Sink implements RunSink {
  text = '';
  outcome?: string;
  write(t: string): void {
    this.text += t;
  }
  onClose(): void {}
  finished(o: string): void {
    this.outcome = o;
  }
}

const fakeModel = {
  environments: async () => [{ name: 'env', config: { url: 'https://10.0.0.6:25555' } }],
  deployments: async () => [{ name: 'service-instance_x' }, { name: 'other' }],
  deploymentSession: async () => ({ deployment: 'service-instance_x' }) as unknown as DeploymentSession,
  refreshed: 0,
  refreshDeployment() {
    this.refreshed++;
  },
};

function maintenanceDeps(ui: ScriptedUi, defrag: (o: DefragOptions) => Promise<DefragResult>) {
  const sinks: Sink[] = [];
  const reviews: string[] = [];
  const recoveries: (string | undefined)[][] = [];
  const deps: MaintenanceDeps = {
    ui,
    model: fakeModel,
    defragCluster: (_s, o) => defrag(o),
    recoverNospace: () => Promise.reject(new Error('not used')),
    trusted: () => true,
    transcriptDir: () => '/tmp/transcripts',
    pauseSeconds: () => 2.5,
    openRunSink: () => {
      const s = new Sink();
      sinks.push(s);
      return s;
    },
    showReview: async (md) => {
      reviews.push(md);
    },
    openFile: async () => undefined,
    recoverMember: (e, d, i) => {
      recoveries.push([e, d, i]);
    },
  };
  return { deps, sinks, reviews, recoveries };
}

/** A stand-in engine: emits the events of a plan, asks confirm, reports what it would have done. */
function standInDefrag(observation: MaintenanceObservation, calls: DefragOptions[]) {
  return async (o: DefragOptions): Promise<DefragResult> => {
    calls.push(o);
    const plan = planDefrag(observation, o);
    const ev = (e: MaintenanceEvent) => o.onEvent?.(e);
    ev({ type: 'plan', time: 't', lines: ['line one\nline two'] });
    if (plan.refusals.length) {
      ev({ type: 'refused', time: 't', refusals: plan.refusals });
      return {
        outcome: 'refused',
        message: 'Refused',
        plan,
        refusals: plan.refusals,
        members: [],
        transcriptPath: null,
      };
    }
    if (!(await o.confirm!(plan)))
      return { outcome: 'declined', message: 'Not confirmed', plan, members: [], transcriptPath: '/t.md' };
    for (const m of plan.members)
      ev({
        type: 'command',
        time: 't',
        step: 'defrag',
        host: m.label,
        command: m.command.command,
        purpose: 'p',
        mutates: true,
      });
    return { outcome: 'done', message: 'Defragmented 3 of 3 members', plan, members: [], transcriptPath: '/t.md' };
  };
}

describe('maintenance UI: texts (terminal, review page, confirmation)', () => {
  it('renders every event with \\r\\n line ends only, each command with its host', () => {
    const samples: MaintenanceEvent[] = [
      { type: 'observed', time: 't', summary: ['a\nb'] },
      { type: 'plan', time: 't', lines: ['x\ny'] },
      { type: 'refused', time: 't', refusals: [{ code: 'corrupt', message: 'm\nn', advice: 'a' }] },
      { type: 'step-start', time: 't', step: 'defrag', title: 'Defragment master/x' },
      {
        type: 'command',
        time: 't',
        step: 'defrag',
        host: 'master/x',
        command: 'etcdctl defrag',
        purpose: 'p',
        mutates: true,
      },
      { type: 'output', time: 't', step: 'defrag', host: 'master/x', stream: 'stdout', text: 'one\ntwo\n' },
      {
        type: 'command-done',
        time: 't',
        step: 'defrag',
        host: 'h',
        command: 'c',
        exitCode: 1,
        signal: null,
        durationMs: 3,
      },
      { type: 'check', time: 't', step: 'defrag', name: 'health', ok: true, detail: 'd\ne' },
      {
        type: 'member-done',
        time: 't',
        healthyAfter: true,
        result: {
          label: 'master/x',
          endpointUrl: 'u',
          wasLeader: true,
          outcome: 'defragmented',
          before: { dbSize: 100 * MB, dbSizeInUse: 10 * MB },
          after: { dbSize: 10 * MB, dbSizeInUse: 10 * MB },
          durationMs: 5,
        },
      },
      { type: 'pause', time: 't', ms: 5000, next: 'master/y' },
      { type: 'info', time: 't', message: 'i\nj' },
      { type: 'step-done', time: 't', step: 'defrag', detail: 'ok' },
      { type: 'step-failed', time: 't', step: 'defrag', error: 'e\nf', advice: 'g' },
      { type: 'cancelled', time: 't', message: 'c' },
      { type: 'done', time: 't', outcome: 'done', message: 'm\nmore', transcriptPath: '/t.md' },
    ];
    for (const e of samples) {
      const t = maintenanceEventText(e);
      assert.ok(t.length > 0, e.type);
      assert.doesNotMatch(t.replace(/\r\n/g, ''), /\n/, `${e.type}: a bare \\n would stair-step the terminal`);
    }
    assert.match(maintenanceEventText(samples[4]), /master\/x.*\$ etcdctl defrag/);
    assert.match(maintenanceEventText(samples[8]), /master\/x \(leader\): defragmented 100\.0 MiB .* → 10\.0 MiB/);
  });

  it('the defrag confirmation names each member not skipped with its consequence, the leader last', () => {
    const o = obs({ members: [member(0, { isLeader: true }), member(1), member(2, { dbSizeInUse: 100 * MB })] });
    const plan = planDefrag(o, { pauseMs: 2500 });
    const c = defragConfirmation(plan);
    assert.strictEqual(c.button, 'Defragment 2 Members');
    const lines = c.detail.split('\n');
    assert.deepStrictEqual(
      lines.slice(0, 2),
      defragConsequences(plan).map((l) => `${l}.`),
    );
    assert.match(
      lines[0],
      /^master\/00000001-.* will not answer reads or writes while it is defragmented, about \d+ s for 100\.0 MiB\.$/,
    );
    assert.match(lines[1], /^master\/00000000-/, 'the leader last');
    assert.match(lines[2], /^master\/00000000-.* is the leader: it goes last/);
    assert.match(c.detail, /2\.5 s pause/);
    assert.match(c.detail, /Skipped \(not fragmented enough\): master\/00000002-/);
  });

  it('the NOSPACE confirmation names the compaction, the defragmentation of every member and the disarm', () => {
    const plan = planNospace(obs({ alarms: [{ memberId: 'a1', label: null, alarm: 'NOSPACE' }] }), {
      revision: '4242',
    });
    const c = nospaceConfirmation(plan);
    assert.match(c.message, /compact the history, defragment every member, disarm the alarm/);
    assert.match(c.detail, /before revision 4242 is compacted away for good/);
    assert.strictEqual(c.detail.split('\n').filter((l) => /will not answer reads or writes/.test(l)).length, 3);
    assert.match(c.detail, /NOSPACE is disarmed and a test key is written and deleted/);
  });

  it('the review page lists every command of the plan verbatim, and the refusals with what to do', () => {
    const plan = planNospace(obs({ alarms: [{ memberId: 'a1', label: null, alarm: 'NOSPACE' }] }), { revision: '7' });
    const md = maintenanceReviewMarkdown('nospace', plan, { envName: 'env', dryRun: false });
    for (const c of [plan.compact!, ...plan.defrag.members.map((m) => m.command), plan.disarm!, ...plan.writeTest])
      assert.ok(md.includes(c.command), c.command);
    const refused = planDefrag(obs({ alarms: [{ memberId: 'a1', label: `master/${UUID(1)}`, alarm: 'CORRUPT' }] }));
    const md2 = maintenanceReviewMarkdown('defrag', refused, { envName: 'env', dryRun: true });
    assert.match(md2, /Refused — nothing will be changed/);
    assert.match(md2, /never disarms CORRUPT/);
    assert.match(md2, /dry-run: nothing will be changed/);
    assert.doesNotMatch(md2, /## Consequences/);
  });
});

describe('maintenance UI: the defragmentation flow (Ui seam)', () => {
  it('asks deployment and options, shows the plan, confirms with the consequences, passes the pause setting', async () => {
    const calls: DefragOptions[] = [];
    const ui = new ScriptedUi({
      pick: { deployment: { label: 'service-instance_x' }, options: () => [] },
      confirm: { defrag: true },
    });
    const { deps, sinks, reviews } = maintenanceDeps(ui, standInDefrag(obs(), calls));
    const r = await runMaintenance(deps, 'defrag');
    assert.strictEqual(r.outcome, 'done');
    assert.strictEqual(calls[0].pauseMs, 2500);
    assert.strictEqual(calls[0].dryRun, false);
    assert.strictEqual(calls[0].transcriptDir, '/tmp/transcripts');
    assert.strictEqual(reviews.length, 1, 'the review page was shown before the confirmation');
    const confirm = ui.prompts.find((p) => p.kind === 'confirm')!;
    assert.match(confirm.detail ?? '', /will not answer reads or writes while it is defragmented/);
    assert.strictEqual(confirm.confirmLabel, 'Defragment 3 Members');
    assert.match(sinks[0].text, /line one\r\n {2}line two/);
    assert.strictEqual(sinks[0].outcome, 'done');
  });

  it('declining runs no command and says nothing changed', async () => {
    const calls: DefragOptions[] = [];
    const ui = new ScriptedUi({ pick: { options: () => [] }, confirm: { defrag: false } });
    const { deps, sinks } = maintenanceDeps(ui, standInDefrag(obs(), calls));
    const r = await runMaintenance(deps, 'defrag', { envName: 'env', deployment: 'service-instance_x' });
    assert.strictEqual(r.outcome, 'declined');
    assert.doesNotMatch(sinks[0].text, /etcdctl/);
    assert.match(ui.messages('info')[0], /not confirmed: nothing was changed/);
  });

  it('a CORRUPT refusal is shown with its reason and leads to the recovery wizard for that member', async () => {
    const ui = new ScriptedUi({ pick: { options: () => [] }, message: { refused: REPLACE_MEMBER_ACTION } });
    const o = obs({ alarms: [{ memberId: 'a1', label: `master/${UUID(1)}`, alarm: 'CORRUPT' }] });
    const { deps, reviews, recoveries } = maintenanceDeps(ui, standInDefrag(o, []));
    const r = await runMaintenance(deps, 'defrag', { envName: 'env', deployment: 'service-instance_x' });
    assert.strictEqual(r.outcome, 'refused');
    assert.ok(!ui.prompts.some((p) => p.kind === 'confirm'), 'no confirmation for a refused plan');
    assert.match(ui.messages('error')[0], /never disarms CORRUPT.*What to do: Replace that member/);
    assert.deepStrictEqual(recoveries, [['env', 'service-instance_x', UUID(1)]]);
    assert.match(reviews[0], /Refused/);
    assert.strictEqual(instanceNamedIn({ code: 'alarm', message: 'no instance here', advice: '' }), undefined);
  });

  it('the options pick passes dry-run and force', async () => {
    const calls: DefragOptions[] = [];
    const ui = new ScriptedUi({ pick: { options: (items) => items.map((i) => i.value) } });
    const { deps } = maintenanceDeps(ui, async (o) => {
      calls.push(o);
      return { outcome: 'dry-run', message: 'Dry run', members: [], transcriptPath: null };
    });
    await runMaintenance(deps, 'defrag', { envName: 'env', deployment: 'service-instance_x' });
    assert.strictEqual(calls[0].dryRun, true);
    assert.strictEqual(calls[0].force, true);
  });

  it('NOSPACE: the modal names the compaction, the defragmentation and the disarm; declining says nothing changed', async () => {
    const ui = new ScriptedUi({ pick: { options: () => [] }, confirm: { nospace: false } });
    const { deps, reviews } = maintenanceDeps(ui, () => Promise.reject(new Error('not used')));
    deps.recoverNospace = async (_s, o) => {
      const plan = planNospace(obs({ alarms: [{ memberId: 'a1', label: null, alarm: 'NOSPACE' }] }), {
        revision: '99',
        pauseMs: o.pauseMs,
      });
      const go = await o.confirm!(plan);
      assert.strictEqual(go, false);
      return {
        outcome: 'declined',
        message: 'Not confirmed',
        plan,
        members: [],
        disarmed: false,
        writeTestOk: false,
        transcriptPath: '/t.md',
      };
    };
    const r = await runMaintenance(deps, 'nospace', { envName: 'env', deployment: 'service-instance_x' });
    assert.strictEqual(r.outcome, 'declined');
    const confirm = ui.prompts.find((p) => p.kind === 'confirm' && p.id === 'nospace')!;
    assert.strictEqual(confirm.confirmLabel, 'Compact, Defragment and Disarm');
    assert.match(confirm.detail ?? '', /before revision 99 is compacted away/);
    assert.match(reviews[0], /NOSPACE recovery plan/);
    assert.ok(!ui.prompts.find((p) => p.id === 'options')!.items!.some((i) => /every member/.test(i.label)));
    assert.match(ui.messages('info')[0], /not confirmed: nothing was changed/);
  });

  it('is disabled in an untrusted workspace', async () => {
    const calls: DefragOptions[] = [];
    const ui = new ScriptedUi({});
    const { deps } = maintenanceDeps(ui, standInDefrag(obs(), calls));
    deps.trusted = () => false;
    const r = await runMaintenance(deps, 'defrag');
    assert.strictEqual(r.outcome, 'aborted');
    assert.strictEqual(calls.length, 0);
    assert.match(ui.messages('warning')[0], /disabled in an untrusted workspace/);
  });
});

describe('maintenance UI: snapshots (Ui seam, real files)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-etcd-snap-ui-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function snapshotDeps(ui: ScriptedUi, o: Partial<SnapshotDeps> = {}): SnapshotDeps & { revealed: string[] } {
    const revealed: string[] = [];
    return {
      ui,
      model: fakeModel,
      saveSnapshot: () => Promise.reject(new Error('not used')),
      listSnapshots,
      verifySnapshot: (f) => verifySnapshot(f),
      deleteSnapshot,
      trusted: () => true,
      snapshotDir: () => dir,
      checked: new Map<string, VerifyResult>(),
      reveal: async (f) => {
        revealed.push(f);
      },
      revealed,
      ...o,
    };
  }

  it('formats ages, progress and the CLI words of the advice', () => {
    assert.strictEqual(formatAge(5_000), '5 s');
    assert.strictEqual(formatAge(3 * 60_000), '3 min');
    assert.strictEqual(formatAge(5 * 3600_000), '5 h');
    assert.strictEqual(formatAge(3 * 86400_000), '3 d');
    assert.strictEqual(progressText(5 * MB, 10 * MB), '5.0 MiB of 10.0 MiB');
    assert.strictEqual(progressText(2048, undefined), '2 KiB');
    assert.match(adviceForUi('Give a writable folder with --dir.'), /boshEtcd\.snapshots\.directory/);
  });

  it('take: reports bytes with increments, then offers Reveal', async () => {
    const ui = new ScriptedUi({
      pick: { deployment: { label: 'service-instance_x' } },
      message: { Saved: 'Reveal in File Explorer' },
    });
    const file = path.join(dir, 'x.db');
    const d = snapshotDeps(ui, {
      saveSnapshot: async (_s, o) => {
        assert.strictEqual(o.dir, dir);
        o.onProgress?.({ received: 0, written: 0, total: 4 * MB });
        o.onProgress?.({ received: 4 * MB, written: 4 * MB, total: 4 * MB });
        return {
          file,
          metadataFile: path.join(dir, 'x.json'),
          metadata: { revision: '12', size: 4 * MB, totalKeys: 3, member: { name: 'm' } },
        } as never;
      },
    });
    const r = await takeSnapshot(d);
    assert.strictEqual(r.outcome, 'saved');
    assert.deepStrictEqual(ui.progressMessages, ['0 B of 4.0 MiB', '4.0 MiB of 4.0 MiB']);
    assert.match(ui.messages('info')[0], /revision 12/);
    assert.deepStrictEqual(d.revealed, [file]);
  });

  it('take: Cancel on the progress aborts the stream; no file, and it says so', async () => {
    const ui = new ScriptedUi({ cancelProgressAfterReports: 1 });
    let aborted = false;
    const d = snapshotDeps(ui, {
      saveSnapshot: (_s, o) =>
        new Promise((_resolve, reject) => {
          o.signal!.addEventListener('abort', () => {
            aborted = true;
            reject(new CancelledError('Snapshot cancelled: no file was kept.'));
          });
          o.onProgress?.({ received: MB, written: MB, total: 8 * MB });
        }),
    });
    const r = await takeSnapshot(d, { envName: 'env', deployment: 'service-instance_x' });
    assert.strictEqual(r.outcome, 'cancelled');
    assert.ok(aborted, 'the save saw the abort');
    assert.match(ui.messages('info')[0], /cancelled: no file was kept/);
    assert.deepStrictEqual(ui.messages('error'), []);
  });

  it('list: a file without metadata shows as not verified; Verify says why it fails; Delete removes it after a modal', async () => {
    const bad = path.join(dir, 'service-instance_x-20261201T010203Z-rev9.db');
    fs.writeFileSync(bad, Buffer.alloc(4096, 1));
    const ui = new ScriptedUi({
      pick: {
        snapshot: { labelIncludes: 'rev 9' },
        snapshotAction: [{ labelIncludes: 'Verify' }, { labelIncludes: 'Delete' }],
      },
      confirm: { deleteSnapshot: true },
    });
    const d = snapshotDeps(ui);
    const v = await showSnapshots(d, { deployment: 'service-instance_x' });
    assert.strictEqual(v.listed.length, 1);
    const shown = ui.prompts.find((p) => p.id === 'snapshot')!.items![0];
    assert.match(shown.label, /service-instance_x · rev 9/);
    assert.match(shown.description ?? '', /ago · 4 KiB/);
    assert.match(shown.detail ?? '', /not verified/);
    assert.strictEqual(v.verification?.ok, false);
    assert.match(ui.messages('error')[0], /failed verification: .* What to do:/);
    const again = await showSnapshots(d);
    assert.match(ui.prompts.filter((p) => p.id === 'snapshot')[1].items![0].detail ?? '', /FAILED/);
    assert.deepStrictEqual(again.deleted, [bad]);
    assert.ok(!fs.existsSync(bad));
  });

  it('list: an empty folder says how to take one', async () => {
    const ui = new ScriptedUi({});
    await showSnapshots(snapshotDeps(ui));
    assert.match(ui.messages('info')[0], /No etcd snapshot in .*Take etcd Snapshot/);
  });
});
