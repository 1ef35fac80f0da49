// Unit tier: the workstation's record of temporary Director users (src/session/tempUsers.ts).
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TempUserRegistry } from '../../src/session/tempUsers';
import {
  cleanupKilledRunUsers,
  MAX_FAILED_CLEANUPS,
  recordVerdict,
  sweepEnvironment,
} from '../../src/session/tempUserSweep';
import { BoshError, type DirectorClient } from '../../src/bosh/types';
import { parseLockHolder } from '../../src/session/lockFile';
import { describeLock } from '../../src/session/lockReport';

describe('temporary user record (session/tempUsers)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temp-users-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const rec = { environment: 'https://10.0.0.6:25555', deployment: 'dep', group: 'master', instanceId: 'abc-1' };

  it('records a user in a private file and forgets it', () => {
    const reg = new TempUserRegistry(path.join(dir, 'users'));
    reg.record({ ...rec, user: 'bosh_0123456789abcde' });
    assert.strictEqual(fs.statSync(path.join(dir, 'users')).mode & 0o777, 0o700);
    assert.strictEqual(fs.statSync(path.join(dir, 'users', 'bosh_0123456789abcde.json')).mode & 0o777, 0o600);
    const [r] = reg.list();
    assert.strictEqual(r.user, 'bosh_0123456789abcde');
    assert.strictEqual(r.pid, process.pid);
    reg.forget('bosh_0123456789abcde');
    assert.deepStrictEqual(reg.list(), []);
  });

  it('refuses names that are not temporary users (no path tricks)', () => {
    const reg = new TempUserRegistry(dir);
    assert.throws(() => reg.record({ ...rec, user: '../vcap' }), /Not a temporary SSH user/);
    assert.throws(() => reg.forget('vcap'), /Not a temporary SSH user/);
  });

  it('lists as leftovers only records of this environment and deployment whose process is gone', () => {
    const reg = new TempUserRegistry(dir);
    reg.record({ ...rec, user: 'bosh_live' }); // this process: alive
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: gone
    const write = (user: string, over: object) =>
      fs.writeFileSync(
        path.join(dir, `${user}.json`),
        JSON.stringify({ ...rec, user, created: 'x', pid: dead, workstation: os.hostname(), ...over }),
      );
    write('bosh_dead', {});
    write('bosh_deadotherdep', { deployment: 'other' });
    write('bosh_deadotherenv', { environment: 'https://10.0.0.7:25555' });
    write('bosh_deadotherhost', { workstation: 'another-workstation' });
    write('bosh_deadsameenvslash', { environment: 'https://10.0.0.6:25555/' });
    fs.writeFileSync(path.join(dir, 'bosh_garbage.json'), '{half');
    assert.deepStrictEqual(
      reg
        .leftovers(rec.environment, 'dep')
        .map((r) => r.user)
        .sort(),
      ['bosh_dead', 'bosh_deadsameenvslash'],
    );
  });

  it('keeps the cleanup tasks of a user, whose record then is a leftover to check even from a live process', () => {
    const reg = new TempUserRegistry(dir);
    reg.record({ ...rec, user: 'bosh_asked' });
    reg.record({ ...rec, user: 'bosh_inuse' });
    assert.deepStrictEqual(reg.leftovers(rec.environment, 'dep'), [], 'users of this live process are not leftovers');
    reg.cleanupRequested('bosh_asked', [41, 42]);
    const left = reg.leftovers(rec.environment, 'dep');
    assert.deepStrictEqual(
      left.map((r) => [r.user, r.cleanupTasks, r.pid]),
      [['bosh_asked', [41, 42], process.pid]],
    );
    assert.strictEqual(fs.statSync(path.join(dir, 'bosh_asked.json')).mode & 0o777, 0o600);
    reg.forget('bosh_asked');
    reg.cleanupRequested('bosh_asked', [43]); // forgotten meanwhile: no record comes back
    assert.deepStrictEqual(
      reg.list().map((r) => r.user),
      ['bosh_inuse'],
    );
  });
});

describe('temporary user records of a whole environment (session/tempUserSweep)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temp-users-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = 'https://10.0.0.6:25555';

  it('one task listing decides every deployment: done forgotten, failed or killed cleaned again, running kept', async () => {
    const reg = new TempUserRegistry(dir);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const write = (user: string, deployment: string, over: object) =>
      fs.writeFileSync(
        path.join(dir, `${user}.json`),
        JSON.stringify({
          environment: env,
          deployment,
          group: 'master',
          instanceId: 'i-1',
          user,
          created: 'x',
          pid: process.pid,
          workstation: os.hostname(),
          ...over,
        }),
      );
    write('bosh_done', 'never-opened', { cleanupTasks: [50] });
    write('bosh_failed', 'other', { cleanupTasks: [51, 50] });
    write('bosh_running', 'dep', { cleanupTasks: [52] });
    write('bosh_killed', 'other', { pid: dead });
    write('bosh_killedhere', 'dep', { pid: dead }); // cleanupKilledRunUsers' part, waited for by the session
    write('bosh_deleted', 'deleted-dep', { pid: dead });
    const calls: string[] = [];
    const director = {
      env: { url: env },
      tasks: async (q: { states?: string[]; limit: number }) => {
        calls.push(`tasks ${q.states!.join(',')}`);
        return [
          { id: 52, state: 'processing' },
          { id: 51, state: 'error' },
        ];
      },
      task: async (id: number) => {
        calls.push(`task ${id}`);
        throw new Error('one listing, no task read per record');
      },
      sshCleanupRequest: async (d: string, t: { group: string; id: string }, user: string) => {
        calls.push(`cleanup ${d} ${t.group}/${t.id} ${user}`);
        if (d === 'deleted-dep') throw new BoshError('not-found', "Deployment 'deleted-dep' doesn't exist", 404, 70000);
        return 60;
      },
    } as unknown as DirectorClient;
    const res = await sweepEnvironment({ registry: reg, director, log: () => undefined }, 'dep');
    assert.deepStrictEqual(
      calls.filter((c) => c.startsWith('task')),
      ['tasks queued,processing,cancelling,error,timeout,cancelled'],
    );
    assert.deepStrictEqual(calls.filter((c) => c.startsWith('cleanup')).sort(), [
      'cleanup deleted-dep master/i-1 bosh_deleted',
      'cleanup other master/i-1 bosh_failed',
      'cleanup other master/i-1 bosh_killed',
    ]);
    assert.deepStrictEqual([...res.forgotten].sort(), ['bosh_deleted', 'bosh_done']);
    assert.deepStrictEqual([...res.cleaning].sort(), ['bosh_failed', 'bosh_killed']);
    assert.deepStrictEqual(res.kept, ['bosh_running']);
    assert.deepStrictEqual(
      reg
        .list()
        .map((r) => [r.user, r.cleanupTasks ?? []])
        .sort(),
      [
        ['bosh_failed', [60]],
        ['bosh_killed', [60]],
        ['bosh_killedhere', []],
        ['bosh_running', [52]],
      ],
    );
  });

  it('a task older than a listing cut at its limit is unknown: cleaned again, not taken as done', () => {
    const notDone = new Map([[90, 'error']]);
    assert.strictEqual(recordVerdict([95], notDone, 0), 'done');
    assert.strictEqual(recordVerdict([95], notDone, 90), 'done');
    assert.strictEqual(recordVerdict([80], notDone, 90), 'clean-again');
    assert.strictEqual(recordVerdict([90, 95], notDone, 0), 'clean-again');
    assert.strictEqual(recordVerdict([90], new Map([[90, 'queued']]), 0), 'running');
  });
});

describe('temporary user records are not cleaned again without end (session/tempUserSweep)', () => {
  const ENV = 'https://10.0.0.6:25555';
  let dir: string;
  let dead: number;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temp-users-limit-'));
    dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (user: string, over: object) =>
    fs.writeFileSync(
      path.join(dir, `${user}.json`),
      JSON.stringify({
        environment: ENV,
        deployment: 'dep',
        group: 'master',
        user,
        created: 'x',
        pid: dead,
        workstation: os.hostname(),
        ...over,
      }),
    );

  it('a cleanup that found no VM forgets the record; one that keeps failing is given up after MAX_FAILED_CLEANUPS, saying how to remove the user', async () => {
    const reg = new TempUserRegistry(dir);
    write('bosh_novm', { instanceId: 'a', cleanupTasks: [70] });
    write('bosh_failing', { instanceId: 'b', cleanupTasks: [71] });
    const logs: string[] = [];
    let asked = 0;
    const director = {
      env: { url: ENV },
      tasks: async () => [
        { id: 70, state: 'error', result: "No instance with a VM in deployment 'dep' matched filter {}" },
        { id: 71, state: 'error', result: "Timed out sending 'ssh' to instance" },
      ],
      sshCleanupRequest: async () => {
        asked++;
        return 71; // fails again: the listing keeps saying so
      },
    } as unknown as DirectorClient;
    const ctx = { registry: reg, director, log: (l: string) => logs.push(l) };
    const first = await sweepEnvironment(ctx, 'other');
    assert.deepStrictEqual(first.forgotten, ['bosh_novm'], 'its instance has no VM (nor users) any more');
    assert.strictEqual(asked, 1, 'the failed one is asked again');
    assert.deepStrictEqual(
      reg.list().map((r) => [r.user, r.failedCleanups]),
      [['bosh_failing', 1]],
    );
    for (let i = 2; i <= MAX_FAILED_CLEANUPS; i++) await sweepEnvironment(ctx, 'other');
    assert.strictEqual(asked, MAX_FAILED_CLEANUPS - 1, 'asked again until the last failure, not after it');
    assert.deepStrictEqual(reg.list(), [], 'forgotten after MAX_FAILED_CLEANUPS failures');
    assert.ok(
      logs.some((l) => /giving up on temporary user bosh_failing .*sudo userdel -r bosh_failing/.test(l)),
      logs.join('\n'),
    );
  });

  it("a killed run's user whose waited cleanup fails counts each failure; one whose instance has no VM is forgotten", async () => {
    const reg = new TempUserRegistry(dir);
    write('bosh_refused', { instanceId: 'a' });
    write('bosh_vmless', { instanceId: 'z' });
    const director = {
      env: { url: ENV },
      sshCleanup: async (_d: string, t: { id: string }) => {
        if (t.id === 'z')
          throw new BoshError(
            'task',
            "Expected task '9' to succeed but state is 'error': No instance with a VM in deployment 'dep' matched filter",
          );
        throw new BoshError('task', "Expected task '8' to succeed but state is 'error': Timed out sending 'ssh'");
      },
    } as unknown as DirectorClient;
    const ctx = { registry: reg, director, log: () => undefined };
    assert.deepStrictEqual(await cleanupKilledRunUsers(ctx, 'dep'), ['bosh_vmless']);
    assert.deepStrictEqual(
      reg.list().map((r) => [r.user, r.failedCleanups]),
      [['bosh_refused', 1]],
    );
    for (let i = 2; i <= MAX_FAILED_CLEANUPS; i++) await cleanupKilledRunUsers(ctx, 'dep');
    assert.deepStrictEqual(reg.list(), []);
  });
});

describe('cluster lock content (session/clusterLock)', () => {
  it('parses a lock this tool wrote and rejects anything else', () => {
    const h = {
      runId: 'r-1',
      flow: 'member-recovery' as const,
      workstation: 'ws',
      user: 'op',
      pid: 42,
      startedAt: '2025-01-01T00:00:00.000Z',
      heartbeatAt: '2025-01-01T00:00:10.000Z',
    };
    assert.deepStrictEqual(parseLockHolder(JSON.stringify(h)), h);
    assert.strictEqual(parseLockHolder('not json'), null);
    assert.strictEqual(parseLockHolder(JSON.stringify({ ...h, flow: 'lunch' })), null);
    assert.strictEqual(parseLockHolder(JSON.stringify({ ...h, runId: 'a"b' })), null);
    const line = describeLock({
      instance: 'master/x',
      state: 'held',
      holder: h,
      ageMs: 130_000,
      stale: true,
      staleReason: 'no heartbeat for 130 s',
    });
    for (const part of [
      'master/x',
      'r-1',
      'member-recovery',
      'op@ws',
      'pid 42',
      'since 2025-01-01T00:00:00.000Z',
      'STALE',
    ])
      assert.ok(line.includes(part), line);
  });
});
