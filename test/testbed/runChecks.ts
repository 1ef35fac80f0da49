// Helpers of the testbed tests that drive the engines' runs (recovery, quorum and snapshot restore,
// maintenance): a failed assertion's explanation, and the operator's cancel at a chosen event.
import * as fs from 'fs';

/** The run's outcome, message, advice and the end of its transcript: what a failed assertion should show. */
export function explain(res: { outcome: string; message: string; advice?: string; transcriptPath: string }): string {
  let tx = '';
  try {
    tx = fs.readFileSync(res.transcriptPath, 'utf8').slice(-4000);
  } catch (e) {
    tx = `(transcript unreadable: ${(e as Error).message})`;
  }
  return `${res.outcome}: ${res.message}\n${res.advice ?? ''}\ntranscript ${res.transcriptPath}:\n${tx}`;
}

/**
 * A run's `signal` and `onEvent` that cancel it, as the operator's cancel does, at the first event
 * `when` matches; `also` sees every event. `reached()` says whether that event came.
 */
export function stopWhen<E>(
  when: (e: E) => boolean,
  also?: (e: E) => void,
): { signal: AbortSignal; onEvent: (e: E) => void; reached: () => boolean } {
  const ac = new AbortController();
  let reached = false;
  return {
    signal: ac.signal,
    onEvent: (e) => {
      also?.(e);
      if (!reached && when(e)) {
        reached = true;
        ac.abort();
      }
    },
    reached: () => reached,
  };
}
