// The BOSH tree's structure: which nodes sit under which (the root's environments, then each node
// file's children) and how each node kind is drawn. The node files (one per kind) do the work;
// treeModel.ts owns the caches and sessions they read through TreeModelData. No `vscode` import here.
import type { DirectorInfo } from '../bosh/types';
import { withTimeout } from '../util/async';
import type { EnvironmentEntry, ItemSpec, TreeModelData, TreeNode } from './nodes';
import { envKey } from './nodes';
import { environmentChildren, environmentItem } from './environmentNode';
import { deploymentChildren, deploymentItem } from './deploymentNode';
import { instanceGroupChildren, instanceGroupItem } from './instanceGroupNode';
import { instanceChildren, instanceItem } from './instanceNode';
import { processItem } from './processNode';
import { etcdMembersChildren, etcdMembersItem } from './etcdMembersNode';
import { memberItem } from './etcdMemberNode';
import { findingItem } from './findingNode';
import { messageItem, messageNode } from './messageNode';

/** How long the root waits for each Director's /info before drawing its row with the configured name. */
const DIRECTOR_INFO_WAIT_MS = 3000;

/** What the root reads: the environments and each Director's /info. */
export interface RootData {
  environments(): Promise<EnvironmentEntry[]>;
  directorInfo(envName: string): Promise<DirectorInfo>;
}

/** The root's rows: one per environment, or a message saying why they could not be read. */
export async function rootChildren(data: RootData): Promise<TreeNode[]> {
  try {
    const envs = await data.environments();
    // The Director's name labels its row: asked before the rows are drawn (an unauthenticated,
    // quick call) rather than re-drawing the row later, which would re-read the deployments
    // while the operator expands one.
    await Promise.all(
      envs
        .filter((e) => e.config)
        .map((e) =>
          withTimeout(data.directorInfo(e.name), DIRECTOR_INFO_WAIT_MS, 'the Director info').catch(() => undefined),
        ),
    );
    return envs.map((e) => ({
      kind: 'environment',
      key: envKey(e.name),
      envName: e.name,
      env: e.config,
      configError: e.error,
    }));
  } catch (e) {
    return [
      messageNode(
        'root',
        'error',
        `Could not read the BOSH environments: ${(e as Error).message}`,
        'Check BOSH_ENVIRONMENT / ~/.bosh/config / the boshEtcd.environments setting',
      ),
    ];
  }
}

/** The children of a node (leaves have none). */
export async function childrenOf(node: TreeNode, data: TreeModelData): Promise<TreeNode[]> {
  switch (node.kind) {
    case 'environment':
      return environmentChildren(node, data);
    case 'deployment':
      return deploymentChildren(node, data);
    case 'instanceGroup':
      return instanceGroupChildren(node);
    case 'instance':
      return instanceChildren(node);
    case 'etcdMembers':
      return etcdMembersChildren(node, data);
    case 'process':
    case 'member':
    case 'finding':
    case 'message':
      return [];
  }
}

/** How a node is drawn. */
export function itemOf(node: TreeNode, data: TreeModelData): ItemSpec {
  switch (node.kind) {
    case 'environment':
      return environmentItem(node, data);
    case 'deployment':
      return deploymentItem(node, data);
    case 'instanceGroup':
      return instanceGroupItem(node);
    case 'instance':
      return instanceItem(node, data);
    case 'process':
      return processItem(node);
    case 'etcdMembers':
      return etcdMembersItem(node, data);
    case 'member':
      return memberItem(node, data);
    case 'finding':
      return findingItem(node);
    case 'message':
      return messageItem(node);
  }
}
