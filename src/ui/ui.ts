// The Ui seam: every prompt, confirmation, progress report and message of the commands and the
// recovery wizard goes through this interface, so extension-host tests can answer them with a
// script (scriptedUi.ts) while the extension uses VS Code's widgets (vscodeUi.ts).
// No `vscode` import here.

export interface PickItem<T> {
  label: string;
  description?: string;
  detail?: string;
  value: T;
  /** Preselected (shown first and focused). */
  picked?: boolean;
}

export interface PickOptions {
  /** Short name of the prompt, used by scripted answers and titles, e.g. 'environment'. */
  id: string;
  title: string;
  placeholder?: string;
  step?: number;
  totalSteps?: number;
  /** Allow several choices (the result is then an array of values). */
  canPickMany?: boolean;
}

export interface InputOptions {
  id: string;
  title: string;
  prompt?: string;
  value?: string;
  password?: boolean;
  validate?: (value: string) => string | undefined | Promise<string | undefined>;
}

export interface ConfirmOptions {
  id: string;
  /** The consequence, as a sentence. */
  message: string;
  detail?: string;
  /** The button that says what it does, e.g. 'Remove and re-add member'. */
  confirmLabel: string;
  /** Modal dialog (destructive actions). */
  modal?: boolean;
}

export interface ProgressReporter {
  report(message: string, increment?: number): void;
  readonly cancelled: boolean;
  onCancel(cb: () => void): void;
}

export type MessageLevel = 'info' | 'warning' | 'error';

export interface Ui {
  /** Resolves undefined when the operator cancels. */
  pick<T>(items: PickItem<T>[], opts: PickOptions): Promise<T | undefined>;
  pickMany<T>(items: PickItem<T>[], opts: PickOptions): Promise<T[] | undefined>;
  input(opts: InputOptions): Promise<string | undefined>;
  /** True only when the operator pressed the confirm button. */
  confirm(opts: ConfirmOptions): Promise<boolean>;
  progress<R>(title: string, task: (p: ProgressReporter) => Promise<R>, opts?: { cancellable?: boolean }): Promise<R>;
  /** Shows a message; resolves to the action chosen (or undefined). */
  message(level: MessageLevel, text: string, ...actions: string[]): Promise<string | undefined>;
}

/** The one cancellation type of every layer: a cancel is not an error to report. */
export { CancelledError, isCancelled } from '../util/cancel';
