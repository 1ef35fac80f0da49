// Unit tests of the bosh-etcd CLI's own parts: arguments, the exit-code table and its mappings, the
// y/N question (never hangs), Ctrl-C handling, and the text and JSON it prints.
import * as assert from 'assert';
import { PassThrough } from 'stream';
import { main, parseArgs, exitCodeOf, statusTable, EXIT, USAGE } from '../../src/cli';
import { readWords, takeCommonOption, usageProblem, type CommonOptions } from '../../src/cli/args';
import { withDeployment } from '../../src/cli/session';
import type { DeploymentSession } from '../../src/session/types';
import { askYesNo, handleInterrupts } from '../../src/cli/io';
import { reportRecovery } from '../../src/cli/recover';
import { MAINTENANCE_USAGE, parseMaintenanceArgs } from '../../src/cli/maintenance';
import { formatDiagnosis } from '../../src/cli/status';
import { EXIT_CODES, exitCodeFor, summarize, type Diagnosis, type Finding } from '../../src/diagnosis';
import type { EndpointResult, EndpointStatus } from '../../src/etcd/types';

const sink = () => {
  let text = '';
  return {
    stream: {
      write: (s: string) => {
        text += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    text: () => text,
  };
};

const noConnection = (err = sink()) => ({
  out: sink().stream,
  err: err.stream,
  env: {},
  interactive: false,
  open: () => {
    throw new Error('must not connect');
  },
});

describe('bosh-etcd CLI: arguments', () => {
  it('defrag and recover-nospace take --break-lock (they hold the cluster lock) and say so in their usage', () => {
    for (const cmd of ['defrag', 'recover-nospace']) {
      const a = parseMaintenanceArgs([cmd, '--deployment', 'd', '--break-lock', '--yes']);
      assert.deepStrictEqual([a.cmd, a.deployment, a.breakLock, a.yes], [cmd, 'd', true, true]);
      assert.strictEqual(parseMaintenanceArgs([cmd, '-d', 'd']).breakLock, false);
    }
    assert.match(MAINTENANCE_USAGE, /hold the cluster lock/);
  });

  it('parses recover options, --instance several times (repeats dropped), --all-broken, --break-lock', () => {
    const a = parseArgs([
      'recover',
      '--deployment',
      'd',
      '--instance=master/x',
      '-i',
      'master/y',
      '--instance',
      'master/x',
      '--dry-run',
      '--yes',
      '--learner',
      '--break-lock',
      '--transcript-dir',
      '/tmp/t',
    ]);
    assert.deepStrictEqual(
      [a.cmd, a.deployment, a.instances, a.dryRun, a.yes, a.learner, a.breakLock, a.transcriptDir],
      ['recover', 'd', ['master/x', 'master/y'], true, true, true, true, '/tmp/t'],
    );
    assert.strictEqual(usageProblem(a), undefined);
    assert.strictEqual(parseArgs(['recover', '--all-broken']).allBroken, true);
    assert.throws(() => parseArgs(['recover', '--bogus']), /unknown option --bogus/);
    assert.throws(() => parseArgs(['recover', '--deployment']), /--deployment needs a value/);
    assert.throws(() => parseArgs(['status', 'extra']), /unexpected argument extra/);
  });

  it('parses status --json --no-probe and rejects options of the other command', () => {
    const s = parseArgs(['status', '-d', 'd', '--json', '--no-probe']);
    assert.deepStrictEqual([s.json, s.noProbe, usageProblem(s)], [true, true, undefined]);
    assert.match(usageProblem(parseArgs(['status', '--instance', 'master/x']))!, /--instance: not an option of status/);
    assert.match(usageProblem(parseArgs(['recover', '--instance', 'master/x', '--json']))!, /--json: not an option/);
    assert.match(usageProblem(parseArgs(['recover']))!, /--all-broken is required/);
    assert.match(usageProblem(parseArgs(['recover', '--all-broken', '-i', 'master/x']))!, /exclude each other/);
  });

  it('usage errors exit 2 before any connection', async () => {
    const err = sink();
    const io = noConnection(err);
    assert.strictEqual(await main(['recover', '--deployment', 'd'], io), EXIT.USAGE);
    assert.match(err.text(), /--instance master\/UUID .* or --all-broken is required/);
    assert.strictEqual(await main(['frobnicate'], io), EXIT.USAGE);
    assert.strictEqual(await main(['status'], io), EXIT.USAGE, 'no deployment');
    assert.strictEqual(await main(['status', '-d', 'd', '--yes'], io), EXIT.USAGE);
    assert.strictEqual(await main(['defrag', '--bogus'], io), EXIT.USAGE);
    assert.strictEqual(await main(['snapshot', 'frobnicate'], io), EXIT.USAGE);
  });

  it('an environment that cannot be opened exits 6 (configuration), saying what to do', async () => {
    const err = sink();
    assert.strictEqual(await main(['status', '-d', 'd'], noConnection(err)), EXIT.CONFIG);
    assert.match(err.text(), /must not connect/);
    const err2 = sink();
    const code = await main(['status', '-d', 'd'], {
      out: sink().stream,
      err: err2.stream,
      env: {},
      interactive: false,
    });
    assert.strictEqual(code, EXIT.CONFIG);
    assert.match(err2.text(), /BOSH_ENVIRONMENT/);
  });
});

describe('bosh-etcd CLI: exit codes', () => {
  it('one table: the documented numbers, status codes equal to the diagnosis', () => {
    assert.deepStrictEqual(
      [EXIT.OK, EXIT.FAILED, EXIT.USAGE, EXIT.REFUSED, EXIT.DECLINED, EXIT.CANCELLED, EXIT.CONFIG],
      [0, 1, 2, 3, 4, 5, 6],
    );
    assert.deepStrictEqual([EXIT.WARNING, EXIT.CRITICAL], [EXIT_CODES.warning, EXIT_CODES.critical]);
    assert.deepStrictEqual([EXIT.WARNING, EXIT.CRITICAL, EXIT.QUOTA_TOO_SMALL], [7, 8, 8]);
    for (const code of Object.values(EXIT))
      assert.match(USAGE, new RegExp(`^  ${code}  `, 'm'), `--help lists ${code}`);
  });

  it('maps recovery outcomes', () => {
    const r = (outcome: string) => exitCodeOf({ outcome } as never);
    assert.deepStrictEqual(
      ['recovered', 'dry-run', 'failed', 'refused', 'declined', 'cancelled'].map(r),
      [0, 0, 1, 3, 4, 5],
    );
  });

  it('maps the worst severity of the diagnosis: ok 0, warning 7, critical 8', () => {
    const f = (severity: Finding['severity']): Finding => ({
      kind: 'not-checked',
      severity,
      title: 't',
      evidence: 'e',
      action: { flow: 'none', text: 'a' },
    });
    assert.deepStrictEqual(
      [[f('info')], [f('info'), f('warning')], [f('warning'), f('critical')]].map((x) => exitCodeFor(summarize(x))),
      [0, 7, 8],
    );
  });

  it('a lock refusal exits 3 naming the holder; --break-lock is offered only for a stale lock', () => {
    const base = { outcome: 'refused' as const, message: 'm', transcriptPath: '/t.md', stepsRun: [], targets: [] };
    const live = sink();
    const holder = 'master/a: held by run r1 (member-recovery) of op@ws pid 42, since t, last heartbeat t';
    assert.strictEqual(
      reportRecovery(
        { ...base, lockHolder: holder },
        { out: sink().stream, err: live.stream, env: {}, interactive: false },
      ),
      EXIT.REFUSED,
    );
    assert.match(live.text(), /holds the cluster lock: master\/a: held by run r1/);
    assert.doesNotMatch(live.text(), /--break-lock/);
    const stale = sink();
    const code = reportRecovery(
      { ...base, lockHolder: `${holder} — STALE: no heartbeat for 300 s (stale after 120 s)` },
      { out: sink().stream, err: stale.stream, env: {}, interactive: false },
    );
    assert.strictEqual(code, EXIT.REFUSED);
    assert.match(stale.text(), /run again with --break-lock/);
  });
});

describe('bosh-etcd CLI: questions and Ctrl-C', () => {
  const quiet = () => new PassThrough();

  it('y/yes is yes; anything else is no', async () => {
    for (const [typed, yes] of [
      ['y\n', true],
      ['YES\n', true],
      ['\n', false],
      ['nope\n', false],
    ] as const) {
      const input = new PassThrough();
      const answer = askYesNo('Proceed? [y/N] ', { input, output: quiet() });
      input.write(typed);
      assert.strictEqual(await answer, yes, JSON.stringify(typed));
    }
  });

  it('end of input without an answer is no (it does not hang)', async () => {
    const input = new PassThrough();
    const output = quiet();
    let said = '';
    output.on('data', (d) => (said += d));
    const answer = askYesNo('Proceed? [y/N] ', { input, output });
    input.end();
    assert.strictEqual(await answer, false);
    assert.match(said, /end of input: answered no/);
  });

  it('an abort (Ctrl-C delivered as a signal) is no, also when already aborted', async () => {
    const input = new PassThrough();
    const ac = new AbortController();
    const answer = askYesNo('Proceed? [y/N] ', { input, output: quiet(), signal: ac.signal });
    ac.abort();
    assert.strictEqual(await answer, false);
    assert.strictEqual(
      await askYesNo('Again? ', { input: new PassThrough(), output: quiet(), signal: ac.signal }),
      false,
    );
  });

  it('first Ctrl-C aborts the run (cleanup follows), the second exits 5 at once', () => {
    const err = sink();
    const exits: number[] = [];
    const before = process.listenerCount('SIGINT');
    const h = handleInterrupts({ ...noConnection(err), exit: (c) => exits.push(c) }, 'stopping');
    try {
      process.emit('SIGINT');
      assert.ok(h.signal.aborted);
      assert.deepStrictEqual(exits, []);
      assert.match(err.text(), /Interrupted: stopping\. Press Ctrl-C again/);
      process.emit('SIGINT');
      assert.deepStrictEqual(exits, [EXIT.CANCELLED]);
    } finally {
      h.dispose();
    }
    assert.strictEqual(process.listenerCount('SIGINT'), before);
  });
});

describe('bosh-etcd CLI: the frame of every command on a deployment', () => {
  /** A session that knows one master and records its disposal. */
  const fakeSession = (disposed: string[]) =>
    ({
      deployment: 'd',
      director: { instancesFast: async () => [{ group: 'master', id: 'u-1', index: 0, ips: ['10.0.0.1'] }] },
      dispose: async () => {
        disposed.push('session');
      },
    }) as unknown as DeploymentSession;

  it('no deployment: usage (exit 2), nothing opened', async () => {
    const err = sink();
    const code = await withDeployment(noConnection(err), undefined, { what: 'testing' }, async () => EXIT.OK);
    assert.strictEqual(code, EXIT.USAGE);
    assert.match(err.text(), /--deployment is required \(or set BOSH_DEPLOYMENT\)/);
  });

  it('runs the command on the opened deployment, then closes the session and the Ctrl-C handlers', async () => {
    const disposed: string[] = [];
    const before = process.listenerCount('SIGINT');
    let seen: string[] = [];
    const io = { ...noConnection(), env: { BOSH_DEPLOYMENT: 'd' }, open: () => fakeSession(disposed) };
    const code = await withDeployment(io, undefined, { what: 'testing' }, async (run) => {
      seen = [run.deployment, ...run.instances.map((i) => `${i.group}/${i.id}`), String(run.signal.aborted)];
      assert.strictEqual(process.listenerCount('SIGINT'), before + 1, 'Ctrl-C is handled while the command runs');
      return EXIT.DECLINED;
    });
    assert.strictEqual(code, EXIT.DECLINED);
    assert.deepStrictEqual(seen, ['d', 'master/u-1', 'false']);
    assert.deepStrictEqual(disposed, ['session']);
    assert.strictEqual(process.listenerCount('SIGINT'), before);
  });

  it('an error the command does not handle is explained and exits 6; after Ctrl-C it exits 5', async () => {
    const disposed: string[] = [];
    const err = sink();
    const io = { ...noConnection(err), open: () => fakeSession(disposed) };
    const failed = await withDeployment(io, 'd', { what: 'testing the frame' }, async () => {
      throw new Error('boom');
    });
    assert.strictEqual(failed, EXIT.CONFIG);
    assert.match(err.text(), /bosh-etcd: Failed while testing the frame: boom/);
    const cancelled = await withDeployment(io, 'd', { what: 'testing' }, async (run) => {
      process.emit('SIGINT');
      assert.ok(run.signal.aborted);
      throw new Error('stopped');
    });
    assert.strictEqual(cancelled, EXIT.CANCELLED);
    assert.deepStrictEqual(disposed, ['session', 'session']);
  });

  it('one word reader for every command: --name=value, the shared options only where a command takes them', () => {
    const a: Partial<CommonOptions> & { other: string[] } = { other: [] };
    readWords(['--deployment=d', '-y', '--break-lock', '--known-hosts', 'kh', 'word'], (x, value) => {
      if (!takeCommonOption(a, x, value, ['deployment', 'yes', 'knownHosts'])) a.other.push(x);
    });
    assert.deepStrictEqual(a, { deployment: 'd', yes: true, knownHosts: 'kh', other: ['--break-lock', 'word'] });
    assert.throws(() => readWords(['--known-hosts'], (x, value) => void value()), /--known-hosts needs a value/);
  });
});

describe('bosh-etcd CLI: status output', () => {
  const client = (i: number) => `https://master-${i}.etcd.cfcr.internal:2379`;
  const ok = (i: number): EndpointResult<EndpointStatus> => ({
    endpoint: client(i),
    ok: true,
    tookMs: 2,
    value: {
      endpoint: client(i),
      memberId: '17f206fd866fdab2',
      version: '3.4.23',
      dbSize: 20480,
      leader: '17f206fd866fdab2',
      raftTerm: '2',
      raftIndex: '100',
      errors: [],
    },
  });

  it('prints an etcdctl-like table with exact ids, unreachable endpoints included', () => {
    const t = statusTable([
      ok(0),
      { endpoint: client(2), ok: false, error: 'cannot reach the member (ECONNREFUSED)', tookMs: 1 },
    ]);
    assert.match(t, /\| ENDPOINT +\| ID +\| VERSION/);
    assert.match(t, /master-0\.etcd\.cfcr\.internal:2379 \| 17f206fd866fdab2 \| 3\.4\.23 +\| 20 KiB +\| true/);
    assert.match(t, /UNREACHABLE: cannot reach the member/);
  });

  it('prints findings worst first with evidence and action, what was not checked, and lock holders', () => {
    const instance = { label: 'master/e02f', group: 'master', id: 'e02f', index: 0, bootstrap: true };
    const findings: Finding[] = [
      {
        kind: 'healthy',
        severity: 'info',
        title: 'all fine elsewhere',
        evidence: 'x',
        action: { flow: 'none', text: 'none' },
      },
      {
        kind: 'split-brain',
        severity: 'critical',
        title: 'SPLIT BRAIN: master/0 answers for another etcd cluster',
        instance,
        evidence: 'master/0 reports cluster id aa',
        action: { flow: 'recover-member', text: 'Replace the member of master/e02f' },
      },
    ];
    const d: Diagnosis = { at: 't', deployment: 'd', findings, summary: summarize(findings), unchecked: ['a VM'] };
    const text = formatDiagnosis(d, [
      { instance: 'master/e02f', state: 'free' },
      { instance: 'master/4458', state: 'held', holder: null, raw: '?', stale: true, staleReason: 'old' },
    ]);
    assert.ok(text.indexOf('SPLIT BRAIN') < text.indexOf('all fine elsewhere'), text);
    assert.match(text, /CRITICAL +master\/e02f: SPLIT BRAIN/);
    assert.match(text, /evidence: master\/0 reports cluster id aa/);
    assert.match(text, /action: +Replace the member/);
    assert.match(text, /Not checked:\n {2}- a VM/);
    assert.match(text, /Cluster lock HELD[^\n]*\n {2}master\/4458: unrecognised lock file/);
    assert.match(text, /--break-lock/);
  });
});
