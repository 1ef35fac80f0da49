// Open an interactive SSH shell on an instance (tree: instance / member rows; palette: asks).
import * as vscode from 'vscode';
import { instanceName } from '../bosh/types';
import type { CommandDef } from './container';
import { instanceOfNode, pickInstance, resolveDeployment } from './targets';
import { SshPseudoterminal } from './sshPseudoterminal';

export const openSshTerminalCommand: CommandDef = {
  id: 'boshEtcd.openSshTerminal',
  async run(c, arg) {
    let t = instanceOfNode(arg);
    if (!t) {
      const ref = await resolveDeployment(c, arg);
      t = { ref, instance: await pickInstance(c, ref) };
    }
    const { ref, instance } = t;
    const label = instanceName(instance);
    const pty = new SshPseudoterminal(label, async () =>
      (await c.model.deploymentSession(ref.envName, ref.deployment)).ssh(instance),
    );
    const terminal = vscode.window.createTerminal({
      name: `bosh ssh ${label.slice(0, 20)}…`,
      pty,
      iconPath: new vscode.ThemeIcon('terminal'),
    });
    terminal.show();
    return { terminal, pty };
  },
};
