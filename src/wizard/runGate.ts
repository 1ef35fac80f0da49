// One run at a time per wizard. The gate closes when a flow starts and opens again when its run ends
// (the run's terminal says "finished"), not when the flow's last notification is dismissed: VS Code
// resolves a notification without buttons only once it is closed, so waiting for the whole flow kept
// "already running" up for as long as the result stayed on screen. A resumed attempt closes it again.
// No `vscode` import.
import type { Ui } from '../ui/ui';
import { explainForOperator } from '../util/errors';
import type { RunSink } from './wizardTypes';

export class RunGate {
  private flows = 0;
  private busy = false;

  get running(): boolean {
    return this.busy;
  }

  /** Runs `flow` unless another is running; then `refuse()` answers instead. */
  async once<R>(refuse: () => Promise<R>, flow: () => Promise<R>): Promise<R> {
    if (this.busy) return refuse();
    const id = ++this.flows;
    this.busy = true;
    try {
      return await flow();
    } finally {
      // a flow started after this one's run ended (this one's notification still open) keeps the gate
      if (this.flows === id) this.busy = false;
    }
  }

  /** The run's sink: the gate is closed while the run writes to it and opens once it has finished. */
  track(sink: RunSink): RunSink {
    this.busy = true;
    return {
      write: (t) => sink.write(t),
      onClose: (cb) => sink.onClose(cb),
      finished: (outcome) => {
        sink.finished(outcome);
        this.busy = false;
      },
    };
  }
}

/**
 * A message that ends a flow before its run (untrusted workspace, an error while preparing), shown
 * without waiting for it to be closed: VS Code resolves a notification without buttons only once it
 * is closed, and it stays in the notification center after its toast hides, so awaiting it kept the
 * gate closed ("already running") for as long as nobody cleared it.
 */
export function tell(ui: Ui, level: 'info' | 'warning' | 'error', text: string): void {
  ui.message(level, text).catch(() => undefined);
}

/** A flow's run threw: the reason in red in its terminal, the run marked failed, the error shown. */
export async function reportRunFailure(ui: Ui, sink: RunSink, e: unknown, doing: string): Promise<void> {
  const text = explainForOperator(e, doing);
  sink.write(`\r\n\x1b[31m${text}\x1b[0m\r\n`);
  sink.finished('failed');
  await ui.message('error', text);
}
