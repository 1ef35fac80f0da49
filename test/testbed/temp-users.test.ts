// Testbed tier: temporary Director users are recorded on the workstation and removed even when the
// run that created them was killed (src/session/tempUsers.ts, src/ssh/boshSsh.ts).
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { masters, readTestbedState, TestbedState } from './harness/state';
import { userExists } from './director/ssh-users';
import type { DirectorClient, EnvironmentConfig } from '../../src/bosh/types';
import { createDirectorClient } from '../../src/bosh/director';
import { directDial } from '../../src/ssh/gateway';
import { openBoshSsh } from '../../src/ssh/boshSsh';
import { boshSshUserName, generateRsaKeyPairAsync } from '../../src/ssh/keys';
import { SshError } from '../../src/ssh/types';
import { openEnvironment } from '../../src/session/session';
import { TempUserRegistry } from '../../src/session/tempUsers';

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

/** A child node process that opens a session, SSHes to a master, prints its user and waits to be killed. */
const CHILD = `
const { openEnvironment } = require(process.env.SESSION_MODULE);
const a = JSON.parse(process.env.CHILD_ARGS);
(async () => {
  const dep = openEnvironment(a.env, { tempUsersDir: a.usersDir }).deployment(a.deployment);
  const h = await dep.ssh(a.instance);
  const who = (await h.exec('whoami')).stdout.trim();
  process.stdout.write('USER=' + who + '\\n');
  setInterval(() => undefined, 1000);
})().catch((e) => { process.stdout.write('ERROR=' + e.message + '\\n'); process.exit(1); });
`;

describe('temporary SSH users (testbed)', function () {
  this.timeout(180_000);
  let state: TestbedState;
  let usersDir: string;
  before(() => {
    state = readTestbedState();
    usersDir = fs.mkdtempSync(path.join(os.tmpdir(), 'temp-users-'));
  });
  after(() => fs.rmSync(usersDir, { recursive: true, force: true }));

  it('a user left by a killed run is removed through the Director by the next session', async () => {
    const [m0, m1] = masters(state);
    const child = spawn(process.execPath, ['-e', CHILD], {
      env: {
        ...process.env,
        SESSION_MODULE: path.resolve(__dirname, '../../src/session/session.js'),
        CHILD_ARGS: JSON.stringify({
          env: envOf(state),
          usersDir,
          deployment: state.deployment,
          instance: `master/${m0.id}`,
        }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    let out = '';
    const user = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /USER=(\S+)\n/.exec(out);
        if (m) resolve(m[1]);
        else if (/ERROR=/.test(out)) reject(new Error(out));
      });
      child.once('exit', (c) => reject(new Error(`child exited ${c}: ${out}`)));
    });
    child.kill('SIGKILL');
    await exited;
    assert.match(user, /^bosh_[0-9a-f]{15}$/);
    assert.ok(userExists(user), `${user} is left on the VM by the killed run`);
    const reg = new TempUserRegistry(usersDir);
    assert.deepStrictEqual(
      reg.list().map((r) => [r.user, r.instanceId, r.deployment]),
      [[user, m0.id, state.deployment]],
    );

    const env = openEnvironment(envOf(state), { tempUsersDir: usersDir });
    let ours = '';
    try {
      const h = await env.deployment(state.deployment).ssh(`master/${m1.id}`);
      assert.strictEqual(userExists(user), false, `${user} was removed by the new session`);
      assert.ok(!fs.existsSync(path.join(m0.dir, 'ssh', 'authorized_keys', user)));
      ours = (await h.exec('whoami')).stdout.trim();
      assert.deepStrictEqual(
        reg.list().map((r) => r.user),
        [ours],
        'only the live session’s user is recorded',
      );
    } finally {
      await env.dispose();
    }
    // A clean dispose asks for the cleanup without waiting for its task (as `bosh ssh` does): the
    // record keeps the task until a later session sees it done.
    const after = reg.list();
    assert.deepStrictEqual(
      after.map((r) => [r.user, (r.cleanupTasks ?? []).length]),
      [[ours, 1]],
    );
    const task = after[0].cleanupTasks![0];
    const director = createDirectorClient(envOf(state), { dial: directDial });
    try {
      for (let i = 0; (await director.task(task)).state !== 'done'; i++) {
        assert.ok(i < 300, `cleanup task ${task} is not done after 60 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      director.dispose();
    }
    assert.strictEqual(userExists(ours), false, `${ours} was removed by the Director's cleanup task`);
    const next = openEnvironment(envOf(state), { tempUsersDir: usersDir });
    let third = '';
    try {
      const h = await next.deployment(state.deployment).ssh(`master/${m1.id}`);
      third = (await h.exec('whoami')).stdout.trim();
    } finally {
      await next.dispose(); // waits for the check of the records, done in the background
    }
    assert.deepStrictEqual(
      reg.list().map((r) => r.user),
      [third],
      'the next session forgot the user whose cleanup task is done',
    );
  });

  it('a session start checks the records of every deployment with one task listing: done forgotten, failed cleaned again', async () => {
    const [m0, m1] = masters(state);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temp-users-sweep-'));
    const reg = new TempUserRegistry(dir);
    const director = createDirectorClient(envOf(state), { dial: directDial });
    const finished = async (id: number) => {
      for (let i = 0; ; i++) {
        const t = await director.task(id);
        if (!['queued', 'processing', 'cancelling'].includes(t.state)) return t.state;
        assert.ok(i < 300, `task ${id} still ${t.state} after 60 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    try {
      // a user on master-1 whose cleanup task failed (stood for by a task that failed for another
      // reason than "no instance with a VM", which would make the record be forgotten: tempUserSweep.ts)
      const failedUser = boshSshUserName();
      await director.sshSetup(
        state.deployment,
        { group: 'master', id: m1.id },
        failedUser,
        (await generateRsaKeyPairAsync()).publicKey,
      );
      const failedTask = await director
        .sshSetup(state.deployment, { group: 'master', id: m1.id }, boshSshUserName(), 'not a public key')
        .then(
          () => assert.fail('a setup with a bad key succeeded'),
          (e: Error) => Number(/task '(\d+)'/.exec(e.message)?.[1]),
        );
      assert.ok(failedTask > 0);
      // a deployment never opened again, whose user's cleanup is done
      const doneTask = await director.sshCleanupRequest!(
        state.deployment,
        { group: 'master', id: m0.id },
        'bosh_nobody',
      );
      assert.strictEqual(await finished(failedTask), 'error');
      assert.strictEqual(await finished(doneTask), 'done');
      const url = state.director.url;
      reg.record({
        environment: url,
        deployment: 'never-opened-again',
        group: 'master',
        instanceId: m0.id,
        user: 'bosh_doneelsewhere',
      });
      reg.cleanupRequested('bosh_doneelsewhere', [doneTask]);
      reg.record({
        environment: url,
        deployment: state.deployment,
        group: 'master',
        instanceId: m1.id,
        user: failedUser,
      });
      reg.cleanupRequested(failedUser, [failedTask]);
      assert.ok(userExists(failedUser));

      const lines: string[] = [];
      const env = openEnvironment(envOf(state), { tempUsersDir: dir, log: (l) => lines.push(l) });
      try {
        await env.deployment(state.deployment).ssh(`master/${m0.id}`);
      } finally {
        await env.dispose();
      }
      assert.strictEqual(lines.filter((l) => /^GET \/tasks\?/.test(l)).length, 1, lines.join('\n'));
      assert.ok(
        !lines.some((l) => l.startsWith(`GET /tasks/${doneTask} `) || l.startsWith(`GET /tasks/${failedTask} `)),
      );
      const left = new Map(reg.list().map((r) => [r.user, r.cleanupTasks ?? []]));
      assert.ok(!left.has('bosh_doneelsewhere'), 'the record of the deployment never opened again is forgotten');
      const again = left.get(failedUser);
      assert.ok(again && again.length === 1 && again[0] !== failedTask, `cleaned again: ${JSON.stringify(again)}`);
      assert.strictEqual(await finished(again[0]), 'done');
      assert.strictEqual(userExists(failedUser), false, `${failedUser} was removed by the new cleanup`);
    } finally {
      director.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an SSH setup answer for another instance, and removes the user it created there', async () => {
    const [m0, m1] = masters(state);
    const real = createDirectorClient(envOf(state), { dial: directDial });
    let created = '';
    // A Director that answers for master-1 when asked for master-0.
    const wrong: DirectorClient = {
      ...real,
      env: real.env,
      sshSetup: (d, _target, user, key) => {
        created = user;
        return real.sshSetup(d, { group: 'master', id: m1.id }, user, key);
      },
      sshCleanup: (d, t, u) => real.sshCleanup(d, t, u),
    };
    const reg = new TempUserRegistry(usersDir);
    try {
      await assert.rejects(
        openBoshSsh({
          director: wrong,
          deployment: state.deployment,
          instance: { group: 'master', id: m0.id },
          dial: directDial,
          tempUsers: reg,
        }),
        (e: unknown) =>
          e instanceof SshError &&
          e.kind === 'config' &&
          e.message.includes(`answered for master/${m1.id}, not for master/${m0.id}`) &&
          /refusing to connect to another VM/.test(e.message),
      );
      assert.match(created, /^bosh_/);
      assert.strictEqual(userExists(created), false, 'the user created on the other instance is removed');
      // (the previous test's last session leaves its own record until a later session checks its cleanup task)
      assert.deepStrictEqual(
        reg.list().filter((r) => r.user === created),
        [],
        'the refused user was cleaned up, waited for, and forgotten',
      );
    } finally {
      real.dispose();
    }
  });
});
