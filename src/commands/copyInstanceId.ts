// Copy an instance's `group/uuid` (as `bosh -d … ssh` takes it) to the clipboard.
import * as vscode from 'vscode';
import { instanceName } from '../bosh/types';
import type { CommandDef } from './container';
import { instanceOfNode } from './targets';

export const copyInstanceIdCommand: CommandDef = {
  id: 'boshEtcd.copyInstanceId',
  async run(c, node) {
    const t = instanceOfNode(node);
    if (!t) {
      await c.ui.message(
        'warning',
        'This etcd member has no BOSH instance with its name in this deployment: nothing to copy.',
      );
      return undefined;
    }
    const text = instanceName(t.instance);
    await vscode.env.clipboard.writeText(text);
    return text;
  },
};
