// The BOSH tree's data types: the node kinds (a discriminated union), the plain description of a
// tree item (ItemSpec) that boshTreeProvider.ts turns into a vscode.TreeItem, and what the node
// files read from the model (TreeModelData). The node files and treeModel.ts both import this file
// and never each other's types through the model. No `vscode` import here, so the tree can be
// unit-tested and benchmarked in plain Node.
import type { DeploymentSummary, EnvironmentConfig, InstanceInfo, InstanceProcess } from '../bosh/types';
import type { MemberView } from '../diagnosis/membership';
import type { MonitorEntry } from '../diagnosis/monitor';
import type { Finding } from '../diagnosis/types';

export interface EnvironmentNode {
  kind: 'environment';
  key: string;
  envName: string;
  env?: EnvironmentConfig;
  configError?: string;
}
export interface DeploymentNode {
  kind: 'deployment';
  key: string;
  envName: string;
  deployment: string;
  summary?: DeploymentSummary;
}
export interface InstanceGroupNode {
  kind: 'instanceGroup';
  key: string;
  envName: string;
  deployment: string;
  group: string;
  instances: InstanceInfo[];
  etcdGroup: boolean;
}
export interface InstanceNode {
  kind: 'instance';
  key: string;
  envName: string;
  deployment: string;
  instance: InstanceInfo;
  runsEtcd: boolean;
}
export interface ProcessNode {
  kind: 'process';
  key: string;
  envName: string;
  deployment: string;
  instance: InstanceInfo;
  process: InstanceProcess;
}
export interface EtcdMembersNode {
  kind: 'etcdMembers';
  key: string;
  envName: string;
  deployment: string;
}
export interface EtcdMemberNode {
  kind: 'member';
  key: string;
  envName: string;
  deployment: string;
  member: MemberView;
}
/** A deployment-wide finding (split brain, quorum lost, …) at the top of the etcd section. */
export interface FindingNode {
  kind: 'finding';
  key: string;
  envName: string;
  deployment: string;
  finding: Finding;
}
export interface MessageNode {
  kind: 'message';
  key: string;
  severity: 'error' | 'warning' | 'info';
  text: string;
  detail?: string;
}

export type TreeNode =
  | EnvironmentNode
  | DeploymentNode
  | InstanceGroupNode
  | InstanceNode
  | ProcessNode
  | EtcdMembersNode
  | EtcdMemberNode
  | FindingNode
  | MessageNode;

export interface EnvironmentEntry {
  name: string;
  config?: EnvironmentConfig;
  /** Why this environment cannot be used (shown as a message node). */
  error?: string;
}

/** What the node files need from the model. */
export interface TreeModelData {
  deployments(envName: string): Promise<DeploymentSummary[]>;
  instances(envName: string, deployment: string): Promise<InstanceInfo[]>;
  /** The deployment's diagnosis (from the shared monitor; loaded once per tree refresh). */
  diagnosis(envName: string, deployment: string, opts?: { maxAgeMs?: number }): Promise<MonitorEntry>;
  cachedInstances(envName: string, deployment: string): InstanceInfo[] | undefined;
  /** The monitor's latest result for the deployment, whoever asked for it (tree, panel). */
  cachedDiagnosis(envName: string, deployment: string): MonitorEntry | undefined;
  /** The Director's own name (from /info) once known. */
  directorName(envName: string): string | undefined;
}

/** A codicon id plus an optional theme colour id (vscode.ThemeIcon / vscode.ThemeColor). */
export interface IconSpec {
  id: string;
  color?: string;
}

export interface ItemSpec {
  /** Stable id (keeps expansion state across refreshes). */
  id: string;
  label: string;
  description?: string;
  /** Markdown tooltip. */
  tooltip?: string;
  icon?: IconSpec;
  /** Matched by package.json menus: /etcd/, /instance/, /member/. */
  contextValue: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
  command?: { command: string; title: string; arguments?: unknown[] };
}

/** Where a node's data lives in the model's cache (refreshing a node drops keys with this prefix). */
export function envKey(envName: string): string {
  return `env:${envName}`;
}
export function deploymentKey(envName: string, deployment: string): string {
  return `${envKey(envName)}/dep:${deployment}`;
}
