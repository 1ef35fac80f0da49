// "Copy Command": the bosh command a finding proposes (flow 'bosh'), to run in the operator's own
// shell: the tool does not run BOSH commands that change the deployment.
import * as vscode from 'vscode';
import type { CommandDef } from './container';
import { isTreeNode } from './targets';
import { findingButton } from '../diagnosis/actions';

export const copyFindingCommandCommand: CommandDef = {
  id: 'boshEtcd.copyFindingCommand',
  async run(c, node) {
    const b = isTreeNode(node) && node.kind === 'finding' ? findingButton(node.finding) : undefined;
    if (b?.kind !== 'copy-command') {
      await c.ui.message('warning', 'This row proposes no command to copy: read its tooltip for what to do.');
      return undefined;
    }
    await vscode.env.clipboard.writeText(b.command);
    return b.command;
  },
};
