// Extension-tier runner for machines that can download VS Code desktop (Electron) from Microsoft:
// @vscode/test-electron's runTests(). Selected by BOSH_ETCD_VSCODE_HOST=electron; CI (offline but
// for npm and Debian) uses code-server (extensionHost.ts). Needs a display (xvfb-run on Linux).
//
//   BOSH_ETCD_VSCODE_HOST=electron node scripts/test.js extension
//   node out/test/runners/electron.js <extensionDevelopmentPath> <extensionTestsPath> [folder]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ExtensionTestOptions, ExtensionTestResult } from './extensionHost';

export async function runElectronTests(o: ExtensionTestOptions): Promise<ExtensionTestResult> {
  const { runTests } = await import('@vscode/test-electron');
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-etcd-electron-'));
  const folder = o.folder ?? path.join(runDir, 'workspace');
  fs.mkdirSync(folder, { recursive: true });
  if (o.settings) {
    fs.mkdirSync(path.join(runDir, 'user-data', 'User'), { recursive: true });
    fs.writeFileSync(path.join(runDir, 'user-data', 'User', 'settings.json'), JSON.stringify(o.settings, null, 2));
  }
  const version = process.env.BOSH_ETCD_VSCODE_VERSION || '1.100.3'; // = code-server 4.100.3, engines ^1.100.0
  try {
    const exitCode = await runTests({
      version,
      extensionDevelopmentPath: path.resolve(o.extensionDevelopmentPath),
      extensionTestsPath: path.resolve(o.extensionTestsPath),
      // Makes activate() return the test hooks (src/extension.ts TEST_HOOKS_ENV).
      extensionTestsEnv: { ...(o.env as Record<string, string | undefined>), BOSH_ETCD_TEST_HOOKS: '1' },
      launchArgs: [
        folder,
        '--disable-extensions',
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
        '--user-data-dir',
        path.join(runDir, 'user-data'),
      ],
    });
    return { exitCode, runDir };
  } catch (e) {
    // runTests rejects with TestRunFailedError when the tests fail, other errors when VS Code
    // could not be downloaded or started.
    const failed = (e as Error).name === 'TestRunFailedError' || /Test run failed/.test(String(e));
    (o.log ?? console.log)(`[electron] ${(e as Error).message}`);
    return { exitCode: failed ? 1 : 2, runDir };
  }
}

if (require.main === module) {
  const [dev, tests, folder] = process.argv.slice(2);
  if (!dev || !tests) {
    console.error('usage: node out/test/runners/electron.js <extensionDevelopmentPath> <extensionTestsPath> [folder]');
    process.exit(2);
  }
  runElectronTests({ extensionDevelopmentPath: dev, extensionTestsPath: tests, folder, env: process.env }).then(
    (r) => process.exit(r.exitCode),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
