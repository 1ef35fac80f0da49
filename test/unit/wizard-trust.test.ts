// Workspace trust as the flows ask for it: a grant still on its way is waited for, briefly.
import * as assert from 'assert';
import { settledTrust, type TrustSource } from '../../src/wizard/trust';

function source(trusted: boolean): TrustSource & { grant(): void; listeners: Set<() => void> } {
  const listeners = new Set<() => void>();
  const s = {
    isTrusted: trusted,
    listeners,
    onDidGrant(l: () => void) {
      listeners.add(l);
      return { dispose: () => listeners.delete(l) };
    },
    grant() {
      s.isTrusted = true;
      for (const l of [...listeners]) l();
    },
  };
  return s;
}

describe('workspace trust for the flows (settledTrust)', () => {
  it('a trusted workspace: true at once, nothing subscribed', async () => {
    const s = source(true);
    assert.strictEqual(await settledTrust(s, 10_000), true);
    assert.strictEqual(s.listeners.size, 0);
  });

  it('trust granted while waiting: true as soon as the grant arrives, the listener disposed', async () => {
    const s = source(false);
    setTimeout(() => s.grant(), 20);
    const t0 = Date.now();
    assert.strictEqual(await settledTrust(s, 10_000), true);
    assert.ok(Date.now() - t0 < 5_000, 'did not wait for the deadline');
    assert.strictEqual(s.listeners.size, 0);
  });

  it('no grant within the wait: false (the flow says the workspace is untrusted), the listener disposed', async () => {
    const s = source(false);
    const t0 = Date.now();
    assert.strictEqual(await settledTrust(s, 40), false);
    assert.ok(Date.now() - t0 >= 35, 'waited for the grant first');
    assert.strictEqual(s.listeners.size, 0);
  });
});
