// A Ui that answers from a script, for tests. Every prompt is recorded (id, title, items shown),
// so a test can assert what the operator would have seen. No `vscode` import here.
import type { ConfirmOptions, InputOptions, MessageLevel, PickItem, PickOptions, ProgressReporter, Ui } from './ui';

/** An answer: a function of what was shown, a literal value, or `undefined` (= cancel). */
export type PickAnswer =
  | ((items: PickItem<unknown>[]) => unknown)
  | { label: string }
  | { labelIncludes: string }
  | { preselected: true }
  | undefined;

export interface ScriptedAnswers {
  pick?: Record<string, PickAnswer | PickAnswer[]>;
  input?: Record<string, string | undefined>;
  confirm?: Record<string, boolean>;
  /** Button to press on messages whose text includes the key. */
  message?: Record<string, string | undefined>;
  /** Press the Cancel of a cancellable progress once it has reported this many messages. */
  cancelProgressAfterReports?: number;
}

export interface RecordedPrompt {
  kind: 'pick' | 'input' | 'confirm' | 'message' | 'progress';
  id: string;
  title: string;
  items?: { label: string; description?: string; detail?: string; picked?: boolean }[];
  answer?: unknown;
  level?: MessageLevel;
  detail?: string;
  confirmLabel?: string;
}

export class ScriptedUi implements Ui {
  readonly prompts: RecordedPrompt[] = [];
  readonly progressMessages: string[] = [];
  private readonly pickCalls = new Map<string, number>();

  constructor(public answers: ScriptedAnswers = {}) {}

  private choose<T>(items: PickItem<T>[], answer: PickAnswer): T | undefined {
    if (answer === undefined) return undefined;
    if (typeof answer === 'function') return answer(items as PickItem<unknown>[]) as T | undefined;
    if ('preselected' in answer) return (items.find((i) => i.picked) ?? items[0])?.value;
    if ('labelIncludes' in answer) return items.find((i) => i.label.includes(answer.labelIncludes))?.value;
    return items.find((i) => i.label === answer.label)?.value;
  }

  private answerFor(id: string): PickAnswer {
    const a = this.answers.pick?.[id];
    if (Array.isArray(a)) {
      const n = this.pickCalls.get(id) ?? 0;
      this.pickCalls.set(id, n + 1);
      return a[Math.min(n, a.length - 1)];
    }
    return a;
  }

  async pick<T>(items: PickItem<T>[], opts: PickOptions): Promise<T | undefined> {
    if (!this.answers.pick || !(opts.id in this.answers.pick)) {
      throw new Error(
        `ScriptedUi: no answer for pick '${opts.id}' (${opts.title}); items: ${items.map((i) => i.label).join(', ')}`,
      );
    }
    const value = this.choose(items, this.answerFor(opts.id));
    this.prompts.push({
      kind: 'pick',
      id: opts.id,
      title: opts.title,
      items: items.map(({ label, description, detail, picked }) => ({ label, description, detail, picked })),
      answer: value,
    });
    return value;
  }

  async pickMany<T>(items: PickItem<T>[], opts: PickOptions): Promise<T[] | undefined> {
    const a = this.answers.pick?.[opts.id];
    const chosen =
      typeof a === 'function'
        ? (a(items as PickItem<unknown>[]) as T[] | undefined)
        : a === undefined
          ? undefined
          : items.filter((i) => i.picked).map((i) => i.value);
    this.prompts.push({
      kind: 'pick',
      id: opts.id,
      title: opts.title,
      items: items.map(({ label, description, detail, picked }) => ({ label, description, detail, picked })),
      answer: chosen,
    });
    return chosen;
  }

  async input(opts: InputOptions): Promise<string | undefined> {
    if (!this.answers.input || !(opts.id in this.answers.input))
      throw new Error(`ScriptedUi: no answer for input '${opts.id}' (${opts.title})`);
    const v = this.answers.input[opts.id];
    if (v !== undefined && opts.validate) {
      const problem = await opts.validate(v);
      if (problem) throw new Error(`ScriptedUi: answer for '${opts.id}' rejected: ${problem}`);
    }
    this.prompts.push({ kind: 'input', id: opts.id, title: opts.title, answer: opts.password ? '<secret>' : v });
    return v;
  }

  async confirm(opts: ConfirmOptions): Promise<boolean> {
    const v = this.answers.confirm?.[opts.id] ?? false;
    this.prompts.push({
      kind: 'confirm',
      id: opts.id,
      title: opts.message,
      detail: opts.detail,
      confirmLabel: opts.confirmLabel,
      answer: v,
    });
    return v;
  }

  async progress<R>(
    title: string,
    task: (p: ProgressReporter) => Promise<R>,
    opts?: { cancellable?: boolean },
  ): Promise<R> {
    this.prompts.push({ kind: 'progress', id: 'progress', title });
    const cbs: (() => void)[] = [];
    let reports = 0;
    let cancelled = false;
    const cancelAfter = opts?.cancellable ? this.answers.cancelProgressAfterReports : undefined;
    const reporter: ProgressReporter = {
      report: (m) => {
        this.progressMessages.push(m);
        if (cancelAfter !== undefined && ++reports >= cancelAfter && !cancelled) {
          cancelled = true;
          for (const cb of cbs) cb();
        }
      },
      get cancelled() {
        return cancelled;
      },
      onCancel: (cb) => {
        cbs.push(cb);
      },
    };
    return task(reporter);
  }

  async message(level: MessageLevel, text: string, ...actions: string[]): Promise<string | undefined> {
    let answer: string | undefined;
    for (const [k, v] of Object.entries(this.answers.message ?? {}))
      if (text.includes(k) && (v === undefined || actions.includes(v))) answer = v;
    this.prompts.push({
      kind: 'message',
      id: 'message',
      level,
      title: text,
      answer,
      items: actions.map((label) => ({ label })),
    });
    return answer;
  }

  messages(level?: MessageLevel): string[] {
    return this.prompts.filter((p) => p.kind === 'message' && (!level || p.level === level)).map((p) => p.title);
  }
}
