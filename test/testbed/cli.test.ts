// Testbed tier: `bosh-etcd` as an operator runs it against real etcd, sshd and monit (the Director
// stand-in): status's exit codes by the worst finding (healthy 0, a network-path warning 7, the
// bootstrap split brain 8, also in --json), a Director 404 and an unknown instance (6), and questions
// that answer no instead of hanging: stdin closed, and Ctrl-C / Ctrl-D at a real terminal (script(1)).
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { boshCliEnv, breakInstance, heal, masters, readTestbedState, type TestbedState } from './harness/index';
import { waitFor } from './harness/sh';
import { EXIT, main } from '../../src/cli';

const CLI = path.join(__dirname, '../../src/cli.js');

function cliEnv(state: TestbedState): NodeJS.ProcessEnv {
  return { ...boshCliEnv(state), BOSH_ETCD_KNOWN_HOSTS: state.staticSsh.knownHostsPath };
}

async function cli(state: TestbedState, args: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  const code = await main(args, { out, err, env: cliEnv(state), interactive: false });
  return { code, out: o, err: e, all: `${o}\n${e}` };
}

/** Runs status until it exits with `code` (a fault takes a moment to show: monit retries, logs). */
async function statusUntil(state: TestbedState, code: number, extra: string[] = []) {
  let last: Awaited<ReturnType<typeof cli>> | undefined;
  try {
    return await waitFor(
      `status exit ${code}`,
      90_000,
      async () => {
        last = await cli(state, ['status', '--deployment', state.deployment, ...extra]);
        return last.code === code ? last : undefined;
      },
      1000,
    );
  } catch {
    assert.fail(`expected status to exit ${code}; last exit ${last?.code}:\n${last?.all}`);
  }
}

/** Spawns the built CLI; resolves with its exit code and output. stdin is a pipe the test controls. */
function spawnCli(state: TestbedState, command: string, args: string[]) {
  const child = spawn(command, args, { env: { ...process.env, ...cliEnv(state) }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { child, exited, output: () => output };
}

describe('bosh-etcd CLI (testbed)', function () {
  this.timeout(300_000);
  let state: TestbedState;
  let tx: string;
  const m = (i: number) => masters(state)[i];

  before(() => {
    state = readTestbedState();
    tx = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-tb-'));
  });
  after(() => fs.rmSync(tx, { recursive: true, force: true }));

  it('status on a healthy cluster: the table, the findings, a free lock; exit 0; --json with exact ids', async () => {
    const r = await cli(state, ['status', '--deployment', state.deployment]);
    assert.strictEqual(r.code, EXIT.OK, r.all);
    assert.match(r.out, /\| ENDPOINT +\| ID +\| VERSION/);
    assert.match(r.out, /Findings \(etcd 3\/3 healthy\):/);
    assert.match(r.out, /Cluster lock: free\./);

    const j = await cli(state, ['status', '--deployment', state.deployment, '--json']);
    assert.strictEqual(j.code, EXIT.OK, j.all);
    const doc = JSON.parse(j.out);
    assert.deepStrictEqual(Object.keys(doc), [
      'deployment',
      'at',
      'summary',
      'findings',
      'unchecked',
      'locks',
      'endpoints',
    ]);
    assert.strictEqual(doc.deployment, state.deployment);
    assert.strictEqual(doc.summary.worst, 'ok');
    assert.deepStrictEqual(
      doc.locks.map((l: { state: string }) => l.state),
      ['free', 'free', 'free'],
    );
    assert.strictEqual(doc.endpoints.length, 3);
    for (const e of doc.endpoints) {
      assert.match(e.status.memberId, /^[0-9a-f]{1,16}$/, 'member ids as hex strings');
      assert.strictEqual(typeof e.status.raftIndex, 'string');
      assert.strictEqual(e.healthy, true);
    }
    const noProbe = await cli(state, ['status', '--deployment', state.deployment, '--no-probe']);
    assert.strictEqual(noProbe.code, EXIT.OK, noProbe.all);
    assert.match(noProbe.out, /the cluster lock on the masters \(--no-probe: no SSH\): not read/);
  });

  it('a deployment the Director does not know exits 6 (status, recover); so does an unknown instance', async () => {
    const unknownDeployment = [
      ['status', '--deployment', 'no-such-deployment'],
      ['recover', '--deployment', 'no-such-deployment', '--instance', `master/${m(1).id}`, '--transcript-dir', tx],
    ];
    for (const args of unknownDeployment) {
      const r = await cli(state, args);
      assert.strictEqual(r.code, EXIT.CONFIG, r.all);
      assert.match(r.err, /no-such-deployment/);
      assert.match(r.err, /bosh deployments/);
    }
    const u = await cli(state, [
      'recover',
      '--deployment',
      state.deployment,
      '--instance',
      'master/00000000-0000-4000-8000-000000000000',
      '--transcript-dir',
      tx,
    ]);
    assert.strictEqual(u.code, EXIT.CONFIG, u.all);
    assert.match(u.err, new RegExp(`has no instance master/00000000-.*one of: .*master/${m(0).id}`));
  });

  it('stdin closed without a terminal: defrag does not hang and changes nothing (exit 4)', async () => {
    const p = spawnCli(state, process.execPath, [
      CLI,
      'defrag',
      '--deployment',
      state.deployment,
      '--force',
      '--transcript-dir',
      tx,
    ]);
    p.child.stdin.end();
    assert.strictEqual(await p.exited, EXIT.DECLINED, p.output());
    assert.match(p.output(), /Not a terminal and no --yes: not changing anything/);
    assert.doesNotMatch(p.output(), /^\[master\/[^\]]+\] \$ [^\n]*etcdctl[^\n]* defrag/m, 'no defrag command ran');
  });

  for (const [key, name] of [
    ['\x03', 'Ctrl-C'],
    ['\x04', 'Ctrl-D (end of input)'],
  ] as const) {
    it(`at a terminal, ${name} at the question answers no: exit 4, nothing changed`, async () => {
      const command = [CLI, 'defrag', '--deployment', state.deployment, '--force', '--transcript-dir', tx]
        .map((a) => `'${a}'`)
        .join(' ');
      const p = spawnCli(state, 'script', ['-qfec', `${process.execPath} ${command}`, '/dev/null']);
      await waitFor('the question', 120_000, async () => /Proceed\? \[y\/N\]/.test(p.output()), 50);
      p.child.stdin.write(key);
      const code = await p.exited;
      p.child.stdin.end();
      assert.strictEqual(code, EXIT.DECLINED, p.output());
      assert.match(p.output(), /answered no/);
      assert.match(p.output(), /DECLINED/);
      assert.doesNotMatch(p.output(), /^\[master\/[^\]]+\] \$ [^\n]*etcdctl[^\n]* defrag/m, 'no defrag command ran');
    });
  }

  describe('with a fault', () => {
    afterEach(async () => {
      await heal(undefined, { rebuild: true });
    });

    it('network path: status names it and exits 7 (warning), no recovery offered', async () => {
      await breakInstance(`master/${m(2).id}`, 'network-path');
      const r = await statusUntil(state, EXIT.WARNING);
      assert.match(r.out, new RegExp(`WARNING +master/${m(2).id}: `));
      assert.doesNotMatch(r.out, /CRITICAL/);
    });

    it('bootstrap wipe: status names the split brain and exits 8 (critical), also with --json', async () => {
      await breakInstance(`master/${m(0).id}`, 'bootstrap-wipe');
      const r = await statusUntil(state, EXIT.CRITICAL);
      assert.match(r.out, /split brain/i);
      assert.match(r.out, new RegExp(`CRITICAL +master/${m(0).id}: SPLIT BRAIN`));
      const j = await cli(state, ['status', '--deployment', state.deployment, '--json']);
      assert.strictEqual(j.code, EXIT.CRITICAL, j.all);
      const doc = JSON.parse(j.out);
      assert.strictEqual(doc.summary.worst, 'critical');
      assert.match(doc.summary.line, /split brain/i);
      assert.ok(
        doc.findings.some(
          (f: { kind: string; instance?: { id: string } }) => f.kind === 'split-brain' && f.instance?.id === m(0).id,
        ),
        j.out,
      );
    });
  });
});
