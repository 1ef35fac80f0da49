// Testbed tier: the cluster-wide lock (src/session/clusterLock.ts) on the testbed's real master VMs,
// taken over Director-provisioned SSH by separate sessions, as two workstations would.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { masters, readTestbedState, TestbedState } from './harness/state';
import type { EnvironmentConfig } from '../../src/bosh/types';
import { openEnvironment } from '../../src/session/session';
import type { DeploymentSession, EnvironmentSession } from '../../src/session/types';
import { acquireClusterLock, ClusterLock, ClusterLockError } from '../../src/session/clusterLock';
import type { LockHolder } from '../../src/session/lockFile';
import { readLocks } from '../../src/session/lockReport';

function envOf(state: TestbedState): EnvironmentConfig {
  return {
    name: 'testbed',
    url: state.director.url,
    caCert: state.director.caCert,
    client: state.director.client,
    clientSecret: state.director.clientSecret,
    source: 'testbed',
  };
}

const lockFile = (vmDir: string) => path.join(vmDir, 'vcap', 'store', 'etcd-doctor.lock');

function readHolder(vmDir: string): LockHolder | null {
  try {
    return JSON.parse(fs.readFileSync(lockFile(vmDir), 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

/** A lock file as another workstation's run would have left it, last written `ageS` seconds ago. */
function forgeLock(vmDir: string, runId: string, ageS: number): string {
  const at = new Date(Date.now() - ageS * 1000);
  const text = JSON.stringify({
    runId,
    flow: 'defragmentation',
    workstation: 'other-workstation',
    user: 'alice',
    pid: 4242,
    startedAt: new Date(at.getTime() - 60_000).toISOString(),
    heartbeatAt: at.toISOString(),
  });
  fs.writeFileSync(lockFile(vmDir), text);
  fs.utimesSync(lockFile(vmDir), at, at);
  return text;
}

function isLockError(kind: ClusterLockError['kind'], ...parts: (string | RegExp)[]) {
  return (e: unknown) => {
    assert.ok(e instanceof ClusterLockError, `expected a ClusterLockError, got ${String(e)}`);
    assert.strictEqual(e.kind, kind, e.message);
    for (const p of parts) {
      if (typeof p === 'string') assert.ok(e.message.includes(p), `'${p}' in: ${e.message}`);
      else assert.match(e.message, p);
    }
    return true;
  };
}

describe('cluster lock (testbed)', function () {
  this.timeout(180_000);
  let state: TestbedState;
  let usersDir: string;
  const envs: EnvironmentSession[] = [];
  const open = (): DeploymentSession => {
    const e = openEnvironment(envOf(state), { tempUsersDir: usersDir });
    envs.push(e);
    return e.deployment(state.deployment);
  };
  const dirs = () => masters(state).map((m) => m.dir);
  const clear = () => dirs().forEach((d) => fs.rmSync(lockFile(d), { force: true }));

  before(() => {
    state = readTestbedState();
    usersDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-users-'));
    clear();
  });
  afterEach(clear);
  after(async () => {
    await Promise.all(envs.map((e) => e.dispose()));
    fs.rmSync(usersDir, { recursive: true, force: true });
  });

  it('two runs at once: exactly one proceeds, the other is refused naming the holder; after release the other gets it', async () => {
    const [a, b] = [open(), open()];
    const results = await Promise.allSettled([
      acquireClusterLock(a, { flow: 'member-recovery', runId: 'run-a' }),
      acquireClusterLock(b, { flow: 'defragmentation', runId: 'run-b' }),
    ]);
    const won = results.filter((r): r is PromiseFulfilledResult<ClusterLock> => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.strictEqual(won.length, 1, JSON.stringify(results.map((r) => r.status)));
    assert.strictEqual(lost.length, 1);
    const winner = won[0].value;
    const loserIsB = winner.runId === 'run-a';
    isLockError(
      'held',
      `run ${winner.runId}`,
      `pid ${process.pid}`,
      os.hostname(),
      winner.flow,
      'since',
      'last heartbeat',
    )(lost[0].reason);
    // The refused run left nothing: every master holds the winner's lock.
    assert.deepStrictEqual(
      dirs().map((d) => readHolder(d)?.runId),
      dirs().map(() => winner.runId),
    );
    assert.deepStrictEqual(winner.masters.length, masters(state).length);

    const seen = await readLocks(loserIsB ? b : a);
    assert.deepStrictEqual(
      seen.map((r) => [r.state, r.holder?.runId, r.stale]),
      dirs().map(() => ['held', winner.runId, false]),
    );

    const rel = await winner.release();
    assert.strictEqual(rel.released.length, masters(state).length);
    assert.deepStrictEqual(rel.notOurs, []);
    assert.ok(dirs().every((d) => !fs.existsSync(lockFile(d))));

    const second = await acquireClusterLock(loserIsB ? b : a, {
      flow: 'defragmentation',
      runId: loserIsB ? 'run-b' : 'run-a',
    });
    assert.ok(dirs().every((d) => readHolder(d)?.runId === second.runId));
    await second.release();
    assert.ok(dirs().every((d) => !fs.existsSync(lockFile(d))));
  });

  it('a stale lock is refused without breakLock and broken with it; a live one is never broken', async () => {
    const s = open();
    const forged = dirs().map((d) => forgeLock(d, 'run-old', 600));
    await assert.rejects(
      acquireClusterLock(s, { flow: 'member-recovery', runId: 'run-new' }),
      isLockError(
        'stale',
        'run-old',
        'alice@other-workstation',
        'pid 4242',
        'defragmentation',
        'STALE',
        '--break-lock',
      ),
    );
    assert.deepStrictEqual(
      dirs().map((d) => fs.readFileSync(lockFile(d), 'utf8')),
      forged,
      'a refusal changes nothing',
    );

    const lock = await acquireClusterLock(s, { flow: 'member-recovery', runId: 'run-new', breakLock: true });
    try {
      assert.deepStrictEqual(
        lock.broken.map((r) => [r.holder?.runId, r.holder?.workstation]),
        dirs().map(() => ['run-old', 'other-workstation']),
      );
      assert.ok(dirs().every((d) => readHolder(d)?.runId === 'run-new'));
    } finally {
      await lock.release();
    }

    const live = dirs().map((d) => forgeLock(d, 'run-live', 5));
    await assert.rejects(
      acquireClusterLock(s, { flow: 'member-recovery', runId: 'run-new', breakLock: true }),
      isLockError('held', 'run-live', 'alice@other-workstation'),
    );
    assert.deepStrictEqual(
      dirs().map((d) => fs.readFileSync(lockFile(d), 'utf8')),
      live,
    );
  });

  it('heartbeats until aborted; release removes only our lock, and a lock taken away is reported as lost', async () => {
    const s = open();
    const stop = new AbortController();
    const lock = await acquireClusterLock(s, {
      flow: 'quorum-restore',
      runId: 'run-hb',
      heartbeatMs: 300,
      signal: stop.signal,
    });
    const first = readHolder(dirs()[0])!.heartbeatAt;
    while (readHolder(dirs()[0])!.heartbeatAt === first) await new Promise((r) => setTimeout(r, 100));

    // Another run takes master-1's lock away (as a --break-lock elsewhere would).
    const [, m1] = dirs();
    const theirs = forgeLock(m1, 'run-thief', 0);
    const lost = await new Promise<unknown>((resolve) =>
      lock.signal.addEventListener('abort', () => resolve(lock.signal.reason), { once: true }),
    );
    isLockError('lost', 'run-thief')(lost);
    stop.abort();

    const rel = await lock.release();
    assert.strictEqual(rel.released.length, masters(state).length - 1);
    assert.deepStrictEqual(
      rel.notOurs.map((r) => r.holder?.runId),
      ['run-thief'],
    );
    assert.strictEqual(fs.readFileSync(lockFile(m1), 'utf8'), theirs, "someone else's lock is not removed");
    assert.ok(
      dirs()
        .filter((d) => d !== m1)
        .every((d) => !fs.existsSync(lockFile(d))),
    );
  });

  it('an aborted signal stops the heartbeat', async () => {
    const s = open();
    const stop = new AbortController();
    const lock = await acquireClusterLock(s, {
      flow: 'member-recovery',
      runId: 'run-stop',
      heartbeatMs: 200,
      signal: stop.signal,
    });
    stop.abort();
    const before = fs.readFileSync(lockFile(dirs()[0]), 'utf8');
    await new Promise((r) => setTimeout(r, 1500));
    assert.strictEqual(fs.readFileSync(lockFile(dirs()[0]), 'utf8'), before);
    await lock.release();
  });
});
