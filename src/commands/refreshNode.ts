// Refresh one node of the tree (and what was read for it).
import type { CommandDef } from './container';
import { isTreeNode } from './targets';

export const refreshNodeCommand: CommandDef = {
  id: 'boshEtcd.refreshNode',
  run(c, node) {
    c.model.refresh(isTreeNode(node) ? node : undefined);
  },
};
