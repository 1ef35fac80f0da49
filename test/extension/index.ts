// The test runner loaded by the VS Code extension host (extensionTestsPath): same contract as
// @vscode/test-electron's, run(): Promise<void>, rejecting when a test fails.
//
// - mocha 11, tdd ui (suite/test/suiteSetup…), spec reporter (its output reaches the runner through
//   the workbench's codeAutomationLog);
// - loads every out/test/extension/**/*.test.js, foundation.test.js first (it checks a pristine
//   activation, before other suites activate the extension), quorumWizard.test.js then
//   restoreWizard.test.js after the others (they rebuild the cluster: new cluster and member ids), nospace.test.js then quota.test.js last
//   (they fill etcd to its quota);
// - writes a results JSON to $BOSH_ETCD_EXT_RESULTS (stats, passes, failures) for scripts/test.js;
// - BOSH_ETCD_EXT_GREP: only tests whose full title matches.
//
// It also installs, before any test file loads, a recorder of outgoing network activity in this
// extension host process (TCP connects, DNS lookups, UDP sends): networkActivity() lets tests
// assert what a piece of code did on the network.
import * as dgram from 'dgram';
// The module object itself (not an __importStar copy with getters), so that its functions can be replaced.
import dns = require('dns');
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';

export interface NetworkEvent {
  kind: 'tcp-connect' | 'dns-lookup' | 'udp-send';
  target: string;
  /** Where it came from (first frames of the stack). */
  stack: string;
  at: number;
}

const events: NetworkEvent[] = [];
let installed = false;

function record(kind: NetworkEvent['kind'], target: string): void {
  const stack = (new Error().stack ?? '').split('\n').slice(3, 9).join('\n');
  events.push({ kind, target, stack, at: Date.now() });
}

/** Patches net/dns/dgram of this process once; idempotent. */
export function installNetworkRecorder(): void {
  if (installed) return;
  installed = true;
  const origConnect = net.Socket.prototype.connect;
  // Every TCP client (http, https, tls, http2/grpc, ssh2) ends in Socket.prototype.connect.
  net.Socket.prototype.connect = function patchedConnect(this: net.Socket, ...args: unknown[]) {
    const a0 = args[0];
    let target: string | undefined;
    if (typeof a0 === 'number' || (typeof a0 === 'string' && /^\d+$/.test(a0)))
      target = `${typeof args[1] === 'string' ? args[1] : 'localhost'}:${a0}`;
    else if (Array.isArray(a0)) {
      const o = a0[0] as { port?: number; host?: string; path?: string };
      if (o && o.port !== undefined) target = `${o.host ?? 'localhost'}:${o.port}`;
    } else if (a0 && typeof a0 === 'object') {
      const o = a0 as { port?: number; host?: string; path?: string };
      if (o.port !== undefined) target = `${o.host ?? 'localhost'}:${o.port}`;
    }
    // Unix sockets / named pipes (the extension host's own IPC) are not network.
    if (target) record('tcp-connect', target);
    return (origConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
  const origLookup = dns.lookup;
  (dns as { lookup: unknown }).lookup = function patchedLookup(hostname: string, ...rest: unknown[]) {
    record('dns-lookup', String(hostname));
    return (origLookup as (...a: unknown[]) => void).call(dns, hostname, ...rest);
  };
  // dns.promises.lookup is a getter-only property on some Node versions: patch it where possible.
  try {
    const origPLookup = dns.promises.lookup;
    Object.defineProperty(dns.promises, 'lookup', {
      configurable: true,
      writable: true,
      value: function patchedPLookup(hostname: string, ...rest: unknown[]) {
        record('dns-lookup', String(hostname));
        return (origPLookup as (...a: unknown[]) => Promise<unknown>).call(dns.promises, hostname, ...rest);
      },
    });
  } catch {
    /* TCP connects are recorded anyway */
  }
  const origSend = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function patchedSend(this: dgram.Socket, ...args: unknown[]) {
    record(
      'udp-send',
      args
        .filter((x) => typeof x === 'number' || typeof x === 'string')
        .slice(-2)
        .join(':'),
    );
    return (origSend as (...a: unknown[]) => void).apply(this, args);
  } as typeof dgram.Socket.prototype.send;
}

/** Network events recorded since `since` (an index from networkMark()). */
export function networkActivity(since = 0): NetworkEvent[] {
  return events.slice(since);
}
export function networkMark(): number {
  return events.length;
}

function findTests(dir: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findTests(p));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  // foundation first (a pristine activation); nospace, then quota last (they fill etcd up to its quota).
  const rank = (f: string) =>
    (
      ({
        'foundation.test.js': 0,
        'quorumWizard.test.js': 1.5,
        'restoreWizard.test.js': 1.6,
        'nospace.test.js': 2,
        'quota.test.js': 3,
      }) as Record<string, number>
    )[path.basename(f)] ?? 1;
  return out.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function run(): Promise<void> {
  installNetworkRecorder();

  const mochaModule = require('mocha');
  const Mocha = (
    typeof mochaModule === 'function' ? mochaModule : (mochaModule.Mocha ?? mochaModule.default)
  ) as typeof import('mocha');
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, reporter: 'spec' });
  if (process.env.BOSH_ETCD_EXT_GREP) mocha.grep(process.env.BOSH_ETCD_EXT_GREP);
  const files = findTests(__dirname);
  for (const f of files) mocha.addFile(f);
  const resultsFile = process.env.BOSH_ETCD_EXT_RESULTS;
  return new Promise((resolve, reject) => {
    const results: {
      files: string[];
      passes: string[];
      failures: { title: string; error: string }[];
      pending: string[];
      stats?: unknown;
      node: string;
    } = {
      files: files.map((f) => path.relative(__dirname, f)),
      passes: [],
      failures: [],
      pending: [],
      node: process.versions.node,
    };
    let runner: Mocha.Runner;
    try {
      runner = mocha.run((failures) => {
        results.stats = runner.stats;
        if (resultsFile) fs.writeFileSync(resultsFile, JSON.stringify(results, null, 2));
        if (failures > 0) reject(new Error(`${failures} extension test(s) failed.`));
        else resolve();
      });
    } catch (e) {
      reject(e);
      return;
    }
    runner.on('pass', (t) => results.passes.push(t.fullTitle()));
    runner.on('pending', (t) => results.pending.push(t.fullTitle()));
    runner.on('fail', (t, err) =>
      results.failures.push({ title: t.fullTitle(), error: String((err as Error)?.stack ?? err) }),
    );
  });
}
