// Start/stop code-server (VS Code 1.100.3 in the browser, installed by scripts/setup.sh into
// .tools/code-server) and headless Debian chromium through playwright-core.
//
// Every run gets its own folder: user data, extensions, XDG dirs (code-server writes its config
// and logs there instead of $HOME) and TMPDIR (the extension host's vscode-ipc-*.sock lands there).
// code-server runs in its own process group; stop() kills the whole group, because after the
// page closes the extension host stays alive for a reconnection grace period.
import { spawn, execFileSync, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { BrowserContext } from 'playwright-core';
import { REPO_ROOT } from '../testbed/harness/state';

export const CODE_SERVER_BIN =
  process.env.CODE_SERVER_BIN || path.join(REPO_ROOT, '.tools', 'code-server', 'node_modules', '.bin', 'code-server');
export const CHROMIUM_BIN = process.env.CHROMIUM || '/usr/bin/chromium';
/** Where run folders go when they are kept (failures, or BOSH_ETCD_KEEP_RUNS=1). */
export const RUNS_DIR = path.join(REPO_ROOT, 'artifacts', 'runs');

/** Settings that keep the workbench quiet and deterministic for automation. */
export const AUTOMATION_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'window.commandCenter': false,
  'chat.commandCenter.enabled': false,
};

export interface CodeServerOptions {
  /** Run folder (created); default: a fresh folder under the system temp dir. */
  runDir?: string;
  /** Workspace folder to open (created if missing); default: <runDir>/workspace. */
  folder?: string;
  /** Extra environment for code-server and so for the extension host (e.g. BOSH_* of a testbed). */
  env?: NodeJS.ProcessEnv;
  /** .vsix files to install into the fresh extensions dir before start. */
  installVsix?: string[];
  /** Host/port to bind; default 127.0.0.1 and a free port. */
  host?: string;
  port?: number;
  /** User settings merged over AUTOMATION_SETTINGS. */
  settings?: Record<string, unknown>;
}

export interface CodeServer {
  base: string; // http://127.0.0.1:PORT
  authority: string; // 127.0.0.1:PORT (for vscode-remote:// URIs)
  port: number;
  folder: string;
  runDir: string;
  userDataDir: string;
  extensionsDir: string;
  /** code-server's stdout/stderr */
  logFile: string;
  /** Folder with code-server's VS Code logs (exthost.log, remoteagent.log …). */
  logsDir: string;
  child: ChildProcess;
  /** Kills code-server's whole process group; removes the run folder unless keep is set. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves true when host:port accepts a TCP connection. */
export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function httpGet(url: string): Promise<number | null> {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? null));
      })
      .on('error', () => resolve(null));
  });
}

export function makeRunDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bosh-etcd-${prefix}-`));
}

function xdgEnv(runDir: string): NodeJS.ProcessEnv {
  const tmp = path.join(runDir, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  return {
    XDG_CONFIG_HOME: path.join(runDir, 'xdg-config'),
    XDG_DATA_HOME: path.join(runDir, 'xdg-data'),
    TMPDIR: tmp,
  };
}

export function assertCodeServerInstalled(): void {
  if (!fs.existsSync(CODE_SERVER_BIN)) {
    throw new Error(
      `code-server is not installed at ${CODE_SERVER_BIN}: run \`bash scripts/setup.sh\` (as root) first.`,
    );
  }
}

/** Installs .vsix files into an extensions dir with code-server's own CLI (offline). */
export function installVsix(runDir: string, userDataDir: string, extensionsDir: string, vsixFiles: string[]): void {
  assertCodeServerInstalled();
  for (const vsix of vsixFiles) {
    if (!fs.existsSync(vsix)) throw new Error(`No .vsix at ${vsix}: build it with \`npm run package\`.`);
    execFileSync(
      CODE_SERVER_BIN,
      [
        '--user-data-dir',
        userDataDir,
        '--extensions-dir',
        extensionsDir,
        '--config',
        path.join(runDir, 'config.yaml'),
        '--install-extension',
        vsix,
        '--force',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...xdgEnv(runDir) } },
    );
  }
}

export async function startCodeServer(o: CodeServerOptions = {}): Promise<CodeServer> {
  assertCodeServerInstalled();
  const runDir = o.runDir ?? makeRunDir('cs');
  fs.mkdirSync(runDir, { recursive: true });
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? (await freePort(host));
  const folder = o.folder ?? path.join(runDir, 'workspace');
  fs.mkdirSync(folder, { recursive: true });
  const userDataDir = path.join(runDir, 'user-data');
  const extensionsDir = path.join(runDir, 'extensions');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...AUTOMATION_SETTINGS, ...(o.settings ?? {}) }, null, 2),
  );
  const config = path.join(runDir, 'config.yaml');
  fs.writeFileSync(config, 'auth: none\n');
  const xdg = xdgEnv(runDir);
  if (o.installVsix?.length) installVsix(runDir, userDataDir, extensionsDir, o.installVsix);

  const args = [
    '--auth',
    'none',
    '--bind-addr',
    `${host}:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
    '--config',
    config,
    folder,
  ];
  const logFile = path.join(runDir, 'code-server.log');
  const logFd = fs.openSync(logFile, 'a');
  const child = spawn(CODE_SERVER_BIN, args, {
    stdio: ['ignore', logFd, logFd],
    detached: true, // its own process group: stop() kills server + extension hosts together
    // EXTENSIONS_GALLERY='{}': no marketplace (open-vsx.org) lookups, which fail offline.
    env: { EXTENSIONS_GALLERY: '{}', ...process.env, ...xdg, ...(o.env ?? {}) },
  });
  fs.closeSync(logFd);
  const base = `http://${host}:${port}`;
  let healthy = false;
  for (let i = 0; i < 600 && !healthy; i++) {
    if (child.exitCode !== null) break;
    healthy = (await httpGet(base + '/healthz')) === 200;
    if (!healthy) await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async (opts: { keep?: boolean } = {}): Promise<void> => {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      for (let i = 0; i < 50 && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
      if (child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    // Extension hosts outlive their parent's exit for a moment; make sure the group is empty.
    if (child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* group empty */
      }
    }
    const keep = opts.keep || process.env.BOSH_ETCD_KEEP_RUNS === '1';
    if (!keep) fs.rmSync(runDir, { recursive: true, force: true });
  };
  if (!healthy) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
    await stop({ keep: true });
    throw new Error(`code-server did not become healthy on ${base} (log: ${logFile}):\n${tail}`);
  }
  return {
    base,
    authority: `${host}:${port}`,
    port,
    folder,
    runDir,
    userDataDir,
    extensionsDir,
    logFile,
    logsDir: path.join(userDataDir, 'logs'),
    child,
    stop,
  };
}

/** Headless Debian chromium with a fresh profile inside runDir. */
export async function launchChromium(runDir: string, viewport = { width: 1400, height: 900 }): Promise<BrowserContext> {
  // Loaded lazily so that plain-Node tiers do not pay for playwright.
  const { chromium } = await import('playwright-core');
  if (!fs.existsSync(CHROMIUM_BIN))
    throw new Error(`chromium not found at ${CHROMIUM_BIN}: apt-get install chromium (or set CHROMIUM).`);
  const userDataDir = path.join(runDir, 'chromium-profile');
  fs.rmSync(userDataDir, { recursive: true, force: true });
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
    viewport,
  });
}

/** All text files under code-server's VS Code log folder, concatenated (for exthost errors). */
export function readVscodeLogs(cs: CodeServer, nameFilter = /exthost|remoteexthost|remoteagent/i): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (nameFilter.test(p)) out.push(`==> ${p}\n` + fs.readFileSync(p, 'utf8'));
    }
  };
  walk(cs.logsDir);
  walk(path.join(cs.runDir, 'xdg-data', 'code-server'));
  return out.join('\n');
}
