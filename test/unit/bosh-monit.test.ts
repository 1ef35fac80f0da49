import * as assert from 'assert';
import {
  MonitParseError,
  aggregateJobState,
  findService,
  monitStatusToState,
  parseMonitSummary,
} from '../../src/bosh/monit';
import { fixture } from './fixture-path';

const m = (n: string) => fixture('monit', n);

describe('monit summary parser (src/bosh/monit.ts)', () => {
  it("reads BOSH's monit 5.2.5 summary of a healthy master", () => {
    const s = parseMonitSummary(m('monit-5.2.5-summary-running.txt'));
    assert.strictEqual(s.format, '5.2');
    assert.strictEqual(s.version, '5.2.5');
    assert.strictEqual(s.uptime, '17h 13m');
    assert.strictEqual(s.services.filter((x) => x.type === 'Process').length, 12);
    assert.deepStrictEqual(findService(s, 'etcd'), {
      name: 'etcd',
      type: 'Process',
      status: 'running',
      state: 'running',
    });
    const sys = s.services.find((x) => x.type === 'System')!;
    assert.strictEqual(
      sys.name,
      'system_8d1f5c2e-7b3a-4e1f-9c0d-2a6b4e8f1c37',
      'a name longer than the 35-column field',
    );
    assert.strictEqual(aggregateJobState(s.services), 'running');
  });

  it('maps 5.2.5 failure words and pending actions as the BOSH agent does', () => {
    const s = parseMonitSummary(m('monit-5.2.5-summary-failing.txt'));
    const by = (n: string) => findService(s, n)!;
    assert.deepStrictEqual(by('etcd'), { name: 'etcd', type: 'Process', status: 'Execution failed', state: 'failing' });
    assert.deepStrictEqual(by('blackbox'), {
      name: 'blackbox',
      type: 'Process',
      status: 'Does not exist',
      state: 'failing',
    });
    assert.deepStrictEqual(by('kube-apiserver'), {
      name: 'kube-apiserver',
      type: 'Process',
      status: 'not monitored',
      state: 'unknown',
      pending: 'start',
    });
    assert.deepStrictEqual(by('ncp'), { name: 'ncp', type: 'Process', status: 'not monitored', state: 'unknown' });
    assert.deepStrictEqual(by('kube-scheduler'), {
      name: 'kube-scheduler',
      type: 'Process',
      status: 'initializing',
      state: 'starting',
    });
    assert.deepStrictEqual(by('telegraf'), {
      name: 'telegraf',
      type: 'Process',
      status: 'running',
      state: 'running',
      pending: 'restart',
    });
    // The first `starting` process decides the aggregate, even after a failing one.
    assert.strictEqual(aggregateJobState(s.services), 'starting');
    assert.strictEqual(aggregateJobState(s.services.filter((x) => x.name !== 'kube-scheduler')), 'failing');
  });

  it('skips the include warning of a VM without jobs', () => {
    const s = parseMonitSummary(m('monit-5.2.5-summary-no-jobs.txt'));
    assert.deepStrictEqual(s.services, [
      { name: 'system_localhost', type: 'System', status: 'running', state: 'running' },
    ]);
    assert.strictEqual(aggregateJobState(s.services), 'running');
  });

  it("reads Debian's monit 5.33 plain table (real capture) with truncated statuses", () => {
    const s = parseMonitSummary(m('monit-5.33-summary-mixed.txt'));
    assert.strictEqual(s.format, '5.33');
    assert.strictEqual(s.version, '5.33.0');
    assert.deepStrictEqual(
      s.services.map((x) => [x.name, x.type, x.state]),
      [
        ['vm', 'System', 'running'],
        ['etcd', 'Process', 'running'],
        ['kube-apiserver', 'Process', 'starting'],
        ['blackbox', 'Process', 'failing'],
        ['bosh-dns', 'Process', 'unknown'],
        ['etcd-config', 'File', 'running'],
      ],
    );
    const bb = findService(s, 'blackbox')!;
    assert.strictEqual(bb.status, 'Execution failed | Does');
    assert.strictEqual(bb.truncated, true);
    assert.strictEqual(aggregateJobState(s.services), 'starting');
  });

  it('reads 5.33 pending actions, also cut short', () => {
    const p = parseMonitSummary(m('monit-5.33-summary-pending.txt'));
    assert.deepStrictEqual(findService(p, 'etcd'), {
      name: 'etcd',
      type: 'Process',
      status: 'OK',
      state: 'running',
      pending: 'stop',
    });
    const i = parseMonitSummary(m('monit-5.33-summary-unmonitor-pending.txt'));
    const dns = findService(i, 'bosh-dns')!;
    assert.strictEqual(dns.status, 'Initializing');
    assert.strictEqual(dns.pending, 'unmonito');
    assert.strictEqual(dns.state, 'starting');
    assert.strictEqual(dns.truncated, undefined, 'the cut is in the pending action, not the status');
    // real capture right after `monit start etcd`: the cut falls inside the word "pending"
    const started = parseMonitSummary(m('monit-5.33-summary-start-pending.txt'));
    assert.deepStrictEqual(findService(started, 'etcd'), {
      name: 'etcd',
      type: 'Process',
      status: 'Not monitored',
      state: 'unknown',
      pending: 'start',
    });
    const first = parseMonitSummary(m('monit-5.33-summary-plain.txt'));
    assert.deepStrictEqual(
      first.services.map((x) => x.state),
      ['starting', 'running', 'starting', 'starting', 'starting', 'starting'],
    );
    assert.strictEqual(aggregateJobState(first.services), 'starting');
  });

  it('reads the box-drawn, coloured 5.33 table a TTY gets (real capture) like the plain one', () => {
    const tty = parseMonitSummary(m('monit-5.33-summary-tty.txt'));
    const plain = parseMonitSummary(m('monit-5.33-summary-mixed.txt'));
    assert.deepStrictEqual(tty.services, plain.services);
    assert.strictEqual(tty.format, '5.33');
  });

  it('status words', () => {
    assert.strictEqual(monitStatusToState('running'), 'running');
    assert.strictEqual(monitStatusToState('OK'), 'running');
    assert.strictEqual(monitStatusToState('accessible'), 'running');
    assert.strictEqual(monitStatusToState('Not monitored'), 'unknown');
    assert.strictEqual(monitStatusToState('initializing'), 'starting');
    assert.strictEqual(monitStatusToState('Connection failed'), 'failing');
    assert.strictEqual(monitStatusToState('Does not exist'), 'failing');
  });

  it('refuses text that is not monit summary, quoting the line', () => {
    assert.throws(
      () => parseMonitSummary('bash: monit: command not found\n'),
      (e: unknown) => e instanceof MonitParseError && e.line === 'bash: monit: command not found',
    );
    assert.throws(() => parseMonitSummary(''), MonitParseError);
  });
});
