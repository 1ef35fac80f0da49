// The Ui seam implemented with VS Code's QuickPick, InputBox, modal messages and progress.
import * as vscode from 'vscode';
import type { ConfirmOptions, InputOptions, MessageLevel, PickItem, PickOptions, ProgressReporter, Ui } from './ui';

interface QpItem<T> extends vscode.QuickPickItem {
  value: T;
}

export class VscodeUi implements Ui {
  private showPick<T>(items: PickItem<T>[], opts: PickOptions, many: boolean): Promise<T[] | undefined> {
    return new Promise((resolve) => {
      const qp = vscode.window.createQuickPick<QpItem<T>>();
      qp.title = opts.title;
      qp.placeholder = opts.placeholder;
      qp.step = opts.step;
      qp.totalSteps = opts.totalSteps;
      qp.canSelectMany = many;
      qp.ignoreFocusOut = true;
      qp.matchOnDescription = true;
      qp.matchOnDetail = true;
      const qpItems = items.map((i) => ({
        label: i.label,
        description: i.description,
        detail: i.detail,
        value: i.value,
        picked: i.picked,
      }));
      qp.items = qpItems;
      const pre = qpItems.filter((i) => i.picked);
      if (many) qp.selectedItems = pre;
      else if (pre.length) qp.activeItems = [pre[0]];
      let done = false;
      qp.onDidAccept(() => {
        done = true;
        const chosen = many ? qp.selectedItems : qp.activeItems.slice(0, 1);
        resolve(chosen.length || many ? chosen.map((c) => c.value) : undefined);
        qp.hide();
      });
      qp.onDidHide(() => {
        if (!done) resolve(undefined);
        qp.dispose();
      });
      qp.show();
    });
  }

  async pick<T>(items: PickItem<T>[], opts: PickOptions): Promise<T | undefined> {
    const r = await this.showPick(items, opts, false);
    return r?.[0];
  }

  pickMany<T>(items: PickItem<T>[], opts: PickOptions): Promise<T[] | undefined> {
    return this.showPick(items, opts, true);
  }

  async input(opts: InputOptions): Promise<string | undefined> {
    return vscode.window.showInputBox({
      title: opts.title,
      prompt: opts.prompt,
      value: opts.value,
      password: opts.password,
      ignoreFocusOut: true,
      validateInput: opts.validate,
    });
  }

  async confirm(opts: ConfirmOptions): Promise<boolean> {
    const choice = await vscode.window.showWarningMessage(
      opts.message,
      { modal: opts.modal ?? true, detail: opts.detail },
      opts.confirmLabel,
    );
    return choice === opts.confirmLabel;
  }

  progress<R>(title: string, task: (p: ProgressReporter) => Promise<R>, opts?: { cancellable?: boolean }): Promise<R> {
    return Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title, cancellable: opts?.cancellable ?? false },
        (progress, token) => {
          const reporter: ProgressReporter = {
            report: (message, increment) => progress.report({ message, increment }),
            get cancelled() {
              return token.isCancellationRequested;
            },
            onCancel: (cb) => {
              token.onCancellationRequested(cb);
            },
          };
          return task(reporter);
        },
      ),
    );
  }

  async message(level: MessageLevel, text: string, ...actions: string[]): Promise<string | undefined> {
    const show =
      level === 'error'
        ? vscode.window.showErrorMessage
        : level === 'warning'
          ? vscode.window.showWarningMessage
          : vscode.window.showInformationMessage;
    return show(text, ...actions);
  }
}
