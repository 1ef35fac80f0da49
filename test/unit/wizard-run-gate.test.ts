// RunGate: one run at a time per wizard, open again once the run has finished even while the flow still
// waits on its result notification (VS Code resolves a notification without buttons only when closed).
import * as assert from 'assert';
import { RunGate, reportRunFailure } from '../../src/wizard/runGate';
import { ScriptedUi } from '../../src/ui/scriptedUi';
import type { RunSink } from '../../src/wizard/wizardTypes';

function sink(): RunSink & { outcome?: string } {
  const s: RunSink & { outcome?: string } = {
    write: () => undefined,
    onClose: () => undefined,
    finished: (o) => {
      s.outcome = o;
    },
  };
  return s;
}

describe('wizard run gate', () => {
  it('refuses a second flow while a run goes on, and lets one start once the run has finished although the first flow still waits on its notification', async () => {
    const gate = new RunGate();
    let dismiss!: () => void;
    const notificationOpen = new Promise<void>((r) => (dismiss = r));
    let tracked!: RunSink;
    let runEnded!: () => void;
    const ran = new Promise<void>((r) => (runEnded = r));
    const first = gate.once(
      async () => 'refused',
      async () => {
        tracked = gate.track(sink());
        await ran;
        tracked.finished('recovered');
        await notificationOpen; // the result's notification, still on screen
        return 'first';
      },
    );
    await Promise.resolve();
    assert.strictEqual(gate.running, true);
    assert.strictEqual(
      await gate.once(
        async () => 'refused',
        async () => 'second',
      ),
      'refused',
      'while the run goes on',
    );
    runEnded();
    await new Promise((r) => setImmediate(r));
    assert.strictEqual(gate.running, false, 'the run has finished');
    // a second flow starts while the first one's notification is still open, and keeps the gate closed
    let secondRun!: RunSink;
    let releaseSecond!: () => void;
    const second = gate.once(
      async () => 'refused',
      async () => {
        secondRun = gate.track(sink());
        await new Promise<void>((r) => (releaseSecond = r));
        secondRun.finished('recovered');
        return 'second';
      },
    );
    await Promise.resolve();
    dismiss();
    assert.strictEqual(await first, 'first');
    assert.strictEqual(gate.running, true, 'the first flow ending does not open the gate of the second');
    releaseSecond();
    assert.strictEqual(await second, 'second');
    assert.strictEqual(gate.running, false);
  });

  it('a resumed attempt (a new run sink within the same flow) closes the gate again', async () => {
    const gate = new RunGate();
    const s = gate.track(sink());
    s.finished('failed');
    assert.strictEqual(gate.running, false);
    const again = gate.track(sink());
    assert.strictEqual(gate.running, true);
    again.finished('recovered');
    assert.strictEqual(gate.running, false);
  });

  it('a run that threw: its reason in red in the terminal, the run marked failed (the gate opens), the error shown', async () => {
    const gate = new RunGate();
    const written: string[] = [];
    const raw = sink();
    raw.write = (t) => written.push(t);
    const s = gate.track(raw);
    const ui = new ScriptedUi();
    await reportRunFailure(ui, s, new Error('ssh: connection reset'), 'recovering master/0');
    const out = written.join('');
    assert.ok(out.includes('\x1b[31m') && /connection reset/.test(out), out);
    assert.strictEqual(raw.outcome, 'failed');
    assert.strictEqual(gate.running, false);
    assert.strictEqual(ui.prompts.filter((p) => p.kind === 'message' && p.level === 'error').length, 1);
    assert.match(ui.prompts[0].title, /connection reset/);
  });
});
