// Copy an etcd member's hex id (as etcdctl prints it) to the clipboard.
import * as vscode from 'vscode';
import type { CommandDef } from './container';
import { isTreeNode } from './targets';

export const copyMemberIdCommand: CommandDef = {
  id: 'boshEtcd.copyMemberId',
  async run(c, node) {
    if (!isTreeNode(node) || node.kind !== 'member' || !node.member.id) {
      await c.ui.message('warning', 'This row has no etcd member id (the instance has no member in the cluster).');
      return undefined;
    }
    await vscode.env.clipboard.writeText(node.member.id);
    return node.member.id;
  },
};
