// Host side of one health panel, independent of VS Code: answers the webview's messages
// (validated), keeps the deployment's diagnosis fresh through the shared monitor at the panel's
// poll interval unless paused, and posts a snapshot of every new result. The VS Code panel
// manager wires it to a WebviewPanel; tests drive it with the same messages.
import type { HealthSnapshot, HostToPanel, PanelFlow } from './protocol';
import { parsePanelMessage } from './protocolGuards';
import { HealthCollector } from './healthData';
import type { DiagnosisMonitor, MonitorEntry } from '../../diagnosis/monitor';

export interface HealthControllerOptions {
  envName: string;
  deployment: string;
  /** The shared diagnosis (the same one the tree and the status bar show). */
  monitor: Pick<DiagnosisMonitor, 'refresh' | 'watch' | 'onDidChange' | 'get'>;
  post: (msg: HostToPanel) => void;
  pollSeconds: number;
  canRecover: boolean;
  /** Called when the operator presses "Recover…" on a member the diagnosis says is broken; awaited. */
  onRecover?: (memberName: string) => unknown;
  /** Starts a maintenance flow on this deployment (defragment, NOSPACE recovery, snapshot); awaited. */
  onFlow?: (flow: PanelFlow) => unknown;
  /** Puts text on the clipboard (the webview cannot). */
  copyText?: (text: string) => PromiseLike<void>;
}

export class HealthController {
  paused = false;
  lastSnapshot?: HealthSnapshot;
  lastError?: string;
  private readonly collector: HealthCollector;
  private watch?: { dispose(): void };
  private readonly sub: { dispose(): void };
  private ready = false;
  private disposed = false;

  constructor(private readonly opts: HealthControllerOptions) {
    this.collector = new HealthCollector(opts.envName, opts.deployment);
    this.sub = opts.monitor.onDidChange((e) => {
      if (e.envName === opts.envName && e.deployment === opts.deployment && this.ready) this.publish(e);
    });
  }

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
      case 'ready': {
        this.ready = true;
        this.post({
          type: 'init',
          envName: this.opts.envName,
          deployment: this.opts.deployment,
          paused: this.paused,
          pollSeconds: this.opts.pollSeconds,
          canRecover: this.opts.canRecover,
        });
        const known = this.opts.monitor.get(this.opts.envName, this.opts.deployment);
        if (known?.diagnosis) this.publish(known);
        // A result younger than one poll is reused (the tree may just have diagnosed).
        const e = await this.opts.monitor.refresh(this.opts.envName, this.opts.deployment, {
          maxAgeMs: this.opts.pollSeconds * 1000,
        });
        // A refresh was published by the change listener; a reused result was published above.
        if (!known?.diagnosis && e === known) this.publish(e);
        this.schedule();
        return;
      }
      case 'refresh':
        await this.poll(msg.requestId);
        return;
      case 'setPaused':
        this.paused = msg.paused;
        this.schedule();
        this.post({ type: 'paused', requestId: msg.requestId, paused: this.paused });
        return;
      case 'recoverMember':
        if (this.opts.canRecover && this.opts.onRecover) await this.opts.onRecover(msg.memberName);
        return;
      case 'startFlow':
        // The flows change the cluster: offered only where recovery is (a trusted workspace).
        if (this.opts.canRecover && this.opts.onFlow) await this.opts.onFlow(msg.flow);
        return;
      case 'copyCommand':
        await this.copyCommand(msg.command, msg.requestId);
        return;
    }
  }

  /** Copies only a command the shown diagnosis proposes: the webview cannot put arbitrary text there. */
  private async copyCommand(command: string, requestId: number): Promise<void> {
    const s = this.lastSnapshot;
    const proposed =
      !!s &&
      [...s.findings.map((f) => f.button), ...s.alarms.map((a) => a.button)].some(
        (b) => b?.kind === 'copy-command' && b.command === command,
      );
    if (!proposed || !this.opts.copyText) {
      this.post({
        type: 'error',
        requestId,
        message: 'That command is no longer proposed by the diagnosis: refresh the panel and copy it again.',
      });
      return;
    }
    await this.opts.copyText(command);
    this.post({ type: 'notice', requestId, message: `Copied: ${command}` });
  }

  private post(m: HostToPanel): void {
    if (!this.disposed) this.opts.post(m);
  }

  private publish(e: MonitorEntry, requestId?: number): HealthSnapshot | undefined {
    if (!e.diagnosis && e.error) {
      this.lastError = e.error;
      this.post({
        type: 'error',
        requestId,
        message: `${e.error}. Check the BOSH environment and that the masters' etcd endpoints are reachable, then refresh.`,
      });
      return undefined;
    }
    const s = this.collector.snapshot(e);
    this.lastSnapshot = s;
    this.lastError = undefined;
    this.post({ type: 'snapshot', requestId, snapshot: s });
    return s;
  }

  /** Keeps the monitor refreshing at the poll interval while the panel is live. */
  private schedule(): void {
    this.watch?.dispose();
    this.watch = undefined;
    if (this.paused || this.disposed) return;
    this.watch = this.opts.monitor.watch(this.opts.envName, this.opts.deployment, this.opts.pollSeconds * 1000);
  }

  /** One refresh now (shared with any in flight); answers with requestId when given. */
  async poll(requestId?: number): Promise<HealthSnapshot | undefined> {
    const e = await this.opts.monitor.refresh(this.opts.envName, this.opts.deployment);
    // Once ready, the change listener posted this result; a request is answered explicitly.
    if (requestId === undefined && this.ready) return this.lastSnapshot;
    return this.publish(e, requestId);
  }

  dispose(): void {
    this.disposed = true;
    this.watch?.dispose();
    this.sub.dispose();
  }
}
