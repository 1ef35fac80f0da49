// The one registration list of the extension's commands. Failures reach the operator as a
// message that says what failed and what to do; a cancel is silent.
import * as vscode from 'vscode';
import type { CommandDef, Container } from './container';
import { isCancelled } from '../util/cancel';
import { explainError, explainForOperator } from '../util/errors';
import { refreshCommand } from './refresh';
import { refreshNodeCommand } from './refreshNode';
import { addEnvironmentCommand } from './addEnvironment';
import { openHealthPanelCommand } from './openHealthPanel';
import { openSshTerminalCommand } from './openSshTerminal';
import { recoverMemberCommand } from './recoverMember';
import { copyMemberIdCommand } from './copyMemberId';
import { copyInstanceIdCommand } from './copyInstanceId';
import { openTranscriptsCommand } from './openTranscripts';
import { copyFindingCommandCommand } from './copyFindingCommand';
import { restoreQuorumCommand, restoreSnapshotCommand } from './disaster';
import { defragEtcdCommand, recoverNospaceCommand, showSnapshotsCommand, takeSnapshotCommand } from './maintenance';

export const COMMANDS: CommandDef[] = [
  refreshCommand,
  refreshNodeCommand,
  addEnvironmentCommand,
  openHealthPanelCommand,
  openSshTerminalCommand,
  recoverMemberCommand,
  copyMemberIdCommand,
  copyInstanceIdCommand,
  copyFindingCommandCommand,
  openTranscriptsCommand,
  defragEtcdCommand,
  recoverNospaceCommand,
  takeSnapshotCommand,
  showSnapshotsCommand,
  restoreQuorumCommand,
  restoreSnapshotCommand,
];

export function registerCommands(c: Container): vscode.Disposable[] {
  return COMMANDS.map((def) =>
    vscode.commands.registerCommand(def.id, async (...args: unknown[]) => {
      try {
        return await def.run(c, ...args);
      } catch (e) {
        if (isCancelled(e)) return undefined;
        const what = def.id.replace('boshEtcd.', '');
        const text = explainForOperator(e, what);
        c.log.error(`${def.id}: ${text} (${explainError(e, what).detail})`);
        void c.ui.message('error', text);
        return undefined;
      }
    }),
  );
}
