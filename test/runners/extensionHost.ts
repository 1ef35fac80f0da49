// Runs mocha tests inside a real VS Code extension host: the code-server equivalent of
// @vscode/test-electron's runTests().
//
// code-server's CLI has no --extensionDevelopmentPath/--extensionTestsPath, but its web workbench
// reads both from the `payload` URL parameter. With vscode-remote://<authority>/<abs path> URIs the
// development extension is scanned by the server and the tests run in the remote (Node) extension
// host. When the test runner settles, the workbench calls window.codeAutomationExit(code) and
// forwards the extension host's console to window.codeAutomationLog(type, args): playwright exposes
// both. A browser must be connected, or code-server starts no extension host.
//
//   node out/test/runners/extensionHost.js <extensionDevelopmentPath> <extensionTestsPath> [folder]
// Exit code: the tests' (0 pass, 1 fail); 2 = infrastructure error or timeout.
import * as fs from 'fs';
import * as path from 'path';
import * as util from 'util';
import { launchChromium, makeRunDir, startCodeServer } from './codeServer';

// Workbench chatter forwarded through codeAutomationLog; shown with VERBOSE=1.
const NOISE =
  /^(Creation of workbench contribution|Resolving connection token|Resolved connection token|Creating a socket|\[Service Worker\]|Ignoring fetching additional builtin|ChatSessionStore|Updating additional builtin|Started local extension host|Extension host \(Remote\) is)/;

export interface ExtensionTestOptions {
  extensionDevelopmentPath: string;
  /** Compiled test runner module exporting run(): Promise<void> (test/extension/index.ts). */
  extensionTestsPath: string;
  /** Workspace folder to open; default: an empty folder in the run dir. */
  folder?: string;
  /** Environment for the extension host (code-server passes its env on). */
  env?: NodeJS.ProcessEnv;
  /** VS Code user settings (over the automation defaults), e.g. testbedSettings(). */
  settings?: Record<string, unknown>;
  /** Default 600000 ms (the tier breaks and heals every fault mode); BOSH_ETCD_EXT_TIMEOUT_MS overrides. */
  timeoutMs?: number;
  /** Receives each log line of the extension host / workbench; default: stdout. */
  log?: (line: string) => void;
}

export interface ExtensionTestResult {
  /** 0 = passed, 1 = failures, 2 = infrastructure error / timeout */
  exitCode: number;
  /** Kept when the run did not pass (code-server and VS Code logs). */
  runDir: string;
}

export async function runExtensionTests(o: ExtensionTestOptions): Promise<ExtensionTestResult> {
  const log = o.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const timeoutMs = o.timeoutMs ?? (Number(process.env.BOSH_ETCD_EXT_TIMEOUT_MS) || 600_000);
  const runDir = makeRunDir('ext');
  // code-server hands its environment to the extension host: the variable makes activate() return
  // the test hooks (src/extension.ts TEST_HOOKS_ENV); an installed extension never gets it.
  const cs = await startCodeServer({
    runDir,
    folder: o.folder,
    env: { ...o.env, BOSH_ETCD_TEST_HOOKS: '1' },
    settings: o.settings,
  });
  log(`[runner] code-server ${cs.base} (run dir ${runDir})`);
  let exitCode = 2;
  const ctx = await launchChromium(runDir).catch(async (e) => {
    await cs.stop({ keep: true });
    throw e;
  });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    let resolveDone!: (code: number) => void;
    const done = new Promise<number>((r) => (resolveDone = r));
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      const text = util.format(...(Array.isArray(args) ? args : [args]));
      if (!process.env.VERBOSE && NOISE.test(text)) return;
      for (const line of text.replace(/\n$/, '').split('\n')) log(type === 'error' ? `[exthost error] ${line}` : line);
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => resolveDone(Number(code)));
    page.on('pageerror', (e) => log(`[pageerror] ${e.message}`));
    if (process.env.VERBOSE) page.on('console', (m) => log(`[browser ${m.type()}] ${m.text()}`));
    const remote = (p: string): string => `vscode-remote://${cs.authority}${path.resolve(p)}`;
    const payload = [
      ['extensionDevelopmentPath', remote(o.extensionDevelopmentPath)],
      ['extensionTestsPath', remote(o.extensionTestsPath)],
      ['skipWelcome', 'true'],
    ];
    await page.goto(
      `${cs.base}/?folder=${encodeURIComponent(cs.folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`,
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    const res = await Promise.race([done, timeout]);
    clearTimeout(timer);
    if (res === 'timeout') {
      log(
        `[runner] TIMEOUT: the extension tests did not finish within ${timeoutMs} ms (set BOSH_ETCD_EXT_TIMEOUT_MS to change); logs in ${runDir}`,
      );
      exitCode = 2;
    } else {
      exitCode = res;
    }
  } catch (e) {
    log(`[runner] error: ${(e as Error).stack ?? e}`);
    exitCode = 2;
  } finally {
    await ctx.close().catch(() => undefined);
    await cs.stop({ keep: exitCode !== 0 });
  }
  if (exitCode !== 0) log(`[runner] run folder kept for inspection: ${runDir} (VS Code logs under user-data/logs)`);
  return { exitCode, runDir };
}

if (require.main === module) {
  const [dev, tests, folder] = process.argv.slice(2);
  if (!dev || !tests) {
    console.error(
      'usage: node out/test/runners/extensionHost.js <extensionDevelopmentPath> <extensionTestsPath> [folder]',
    );
    process.exit(2);
  }
  if (!fs.existsSync(tests)) {
    console.error(`No test runner at ${tests}: compile first (npx tsc -p .)`);
    process.exit(2);
  }
  runExtensionTests({ extensionDevelopmentPath: dev, extensionTestsPath: tests, folder, env: process.env }).then(
    (r) => process.exit(r.exitCode),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
