// Helpers for the e2e tier: the packaged extension (.vsix) installed into a fresh code-server,
// driven in headless Debian chromium by playwright-core.
//
// ─── The e2e file contract ─────────────────────────────────────────────────────────────────────
// * A test is a file test/e2e/<name>.e2e.ts. The tier (test/runners/e2eTier.ts, `node
//   scripts/test.js e2e`) compiles it to out/test/e2e/<name>.e2e.js and runs ALL such files with
//   mocha in plain Node: bdd ui (describe / it / before / after), 240 s timeout per test/hook,
//   files in alphabetical order, one mocha process.
// * Before mocha starts, the tier has run `npm run package` (BOSH_ETCD_VSIX = the .vsix) and brought
//   ONE testbed up (BOSH_ETCD_TESTBED_DIR / BOSH_ETCD_TESTBED_NET, net 127.0.9); it tears it down
//   after the last file. Files share that testbed: a file that breaks something (testbedCli('break',
//   …)) must leave the cluster healthy again (recover or testbedCli('heal')) in its after() hook.
//   A file that needs another shape (wizard-every-broken.e2e.ts: five masters) brings up a testbed
//   of its own with testbedUp() on the tier's net with the second octet + 1, and takes it down in after().
// * Each file opens its own workbench in before() with openWorkbench() and closes it in after()
//   (close() kills code-server's process group and chromium). openWorkbench() installs the .vsix
//   into a fresh extensions dir and gives code-server (so the extension host) the testbed's bosh CLI
//   environment (BOSH_ENVIRONMENT, BOSH_CLIENT(_SECRET), BOSH_CA_CERT, BOSH_ALL_PROXY, BOSH_DEPLOYMENT)
//   and one user setting, boshEtcd.ssh.knownHostsPath = the testbed's known_hosts (jump host key):
//   the extension finds the Director as an operator's shell and ~/.ssh would let it.
// * Screenshots: screenshot(page, 'name') → artifacts/screenshots/name.png (git-ignored). The README
//   uses some; keep names stable. On a failing test, call failureScreenshot(wb, this) in afterEach.
// * Assert on what the user sees (rows, notifications, panels) and on real effects (testbed state),
//   never on timings.
// Run one file: BOSH_ETCD_E2E_GREP='<describe title>' node scripts/test.js e2e
// ───────────────────────────────────────────────────────────────────────────────────────────────
import * as fs from 'fs';
import * as path from 'path';
import type { BrowserContext, FrameLocator, Locator, Page } from 'playwright-core';
import { CodeServer, launchChromium, makeRunDir, readVscodeLogs, startCodeServer } from '../runners/codeServer';
import { readState, testbedEnv, testbedSettings, TESTBED_CLI } from '../runners/testbed';
import { etcdctlIn } from '../testbed/harness/index';
import { masters, REPO_ROOT, type TestbedState } from '../testbed/harness/state';
import { spawnSync } from 'child_process';

export const EXTENSION_ID = 'bosh-etcd.bosh-etcd';
export const SCREENSHOTS_DIR = path.join(REPO_ROOT, 'artifacts', 'screenshots');
export const DEFAULT_VSIX = path.join(REPO_ROOT, 'dist-vsix', 'bosh-etcd.vsix');

export interface Workbench {
  cs: CodeServer;
  context: BrowserContext;
  page: Page;
  /** The testbed the extension host was pointed at (undefined when the tier runs without one). */
  testbed?: TestbedState;
  /** Folder the extension was installed into (…/extensions/bosh-etcd.bosh-etcd-<version>). */
  installedExtensionPath: string;
  /** Log lines from the browser: page errors and console errors. */
  browserErrors: string[];
  close(opts?: { keep?: boolean }): Promise<void>;
}

export interface OpenWorkbenchOptions {
  /** default: BOSH_ETCD_VSIX or dist-vsix/bosh-etcd.vsix */
  vsix?: string;
  /** Point the extension at the tier's testbed (default true when BOSH_ETCD_TESTBED_DIR is set). */
  useTestbed?: boolean;
  /** Extra environment for code-server / the extension host (over the testbed's). */
  env?: NodeJS.ProcessEnv;
  /** User settings (over the automation defaults). */
  settings?: Record<string, unknown>;
  /** Workspace folder; default an empty one in the run dir. */
  folder?: string;
  viewport?: { width: number; height: number };
}

/** The tier's testbed state, or undefined when there is none. */
export function testbedState(): TestbedState | undefined {
  const dir = process.env.BOSH_ETCD_TESTBED_DIR;
  return dir && fs.existsSync(path.join(dir, 'testbed.json')) ? readState(dir) : undefined;
}

/** Runs the testbed CLI on the tier's testbed (e.g. testbedCli('break', id, '--mode', 'wipe')); returns stdout, throws on failure. */
export function testbedCli(...args: string[]): string {
  const dir = process.env.BOSH_ETCD_TESTBED_DIR;
  if (!dir)
    throw new Error(
      'No testbed for this e2e run (BOSH_ETCD_TESTBED_DIR unset): run through `node scripts/test.js e2e`.',
    );
  const r = spawnSync(process.execPath, [TESTBED_CLI, ...args], { cwd: REPO_ROOT, env: process.env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`testbed ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * Installs the .vsix into a fresh code-server, opens the workbench in headless chromium and waits
 * until the BOSH activity-bar entry is there (the remote extension host scanned the extension).
 */
export async function openWorkbench(o: OpenWorkbenchOptions = {}): Promise<Workbench> {
  const vsix = o.vsix ?? process.env.BOSH_ETCD_VSIX ?? DEFAULT_VSIX;
  const useTestbed = o.useTestbed ?? !!process.env.BOSH_ETCD_TESTBED_DIR;
  let testbed: TestbedState | undefined;
  let env: NodeJS.ProcessEnv = {};
  let settings: Record<string, unknown> = {};
  if (useTestbed) {
    testbed = testbedState();
    if (!testbed)
      throw new Error(`useTestbed: no testbed state in BOSH_ETCD_TESTBED_DIR=${process.env.BOSH_ETCD_TESTBED_DIR}`);
    env = testbedEnv(testbed, process.env.BOSH_ETCD_TESTBED_DIR as string, process.env.BOSH_ETCD_TESTBED_NET);
    settings = testbedSettings(testbed);
  }
  const runDir = makeRunDir('e2e');
  const cs = await startCodeServer({
    runDir,
    folder: o.folder,
    env: { ...env, ...(o.env ?? {}) },
    installVsix: [vsix],
    settings: { ...settings, ...(o.settings ?? {}) },
  });
  let context: BrowserContext | undefined;
  try {
    const installed = fs.readdirSync(cs.extensionsDir).find((d) => d.startsWith(EXTENSION_ID + '-'));
    if (!installed) throw new Error(`${vsix} did not install into ${cs.extensionsDir}`);
    context = await launchChromium(runDir, o.viewport);
    const page = context.pages()[0] ?? (await context.newPage());
    const browserErrors: string[] = [];
    page.on('pageerror', (e) => browserErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') browserErrors.push(m.text());
    });
    await page.goto(`${cs.base}/?folder=${encodeURIComponent(cs.folder)}`);
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 90_000 });
    await activityBarItem(page, 'BOSH').waitFor({ state: 'visible', timeout: 90_000 });
    const ctx = context;
    return {
      cs,
      context: ctx,
      page,
      testbed,
      browserErrors,
      installedExtensionPath: path.join(cs.extensionsDir, installed),
      close: async (opts = {}) => {
        await ctx.close().catch(() => undefined);
        await cs.stop(opts);
      },
    };
  } catch (e) {
    await context?.close().catch(() => undefined);
    await cs.stop({ keep: true });
    throw new Error(`${(e as Error).message}\n(code-server run folder kept: ${runDir})`);
  }
}

/** The activity-bar entry whose title starts with `title` (e.g. 'BOSH'). */
export function activityBarItem(page: Page, title: string): Locator {
  return page
    .locator(`.activitybar .action-item[role="tab"][aria-label^="${title}"], .activitybar a[aria-label^="${title}"]`)
    .first();
}

/**
 * Opens the command palette and runs the command with this exact title, e.g. 'BOSH etcd: Refresh'.
 * The palette lists what is enabled when it opens: a command whose `when` clause becomes true while
 * it is open (isWorkspaceTrusted, decided just after the workbench loads) appears only when it is
 * opened again, so it is reopened until the command is listed (20 s).
 */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  const row = page
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: title }) })
    .first();
  const end = Date.now() + 20_000;
  for (;;) {
    if (!(await input.isVisible())) {
      await page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: 5000 });
      } catch {
        await page.keyboard.press('Control+Shift+P');
        await input.waitFor({ state: 'visible', timeout: 10_000 });
      }
    }
    await input.fill('>' + title);
    try {
      await row.waitFor({ state: 'visible', timeout: Math.max(1000, Math.min(4000, end - Date.now())) });
      break;
    } catch {
      if (Date.now() >= end) {
        const rows = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
        throw new Error(
          `Command "${title}" is not in the command palette; it shows: ${JSON.stringify(rows.slice(0, 10))}`,
        );
      }
      await input.focus();
      await page.keyboard.press('Escape');
      await input.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
    }
  }
  await row.click();
  await input.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
}

/**
 * Presses `key` in the open quick input, focused first: an input box that ignores focus-out stays
 * open when the focus went elsewhere (an editor, a notification), and a key pressed there would not
 * reach it (Escape over a focused notification hides the notification instead).
 */
export async function pressInQuickInput(page: Page, key: 'Enter' | 'Escape'): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.focus();
  await page.keyboard.press(key);
}

/**
 * Clicks the BOSH activity-bar entry (unless its side bar is showing) and waits for the side bar
 * titled "BOSH…" (with a single view the title reads "BOSH: ENVIRONMENTS" and the view header is hidden).
 */
export async function openBoshView(page: Page): Promise<Locator> {
  await dismissDialogs(page);
  const item = activityBarItem(page, 'BOSH');
  const title = page.locator('.sidebar .composite.title', { hasText: /BOSH/i }).first();
  if (!(await title.isVisible())) await item.click();
  await title.waitFor({ state: 'visible', timeout: 30_000 });
  // With more than one view the headers are visible; expand a collapsed Environments view.
  const pane = page.locator('.sidebar .pane-header', { hasText: /Environments/i }).first();
  if ((await pane.isVisible()) && (await pane.getAttribute('aria-expanded')) === 'false') await pane.click();
  return title;
}

/** Tree rows in the side bar (inner text of each visible row). */
export async function treeRows(page: Page): Promise<string[]> {
  return page.locator('.sidebar .monaco-list-row').allInnerTexts();
}

/** Waits until a side-bar tree row contains `text` and returns it. */
export async function waitForTreeRow(page: Page, text: string | RegExp, timeoutMs = 60_000): Promise<Locator> {
  const row = page.locator('.sidebar .monaco-list-row', { hasText: text }).first();
  try {
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    throw new Error(
      `No tree row with ${String(text)} within ${timeoutMs} ms; rows: ${JSON.stringify(await treeRows(page))}`,
    );
  }
  return row;
}

/** Expands a collapsed tree row (click on its twistie). */
export async function expandTreeRow(row: Locator): Promise<void> {
  if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
}

/** Waits for a notification toast containing `text` and returns its text. */
export async function waitForNotification(page: Page, text: string | RegExp, timeoutMs = 30_000): Promise<string> {
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
  await toast.waitFor({ state: 'visible', timeout: timeoutMs });
  return toast.innerText();
}

/** Texts of all visible notification toasts. */
export async function notifications(page: Page): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-toast').allInnerTexts();
}

/** Texts of open modal dialogs (VS Code shows "Command '…' resulted in an error" this way). */
export async function dialogs(page: Page): Promise<string[]> {
  return page.locator('.monaco-dialog-box').allInnerTexts();
}

/** Closes open modal dialogs (Escape), which otherwise block every click. */
export async function dismissDialogs(page: Page): Promise<void> {
  for (let i = 0; i < 3 && (await page.locator('.monaco-dialog-box').count()) > 0; i++) {
    await page.keyboard.press('Escape');
    await page
      .locator('.monaco-dialog-box')
      .first()
      .waitFor({ state: 'detached', timeout: 2000 })
      .catch(() => undefined);
  }
}

/** Error dialogs and error-looking toasts currently shown. */
export async function errorsShown(page: Page): Promise<string[]> {
  return [
    ...(await dialogs(page)),
    ...(await notifications(page)).filter((t) => /error|failed|not found|cannot/i.test(t)),
  ];
}

/** Saves a PNG to artifacts/screenshots/<name>.png and returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const file = path.join(SCREENSHOTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file });
  // The README shows some of these pictures: `BOSH_ETCD_UPDATE_DOCS=1 node scripts/test.js e2e`
  // refreshes the copies in docs/screenshots/ so they stay current with the product.
  if (process.env.BOSH_ETCD_UPDATE_DOCS === '1' && README_SCREENSHOTS.includes(path.basename(file))) {
    fs.mkdirSync(DOCS_SCREENSHOTS_DIR, { recursive: true });
    fs.copyFileSync(file, path.join(DOCS_SCREENSHOTS_DIR, path.basename(file)));
  }
  return file;
}

/** Screenshots the README embeds (docs/screenshots/<name>). */
export const README_SCREENSHOTS = [
  'views-tree-broken-member.png',
  'views-health-panel-broken.png',
  'views-tree-split-brain.png',
  'views-health-panel-split-brain.png',
  'wizard-member-pick.png',
  'wizard-review-confirm.png',
  'wizard-terminal.png',
  'maintenance-defrag-confirm.png',
  'maintenance-health-panel-fragmented.png',
  'wizard-every-broken-pick.png',
  'wizard-every-broken-review.png',
  'disaster-survivor-pick.png',
  'disaster-restore-confirm.png',
];
const DOCS_SCREENSHOTS_DIR = path.resolve(SCREENSHOTS_DIR, '..', '..', 'docs', 'screenshots');

/**
 * One line saying what the workbench shows: the quick input's title and first rows, the toasts, the
 * modal dialogs, the terminals' names, the extension host's last error. A failure's first line is
 * all that a CI summary keeps, so failureScreenshot puts this there.
 */
export async function screenState(wb: Workbench): Promise<string> {
  const page = wb.page;
  const parts: string[] = [];
  const short = (t: string) => t.replace(/\s+/g, ' ').trim().slice(0, 160);
  const quick = page.locator('.quick-input-widget');
  if (await quick.isVisible().catch(() => false)) {
    const title = await quick
      .locator('.quick-input-title')
      .innerText({ timeout: 1000 })
      .catch(() => '');
    const rows = await quick
      .locator('.quick-input-list .monaco-list-row')
      .allInnerTexts()
      .catch(() => [] as string[]);
    parts.push(`quick input "${short(title)}" [${rows.slice(0, 3).map(short).join(' | ')}]`);
  } else parts.push('no quick input');
  const toasts = await notifications(page).catch(() => [] as string[]);
  parts.push(`toasts [${toasts.map(short).join(' | ')}]`);
  const modal = await dialogs(page).catch(() => [] as string[]);
  if (modal.length) parts.push(`dialogs [${modal.map(short).join(' | ')}]`);
  const terminals = await page
    .locator('.terminal-tabs-entry, .single-terminal-tab')
    .allInnerTexts()
    .catch(() => [] as string[]);
  if (terminals.length) parts.push(`terminals [${terminals.map(short).join(' | ')}]`);
  // toasts hide after 15–20 s; what they said stays in the notification center (the status bar's bell)
  const bell = page.locator('.statusbar-item[id="status.notifications"] a, .statusbar-item[id="status.notifications"]');
  if (
    await bell
      .first()
      .isVisible()
      .catch(() => false)
  ) {
    await bell
      .first()
      .click({ timeout: 2000 })
      .catch(() => undefined);
    const rows = page.locator('.notifications-center .monaco-list-row');
    await rows
      .first()
      .waitFor({ state: 'visible', timeout: 2000 })
      .catch(() => undefined);
    const center = await rows.allInnerTexts().catch(() => [] as string[]);
    parts.push(`notification center [${center.map(short).join(' | ')}]`);
    await page.keyboard.press('Escape').catch(() => undefined);
  }
  const errors = extensionHostLog(wb)
    .split('\n')
    .filter((l) => /\[error\]/i.test(l));
  if (errors.length) parts.push(`last extension-host error: ${short(errors[errors.length - 1])}`);
  return parts.join('; ');
}

/** In afterEach: screenshot + keep the run folder when the test failed, and say on the error's first line what was on screen. */
export async function failureScreenshot(wb: Workbench | undefined, ctx: Mocha.Context): Promise<void> {
  const t = ctx.currentTest;
  if (!wb || !t || t.state !== 'failed') return;
  const file = await screenshot(wb.page, `FAILED-${t.fullTitle()}`).catch(() => '');
  const seen = await screenState(wb).catch((e: Error) => `(screen state unreadable: ${e.message})`);
  const err = (t as Mocha.Test & { err?: Error }).err;
  if (err && typeof err.message === 'string') {
    const [first, ...rest] = err.message.split('\n');
    err.message = [`${first} — on screen: ${seen}`, ...rest].join('\n');
  }
  console.log(`    screenshot of the failure: ${file}; code-server logs: ${wb.cs.runDir}\n    on screen: ${seen}`);
}

/** The extension host's logs (activation, errors) of this workbench. */
export function extensionHostLog(wb: Workbench): string {
  return readVscodeLogs(wb.cs);
}

/** User settings of the files that look at the testbed's cluster (over openWorkbench's defaults). */
export function e2eSettings(state: TestbedState): Record<string, unknown> {
  return {
    // The jump host's key is checked against known_hosts (the testbed writes one).
    'boshEtcd.ssh.knownHostsPath': state.staticSsh.knownHostsPath,
    'boshEtcd.refreshIntervalSeconds': 0,
    'boshEtcd.healthPanel.pollIntervalSeconds': 3,
  };
}

/** Drags the side bar's sash so tree rows show their descriptions (state, member id) in the pictures. */
export async function widenSideBar(wb: Workbench, px = 260): Promise<void> {
  const box = await wb.page.locator('.part.sidebar').boundingBox();
  if (!box) return;
  const x = box.x + box.width - 1;
  const y = box.y + box.height / 2;
  await wb.page.mouse.move(x, y);
  await wb.page.mouse.down();
  await wb.page.mouse.move(x + px, y, { steps: 8 });
  await wb.page.mouse.up();
}

/** The health panel's content (the webview's inner frame). */
export function panelFrame(wb: Workbench): FrameLocator {
  return wb.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

/** A workbench opened on a cluster with one master's etcd member wiped (the runbook's drill). */
export interface BrokenMemberFixture {
  readonly wb: Workbench;
  readonly state: TestbedState;
  /** The wiped master's instance UUID. */
  readonly brokenId: string;
  /** The test recovered the member itself: after() need not heal it. */
  recovered(): void;
}

/**
 * Installs the hooks of a file that works on a broken member: before() wipes master `masterIndex`
 * (`mode` 'bootstrap-wipe': the bootstrap master, which then forms its own cluster: split brain)
 * and opens a workbench; afterEach() screenshots a failure; after() closes the workbench (kept when
 * a test failed) and heals the member unless the test recovered it, so the next file finds the
 * cluster healthy.
 */
export function withBrokenMember(masterIndex: number, mode: 'wipe' | 'bootstrap-wipe' = 'wipe'): BrokenMemberFixture {
  let wb: Workbench | undefined;
  let state: TestbedState | undefined;
  let brokenId: string | undefined;
  let heal = false;
  before(async function () {
    state = testbedState();
    if (!state) throw new Error('This file needs the e2e testbed: run it through `node scripts/test.js e2e`.');
    brokenId = masters(state)[masterIndex].id;
    testbedCli('break', `master/${brokenId}`, '--mode', mode);
    heal = true;
    wb = await openWorkbench({ settings: e2eSettings(state), viewport: { width: 1680, height: 1000 } });
  });
  afterEach(async function () {
    await failureScreenshot(wb, this);
  });
  after(async function () {
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed');
    await wb?.close({ keep: failed });
    if (heal && brokenId && state) {
      testbedCli('heal', `master/${brokenId}`, '--rebuild');
      // The rebuilt member replayed the cluster's whole log (an earlier file's churn included): its
      // file is mostly free pages, which the next file would see as a fragmentation warning.
      const vm = masters(state).find((m) => m.id === brokenId);
      if (vm) await etcdctlIn(vm, 'defrag', { local: true, allowFail: true, timeoutMs: 60_000 });
    }
  });
  return {
    get wb() {
      if (!wb) throw new Error('the workbench is not open (before() failed)');
      return wb;
    },
    get state() {
      if (!state) throw new Error('no testbed state (before() failed)');
      return state;
    },
    get brokenId() {
      if (!brokenId) throw new Error('no broken member (before() failed)');
      return brokenId;
    },
    recovered() {
      heal = false;
    },
  };
}

/**
 * Opens the BOSH view (widened for the pictures), expands the testbed's environment and deployment,
 * and waits until a row shows `shows` (default: a member DOWN, as the diagnosis words it).
 */
export async function showBrokenDeployment(
  wb: Workbench,
  state: TestbedState,
  shows: RegExp = /· DOWN/,
): Promise<Locator> {
  const page = wb.page;
  await openBoshView(page);
  await widenSideBar(wb);
  await expandTreeRow(await waitForTreeRow(page, state.director.url.replace(/^https:\/\//, ''), 60_000));
  await expandTreeRow(await waitForTreeRow(page, state.deployment, 60_000));
  return waitForTreeRow(page, shows, 120_000);
}
