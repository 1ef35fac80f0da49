// One SSH connection to one VM (ssh2), reused for exec, file reads, port forwards and shells.
// A connection that drops fails its running commands with SshError('dropped') and is re-established
// (same credentials, same host key) on the next call. The work is in sibling modules:
// handshake.ts (dial, host key verification, login), exec.ts (commands, timeouts, drop detection),
// files.ts (SFTP / sudo cat reads), forward.ts (tunnels), shell.ts (PTY shells).
// Plain Node, no `vscode`.
import type { Duplex } from 'stream';
import type { Client } from 'ssh2';
import { ExecOptions, ExecResult, PortForward, RemoteHost, ShellChannel, ShellOptions, SshError } from './types';
import { ConnectVmOptions, HostKeyMemory, openClient } from './handshake';
import { ChannelContext, PendingOp, runCommand } from './exec';
import { readRemoteFile } from './files';
import { listenForward, openTunnelStream } from './forward';
import { openShell } from './shell';

export type { ConnectVmOptions } from './handshake';

/** Connects (and authenticates, and verifies the host key) before resolving. */
export async function connectVm(opts: ConnectVmOptions): Promise<RemoteHost> {
  const vm = new VmConnection(opts);
  await vm.connect();
  return vm;
}

export class VmConnection implements RemoteHost {
  readonly label: string;
  readonly address: string;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private disposed = false;
  private readonly hostKeys: HostKeyMemory = {};
  private warm: Promise<void> | undefined;
  private readonly pending = new Set<PendingOp>();
  private readonly forwards = new Set<PortForward>();
  private readonly log: (line: string) => void;
  private readonly ctx: ChannelContext;

  constructor(private readonly opts: ConnectVmOptions) {
    this.label = opts.label;
    this.address = opts.host;
    this.log = opts.log ?? (() => undefined);
    this.ctx = { label: this.label, log: this.log, pending: this.pending, isLive: (c) => this.client === c };
  }

  /** True while an authenticated connection is up. */
  get connected(): boolean {
    return !!this.client;
  }

  async connect(): Promise<void> {
    await this.ensure();
  }

  private ensure(): Promise<Client> {
    if (this.disposed) return Promise.reject(new SshError('config', `The SSH connection to ${this.label} was closed.`));
    if (this.client) return Promise.resolve(this.client);
    if (!this.connecting) {
      this.connecting = openClient(this.opts, this.hostKeys, {
        onReady: (client) => {
          this.client = client;
        },
        onGone: (client, why) => this.onGone(client, why),
      }).finally(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  private onGone(client: Client, why: string): void {
    if (this.client === client) {
      this.client = undefined;
      this.warm = undefined;
      if (!this.disposed) this.log(`ssh: connection to ${this.label} ${why}`);
    }
    const err = new SshError(
      'dropped',
      `The SSH connection to ${this.label} (${this.address}) dropped${this.disposed ? ' (closed)' : ''}. The command's outcome is unknown: check the VM's state before retrying.`,
    );
    for (const p of [...this.pending]) p.fail(err);
  }

  /**
   * OpenSSH enables TCP_NODELAY only once a session channel opened; before that, tunnels stall
   * ~45 ms per round trip. One `true` fixes it for the connection.
   */
  warmUp(): Promise<void> {
    if (!this.warm) {
      this.warm = this.exec('true', { timeoutMs: 15_000 }).then(
        () => undefined,
        (e) => {
          this.log(`ssh: warm-up exec on ${this.label} failed: ${(e as Error).message}`);
          this.warm = undefined;
        },
      );
    }
    return this.warm;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await runCommand(this.ctx, await this.ensure(), command, opts, false);
    delete r.stdoutBuf;
    return r;
  }

  readFile(path: string, opts: { sudo?: boolean } = {}): Promise<Buffer> {
    return readRemoteFile(this.ctx, () => this.ensure(), path, opts);
  }

  async openStream(remoteHost: string, remotePort: number): Promise<Duplex> {
    const client = await this.ensure();
    await this.warmUp();
    return openTunnelStream(this.ctx, client, remoteHost, remotePort);
  }

  async forward(remoteHost: string, remotePort: number): Promise<PortForward> {
    await this.ensure();
    await this.warmUp();
    const fwd = await listenForward((h, p) => this.openStream(h, p), remoteHost, remotePort, this.log);
    this.forwards.add(fwd);
    return {
      localPort: fwd.localPort,
      close: async () => {
        this.forwards.delete(fwd);
        await fwd.close();
      },
    };
  }

  async shell(opts: ShellOptions): Promise<ShellChannel> {
    return openShell(this.ctx, await this.ensure(), opts);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([...this.forwards].map((f) => f.close().catch(() => undefined)));
    this.forwards.clear();
    const c = this.client ?? (this.connecting ? await this.connecting.catch(() => undefined) : undefined);
    this.client = undefined;
    if (c) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        c.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        c.end();
      });
    }
    if (this.opts.onDispose) {
      try {
        await this.opts.onDispose();
      } catch (e) {
        this.log(`ssh: cleanup after ${this.label} failed: ${(e as Error).message}`);
      }
    }
  }
}
