// Shared by the extension-host tests (not a test file itself: the runner loads *.test.js only).
import * as path from 'path';

export const EXTENSION_ID = 'bosh-etcd.bosh-etcd';
/** The testbed harness, compiled next to these tests (break/heal from inside the extension host). */

export const harness = (): typeof import('../testbed/harness/index') =>
  require(path.join(__dirname, '..', 'testbed', 'harness', 'index.js'));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls f every second until it returns a value (not undefined), or fails naming what it waited for. */
export async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(1000);
  }
}
