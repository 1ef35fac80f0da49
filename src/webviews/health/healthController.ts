// Host side of one health panel, independent of VS Code: answers the webview's messages
// (validated), polls on an interval unless paused, and posts snapshots. The VS Code panel
// manager wires it to a WebviewPanel; tests drive it with the same messages.
import type { HealthSnapshot, HostToPanel } from './protocol';
import { parsePanelMessage } from './protocol';
import { explainError, explainForOperator } from '../../util/errors';

export interface HealthControllerOptions {
  envName: string;
  deployment: string;
  collect: () => Promise<HealthSnapshot>;
  post: (msg: HostToPanel) => void;
  pollSeconds: number;
  canRecover: boolean;
  /** Called when the operator presses "Recover…" on a failing member. */
  onRecover?: (memberName: string) => void;
  /** Called with every snapshot (the status bar listens). */
  onSnapshot?: (s: HealthSnapshot) => void;
}

export class HealthController {
  paused = false;
  lastSnapshot?: HealthSnapshot;
  lastError?: string;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<HealthSnapshot | undefined>;
  private ready = false;
  private disposed = false;

  constructor(private readonly opts: HealthControllerOptions) {}

  get pollSeconds(): number {
    return this.opts.pollSeconds;
  }

  setPollSeconds(s: number): void {
    this.opts.pollSeconds = s;
    if (this.ready) this.schedule();
  }

  /** Entry point for every message from the webview. Invalid/unknown messages are ignored. */
  async handle(raw: unknown): Promise<void> {
    const msg = parsePanelMessage(raw);
    if (!msg || this.disposed) return;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.post({
          type: 'init',
          envName: this.opts.envName,
          deployment: this.opts.deployment,
          paused: this.paused,
          pollSeconds: this.opts.pollSeconds,
          canRecover: this.opts.canRecover,
        });
        if (this.lastSnapshot) this.post({ type: 'snapshot', snapshot: this.lastSnapshot });
        await this.poll();
        this.schedule();
        return;
      case 'refresh':
        await this.poll(msg.requestId);
        return;
      case 'setPaused':
        this.paused = msg.paused;
        this.schedule();
        this.post({ type: 'paused', requestId: msg.requestId, paused: this.paused });
        return;
      case 'recoverMember':
        if (this.opts.canRecover && this.opts.onRecover) this.opts.onRecover(msg.memberName);
        return;
    }
  }

  private post(m: HostToPanel): void {
    if (!this.disposed) this.opts.post(m);
  }

  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.paused || this.disposed) return;
    this.timer = setInterval(
      () => {
        void this.poll();
      },
      Math.max(1, this.opts.pollSeconds) * 1000,
    );
  }

  /** One poll; concurrent calls share the poll in flight. Answers with requestId when given. */
  async poll(requestId?: number): Promise<HealthSnapshot | undefined> {
    if (!this.inFlight) {
      this.inFlight = this.opts
        .collect()
        .then(
          (s) => {
            this.lastSnapshot = s;
            this.lastError = undefined;
            this.opts.onSnapshot?.(s);
            return s;
          },
          (e) => {
            const what = `reading etcd health of ${this.opts.deployment}`;
            this.lastError = explainForOperator(e, what);
            this.post({ type: 'error', message: this.lastError, detail: explainError(e, what).detail });
            return undefined;
          },
        )
        .finally(() => {
          this.inFlight = undefined;
        });
      const s = await this.inFlight;
      if (s) this.post({ type: 'snapshot', requestId, snapshot: s });
      else if (requestId !== undefined) this.post({ type: 'error', requestId, message: this.lastError ?? 'failed' });
      return s;
    }
    const s = await this.inFlight;
    if (requestId !== undefined)
      this.post(
        s
          ? { type: 'snapshot', requestId, snapshot: s }
          : { type: 'error', requestId, message: this.lastError ?? 'failed' },
      );
    return s;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
  }
}
