// Lists the recovery transcripts (Markdown) and opens the chosen one.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { CommandDef } from './container';

export const openTranscriptsCommand: CommandDef = {
  id: 'boshEtcd.openTranscripts',
  async run(c) {
    const dir = c.transcriptDir();
    const files = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => f.endsWith('.md'))
          .sort()
          .reverse()
      : [];
    if (!files.length) {
      await c.ui.message(
        'info',
        `No recovery transcripts yet in ${dir}. Each recovery (and dry-run) writes one there.`,
      );
      return undefined;
    }
    const f = await c.ui.pick(
      files.map((f) => ({ label: f, description: fs.statSync(path.join(dir, f)).mtime.toISOString(), value: f })),
      { id: 'transcript', title: `Recovery transcripts in ${dir}` },
    );
    if (!f) return undefined;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(dir, f)));
    await vscode.window.showTextDocument(doc, { preview: true });
    return doc.uri.fsPath;
  },
};
