// The typed message protocol between the etcd health panel (webview, panel.ts) and the extension
// host (healthController.ts): the message and row types. Shared by both sides; no `vscode`, no Node,
// no DOM imports. Every message received is checked with the validators of protocolGuards.ts;
// unknown messages are ignored.
import type { FindingButton } from '../../diagnosis/actions';

/** What a finding's or an alarm's button does (the host decides; the webview only draws it). */
export type PanelButton = FindingButton;

/** The flows the panel starts on its whole deployment. */
export type PanelFlow = 'defrag' | 'recover-nospace' | 'take-snapshot' | 'restore-quorum';

/** One row of `etcdctl endpoint status -w table` (3.4 columns) plus health latency. */
export interface EndpointRow {
  endpoint: string;
  /** Member name (= BOSH instance UUID) this endpoint belongs to. */
  memberName: string;
  /** `master/<uuid>` when the member maps to a BOSH instance. */
  instance?: string;
  az?: string;
  /** Hex member id ('' when the endpoint did not answer). */
  id: string;
  version: string;
  dbSize: number;
  dbSizeInUse?: number;
  isLeader: boolean;
  isLearner: boolean;
  raftTerm: string;
  raftIndex: string;
  raftAppliedIndex: string;
  errors: string[];
  /** `endpoint health`: true/false, undefined when not asked or unknown. */
  healthy?: boolean;
  healthMs?: number;
  /** The endpoint did not answer `status` (unreachable / timed out). */
  unreachable: boolean;
  /** Why it failed, when it failed. */
  error?: string;
  /** Its member's worst finding is critical: the row is drawn red. */
  failing: boolean;
  /** The worst finding about its instance ('ok': none, or info only). */
  severity: RowSeverity;
  /** The diagnosis' word for its member (healthy, down, split, unreachable, …). */
  state: string;
}

export type RowSeverity = 'critical' | 'warning' | 'ok';

/** One finding of the diagnosis, as the panel lists it. */
export interface FindingRow {
  severity: 'critical' | 'warning' | 'info';
  kind: string;
  title: string;
  /** `master/<uuid>` when the finding is about one instance. */
  instance?: string;
  evidence: string;
  action: string;
  command?: string;
  /** The flow that fixes it (or the command to copy); absent: nothing to start from here. */
  button?: PanelButton;
}

/** A cluster-wide alarm (split brain, quorum lost, no leader): a banner impossible to miss. */
export interface BannerRow {
  kind: string;
  title: string;
  /** What it means, in words. */
  meaning: string;
  /** What to do. */
  todo: string;
}

/** DB size against the quota and fragmentation, per member that answered. */
export interface SizeRow {
  instance: string;
  endpoint: string;
  dbSize: number;
  dbSizeInUse?: number;
  /** Share of the DB that is free pages, %, when etcd reports the size in use. */
  fragmentationPct?: number;
  quotaBytes: number;
  /** true: read from the job on the VM; false: etcd's 2 GiB default assumed. */
  quotaKnown: boolean;
  quotaPct: number;
  nearQuota: boolean;
  fragmented: boolean;
}

export interface Thresholds {
  nearQuotaRatio: number;
  fragmentationInUseRatio: number;
  fragmentationMinDbBytes: number;
}

export interface MemberRow {
  id: string;
  name: string;
  instance?: string;
  state: string;
  isLearner: boolean;
  peerURLs: string[];
  clientURLs: string[];
  /** Titles of the findings about it. */
  flags: string[];
  severity: RowSeverity;
  /** The diagnosis shows positive evidence that the recovery wizard fixes it. */
  recoverable: boolean;
}

export interface AlarmRow {
  memberId: string;
  /** NOSPACE, CORRUPT, … */
  alarm: string;
  member?: string;
  /** How this alarm is cleared (never a bare disarm). */
  rule: string;
  button?: PanelButton;
}

export interface HistoryPoint {
  t: number;
  raftIndex: number;
  dbSize: number;
}

export interface HealthSnapshot {
  at: number;
  envName: string;
  deployment: string;
  clusterId?: string;
  leader?: string;
  rows: EndpointRow[];
  members: MemberRow[];
  alarms: AlarmRow[];
  /** Per endpoint, oldest first. */
  history: Record<string, HistoryPoint[]>;
  /** Voting members healthy / members, from the diagnosis. */
  healthy: number;
  total: number;
  /** Cluster-level problems (the deployment could not be diagnosed, …). */
  problems: string[];
  /** The diagnosis' worst severity, its few words ("SPLIT BRAIN", "2/3 healthy") and its line. */
  worst: RowSeverity;
  headline: string;
  summaryLine: string;
  findings: FindingRow[];
  banners: BannerRow[];
  sizes: SizeRow[];
  thresholds: Thresholds;
  /** What the diagnosis could not check. */
  unchecked: string[];
}

export type PanelToHost =
  | { type: 'ready' }
  | { type: 'refresh'; requestId: number }
  | { type: 'setPaused'; requestId: number; paused: boolean }
  | { type: 'recoverMember'; requestId: number; memberName: string }
  | { type: 'startFlow'; requestId: number; flow: PanelFlow }
  /** Copy a command the current diagnosis proposes (the webview has no clipboard access of its own). */
  | { type: 'copyCommand'; requestId: number; command: string };

export type HostToPanel =
  | { type: 'init'; envName: string; deployment: string; paused: boolean; pollSeconds: number; canRecover: boolean }
  | { type: 'snapshot'; requestId?: number; snapshot: HealthSnapshot }
  | { type: 'paused'; requestId?: number; paused: boolean }
  | { type: 'error'; requestId?: number; message: string; detail?: string }
  /** A short confirmation beside the toolbar ("Copied: …"). */
  | { type: 'notice'; requestId?: number; message: string };

/** State the webview keeps (vscode.setState) so the serializer can restore the panel. */
export interface PanelState {
  envName: string;
  deployment: string;
}

/**
 * Binary units (20 KiB, 3.1 MiB, 2.0 GiB), as etcd's quota and the maintenance flows' text
 * (src/maintenance/plan.ts formatBytes) count them.
 */
export function formatBytes(n: number): string {
  if (!(n >= 0)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}
