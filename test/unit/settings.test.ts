// The settings module: workspace trust decides whether workspace values of the settings that point
// at hosts or files count. Driven with a stubbed configuration object (the layers VS Code merges).
import * as assert from 'assert';
import { Settings, TRUST_RESTRICTED, type ConfigurationLike } from '../../src/settings';

interface Layers {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
}

/** A configuration with VS Code's precedence: workspace over user over default. */
function configuration(values: Record<string, Layers>, updates: [string, unknown][] = []): ConfigurationLike {
  return {
    get<T>(key: string, fallback: T): T {
      const l = values[key];
      return (l?.workspaceValue ?? l?.globalValue ?? l?.defaultValue ?? fallback) as T;
    },
    inspect<T>(key: string) {
      return values[key] as { defaultValue?: T; globalValue?: T } | undefined;
    },
    update(key: string, value: unknown) {
      updates.push([key, value]);
      return Promise.resolve();
    },
  };
}

function settings(values: Record<string, Layers>, trusted: boolean, updates?: [string, unknown][]): Settings {
  const cfg = configuration(values, updates);
  return new Settings({ configuration: () => cfg, trusted: () => trusted });
}

const repoEnv = { name: 'from-the-repository', url: 'https://attacker.example:25555' };
const userEnv = { name: 'mine', url: 'https://10.0.0.5:25555' };

describe('settings: one reader for boshEtcd.*, honouring workspace trust', () => {
  it('in a trusted workspace, workspace values win as VS Code merges them', () => {
    const s = settings(
      {
        environments: { defaultValue: [], globalValue: [userEnv], workspaceValue: [repoEnv] },
        'ssh.knownHostsPath': { defaultValue: '~/.ssh/known_hosts', workspaceValue: '/repo/known_hosts' },
        'recovery.transcriptDirectory': { defaultValue: '', workspaceValue: '/repo/out' },
        useBoshEnvironmentVariables: { defaultValue: true, workspaceValue: false },
      },
      true,
    );
    assert.deepStrictEqual(s.environments(), [repoEnv]);
    assert.strictEqual(s.ssh().knownHostsPath, '/repo/known_hosts');
    assert.strictEqual(s.transcriptDirectory(), '/repo/out');
    assert.strictEqual(s.useBoshEnvironmentVariables(), false);
    assert.strictEqual(s.trusted(), true);
  });

  it('in an untrusted workspace, workspace values of host/file settings are ignored: user value, else default', () => {
    const s = settings(
      {
        environments: { defaultValue: [], globalValue: [userEnv], workspaceValue: [repoEnv] },
        'ssh.staticUser': { defaultValue: '', workspaceValue: 'root' },
        'ssh.privateKeyPath': { defaultValue: '', workspaceValue: '/repo/key' },
        'ssh.knownHostsPath': { defaultValue: '~/.ssh/known_hosts', workspaceValue: '/repo/known_hosts' },
        'recovery.transcriptDirectory': { defaultValue: '', globalValue: '/home/op/t', workspaceValue: '/repo/out' },
        useBoshEnvironmentVariables: { defaultValue: true, workspaceValue: false },
      },
      false,
    );
    assert.deepStrictEqual(s.environments(), [userEnv]);
    assert.deepStrictEqual(s.ssh(), { staticUser: '', privateKeyPath: '', knownHostsPath: '~/.ssh/known_hosts' });
    assert.strictEqual(s.transcriptDirectory(), '/home/op/t');
    assert.strictEqual(s.useBoshEnvironmentVariables(), true);
    assert.strictEqual(s.trusted(), false);
  });

  it('every setting that points at hosts or files is restricted', () => {
    assert.deepStrictEqual([...TRUST_RESTRICTED].sort(), [
      'environments',
      'recovery.transcriptDirectory',
      'snapshots.directory',
      'ssh.knownHostsPath',
      'ssh.privateKeyPath',
      'ssh.staticUser',
      'useBoshEnvironmentVariables',
    ]);
  });

  it('intervals and the snapshot default keep workspace values when untrusted; the poll interval is at least 1 s', () => {
    const s = settings(
      {
        refreshIntervalSeconds: { defaultValue: 30, workspaceValue: 0 },
        'healthPanel.pollIntervalSeconds': { defaultValue: 5, workspaceValue: 0 },
        'recovery.downloadSnapshot': { defaultValue: false, workspaceValue: true },
      },
      false,
    );
    assert.strictEqual(s.refreshIntervalSeconds(), 0);
    assert.strictEqual(s.healthPollSeconds(), 1);
    assert.strictEqual(s.downloadSnapshot(), true);
  });

  it('the snapshot folder ignores a workspace value when untrusted; the defrag pause keeps it, defaults to 5 s and is never negative', () => {
    const untrusted = settings(
      {
        'snapshots.directory': { defaultValue: '', globalValue: '/home/op/snaps', workspaceValue: '/repo/snaps' },
        'maintenance.defragPauseSeconds': { defaultValue: 5, workspaceValue: 2 },
      },
      false,
    );
    assert.strictEqual(untrusted.snapshotDirectory(), '/home/op/snaps');
    assert.strictEqual(untrusted.defragPauseSeconds(), 2);
    const trusted = settings({ 'snapshots.directory': { defaultValue: '', workspaceValue: '/repo/snaps' } }, true);
    assert.strictEqual(trusted.snapshotDirectory(), '/repo/snaps');
    assert.strictEqual(trusted.defragPauseSeconds(), 5);
    assert.strictEqual(
      settings({ 'maintenance.defragPauseSeconds': { globalValue: -3 } }, true).defragPauseSeconds(),
      5,
    );
  });

  it('falls back to the documented defaults and tolerates a non-array environments value', () => {
    const s = settings({ environments: { workspaceValue: 'not a list' } }, true);
    assert.deepStrictEqual(s.environments(), []);
    assert.strictEqual(s.useBoshEnvironmentVariables(), true);
    assert.strictEqual(s.refreshIntervalSeconds(), 30);
    assert.strictEqual(s.healthPollSeconds(), 5);
    assert.deepStrictEqual(s.ssh(), { staticUser: '', privateKeyPath: '', knownHostsPath: '~/.ssh/known_hosts' });
    assert.strictEqual(s.transcriptDirectory(), '');
    assert.strictEqual(s.downloadSnapshot(), false);
    assert.strictEqual(s.snapshotDirectory(), '');
    assert.strictEqual(s.defragPauseSeconds(), 5);
  });

  it('an added environment goes to the user settings, replacing one of the same name, never taking workspace entries', async () => {
    const updates: [string, unknown][] = [];
    const old = { name: 'mine', url: 'https://old:25555' };
    const other = { name: 'other', url: 'https://other:25555' };
    const s = settings({ environments: { globalValue: [old, other], workspaceValue: [repoEnv] } }, true, updates);
    await s.saveUserEnvironment(userEnv);
    assert.deepStrictEqual(updates, [['environments', [other, userEnv]]]);
  });
});
