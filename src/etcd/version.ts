// etcd versions and the command forms that differ between them. The product reads the server's
// version from `status` (EndpointStatus.version) and, for what runs on a VM, whether the VM's etcd
// package ships `etcdutl` (TKGI's may not: never assume it). TKGI 1.8–1.12 ship etcd 3.4, 1.13 and
// later 3.5 (README.md). No `vscode` import here.

export interface EtcdVersion {
  major: number;
  minor: number;
  patch: number;
  /** As printed, e.g. '3.5.16'. */
  text: string;
}

/**
 * Parses '3.5.16', 'v3.4.23', `etcd --version` ('etcd Version: 3.5.16 …') and `etcdctl version`
 * ('etcdctl version: 3.5.16 …'); undefined when the text holds no version.
 */
export function parseEtcdVersion(text: string | undefined): EtcdVersion | undefined {
  if (!text) return undefined;
  const m =
    /(?:etcd Version|etcdctl version):\s*v?(\d+)\.(\d+)\.(\d+)/i.exec(text) ?? /^\s*v?(\d+)\.(\d+)\.(\d+)\b/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: `${m[1]}.${m[2]}.${m[3]}` };
}

/** <0, 0, >0 like a sort comparator. */
export function compareEtcdVersions(a: EtcdVersion, b: EtcdVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** Whether `v` (text or parsed) is at least major.minor; false when it cannot be read. */
export function etcdAtLeast(v: string | EtcdVersion | undefined, major: number, minor: number): boolean {
  const p = typeof v === 'string' || v === undefined ? parseEtcdVersion(v) : v;
  if (!p) return false;
  return p.major > major || (p.major === major && p.minor >= minor);
}

/** The lowest version among the members that answered (what every member understands). */
export function lowestEtcdVersion(versions: (string | undefined)[]): EtcdVersion | undefined {
  const parsed = versions.map(parseEtcdVersion).filter((v): v is EtcdVersion => !!v);
  return parsed.sort(compareEtcdVersions)[0];
}

/** What a version offers that the product's commands depend on. */
export interface EtcdFeatures {
  /** `member add --learner` / `member promote` (3.4+). */
  learners: boolean;
  /** `etcdutl` exists upstream (3.5+) and takes over `snapshot status|restore` and offline defrag. */
  etcdutl: boolean;
  /** `etcdctl snapshot status` prints a deprecation note on stderr (3.5) — its output is still the same table. */
  etcdctlSnapshotStatusDeprecated: boolean;
  /** `etcdctl auth status` (3.5+; 3.4's etcdctl prints its help). */
  authStatus: boolean;
  /** `endpoint health` counts an active alarm as unhealthy (3.5+). */
  healthCountsAlarms: boolean;
  /** `member list -w json --hex` prints hex ids (3.5+; 3.4 prints decimal ids whatever the flag). */
  memberListHex: boolean;
}

export function etcdFeatures(v: string | EtcdVersion | undefined): EtcdFeatures {
  const at35 = etcdAtLeast(v, 3, 5);
  return {
    learners: etcdAtLeast(v, 3, 4),
    etcdutl: at35,
    etcdctlSnapshotStatusDeprecated: at35,
    authStatus: at35,
    healthCountsAlarms: at35,
    memberListHex: at35,
  };
}

/** The tool that reads a snapshot file on a VM. */
export type SnapshotStatusTool = 'etcdutl' | 'etcdctl';

/**
 * `etcdutl snapshot status` only where the server is 3.5+ and the VM's package ships etcdutl
 * (TKGI's etcd package may not); otherwise `etcdctl snapshot status`, which 3.5 still runs.
 */
export function snapshotStatusTool(
  server: string | EtcdVersion | undefined,
  vmHasEtcdutl: boolean,
): SnapshotStatusTool {
  return vmHasEtcdutl && etcdFeatures(server).etcdutl ? 'etcdutl' : 'etcdctl';
}
