// Child process of snapshots.test.ts: saves one snapshot of the testbed and prints its memory
// figures as JSON, so the parent measures this process alone (not mocha's heap, nor the fill).
//   node --expose-gc snapshot-memory-child.js <dir>
// A garbage collection after every MB received makes the peak RSS measure what the save keeps
// alive, not the garbage V8 lets pile up before it collects (it waits for tens of MB of buffers).
import { boshCliEnv } from './harness/env';
import { readTestbedState } from './harness/state';
import { openDeploymentFromEnv } from '../../src/session/session';
import { saveSnapshot } from '../../src/snapshots';

async function run(dir: string) {
  const state = readTestbedState();
  const session = openDeploymentFromEnv(boshCliEnv(state), { gatewayKnownHostsPath: state.staticSsh.knownHostsPath });
  try {
    // Connections, TLS and the etcd clients are set up before the baseline is taken.
    const cluster = await session.etcd();
    await cluster.status();
    const rssBefore = process.memoryUsage().rss;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('run with --expose-gc');
    let maxInFlight = 0;
    let collectedAt = 0;
    const saved = await saveSnapshot(session, {
      dir,
      onProgress: (p) => {
        maxInFlight = Math.max(maxInFlight, p.received - p.written);
        if (p.received - collectedAt >= 1024 * 1024) {
          collectedAt = p.received;
          gc();
        }
      },
    });
    const peakRss = process.resourceUsage().maxRSS * 1024;
    process.stdout.write(
      JSON.stringify({ file: saved.file, size: saved.metadata.size, rssBefore, peakRss, maxInFlight }) + '\n',
    );
  } finally {
    await session.dispose();
  }
}

run(process.argv[2]).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
