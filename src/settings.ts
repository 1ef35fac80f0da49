// The extension's settings (the `boshEtcd.*` section), read in one place so workspace trust is
// honoured everywhere: in an untrusted workspace, a workspace (or folder) value of a setting that
// points at hosts or files is ignored and the user's own value (or the default) counts, because a
// cloned repository must not be able to send credentials to its own Director or write transcripts
// where it likes. No `vscode` import: the extension hands in vscode.workspace's configuration and
// trust, the unit tests a stub.
import type { SettingsEnvironmentEntry } from './bosh/config';

export const SETTINGS_SECTION = 'boshEtcd';

/** The part of vscode.WorkspaceConfiguration this module uses. */
export interface ConfigurationLike {
  get<T>(key: string, defaultValue: T): T;
  inspect<T>(key: string): { defaultValue?: T; globalValue?: T } | undefined;
  /** `true` = user (global) settings, as vscode.WorkspaceConfiguration.update takes it. */
  update(key: string, value: unknown, global: true): Thenable<void>;
}

export interface SettingsSource {
  /** The `boshEtcd` section, read fresh on every call (settings change while VS Code runs). */
  configuration(): ConfigurationLike;
  trusted(): boolean;
}

/** Settings that point at hosts or files (or decide which hosts are used): user values only when untrusted. */
export const TRUST_RESTRICTED = [
  'environments',
  'useBoshEnvironmentVariables',
  'ssh.staticUser',
  'ssh.privateKeyPath',
  'ssh.knownHostsPath',
  'recovery.transcriptDirectory',
  'snapshots.directory',
] as const;

/** A change of these closes the open sessions (they are re-opened with the new values). */
export const SESSION_SETTINGS = ['environments', 'useBoshEnvironmentVariables', 'ssh'].map(
  (k) => `${SETTINGS_SECTION}.${k}`,
);

export interface SshSettings {
  staticUser: string;
  privateKeyPath: string;
  knownHostsPath: string;
}

export class Settings {
  constructor(private readonly source: SettingsSource) {}

  trusted(): boolean {
    return this.source.trusted();
  }

  private read<T>(key: string, fallback: T): T {
    const cfg = this.source.configuration();
    if (this.source.trusted() || !(TRUST_RESTRICTED as readonly string[]).includes(key))
      return cfg.get<T>(key, fallback);
    const i = cfg.inspect<T>(key);
    return (i?.globalValue ?? i?.defaultValue ?? fallback) as T;
  }

  /** boshEtcd.environments (entries are validated where they are used: bosh/config.ts fromSettings). */
  environments(): SettingsEnvironmentEntry[] {
    const v = this.read<unknown>('environments', []);
    return Array.isArray(v) ? (v as SettingsEnvironmentEntry[]) : [];
  }

  useBoshEnvironmentVariables(): boolean {
    return this.read<boolean>('useBoshEnvironmentVariables', true);
  }

  /** Seconds between automatic tree refreshes; 0 = never. */
  refreshIntervalSeconds(): number {
    return this.read<number>('refreshIntervalSeconds', 30);
  }

  /** Seconds a periodic diagnosis may reuse a VM probe (src/diagnosis/probeCache.ts); 0 = never. */
  probeCacheSeconds(): number {
    return Math.max(0, this.read<number>('diagnosis.probeCacheSeconds', 60));
  }

  /** Seconds between health panel polls, at least 1. */
  healthPollSeconds(): number {
    return Math.max(1, this.read<number>('healthPanel.pollIntervalSeconds', 5));
  }

  ssh(): SshSettings {
    return {
      staticUser: this.read<string>('ssh.staticUser', ''),
      privateKeyPath: this.read<string>('ssh.privateKeyPath', ''),
      knownHostsPath: this.read<string>('ssh.knownHostsPath', '~/.ssh/known_hosts') || '~/.ssh/known_hosts',
    };
  }

  /** '' = the extension's global storage. */
  transcriptDirectory(): string {
    return this.read<string>('recovery.transcriptDirectory', '');
  }

  downloadSnapshot(): boolean {
    return this.read<boolean>('recovery.downloadSnapshot', false);
  }

  /** '' = ~/.bosh-etcd/snapshots (the CLI's folder too). */
  snapshotDirectory(): string {
    return this.read<string>('snapshots.directory', '');
  }

  /** Seconds between two members of a rolling defragmentation (at least 0; default 5). */
  defragPauseSeconds(): number {
    const v = this.read<number>('maintenance.defragPauseSeconds', 5);
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 5;
  }

  /**
   * Adds (or replaces, by name) an environment in the user settings; a workspace never receives
   * one, so what a repository carries cannot be mistaken for what the operator entered.
   */
  async saveUserEnvironment(entry: SettingsEnvironmentEntry): Promise<void> {
    const cfg = this.source.configuration();
    const current = (cfg.inspect<unknown[]>('environments')?.globalValue ?? []).filter(
      (e) => !(typeof e === 'object' && e && (e as { name?: string }).name === entry.name),
    );
    await cfg.update('environments', [...current, entry], true);
  }
}
