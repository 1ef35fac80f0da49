// One SSH connection to one VM (ssh2), reused for exec, file reads, port forwards and shells.
// Host keys are always verified (pinned key from the Director, else known_hosts, else the operator
// is asked with the SHA256 fingerprint). A connection that drops fails its running commands with
// SshError('dropped') and is re-established (same credentials, same host key) on the next call.
// Plain Node, no `vscode`.
import * as net from 'net';
import type { Duplex } from 'stream';
import { StringDecoder } from 'string_decoder';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { Dialer } from '../bosh/types';
import type { HostKeyPrompt } from '../session/types';
import { ExecOptions, ExecResult, PortForward, RemoteHost, ShellChannel, ShellOptions, SshError } from './types';
import {
  buildRemoteCommand,
  checkKnownHosts,
  expandHome,
  hostKeyAlgorithms,
  keyTypeOfBlob,
  knownKeyTypesFor,
  parsePublicKeyLine,
  readKnownHostsFile,
  sha256Fingerprint,
} from './keys';
import { shellQuote } from '../util/shell';

export interface ConnectVmOptions {
  /** e.g. 'master/8d1f…' (used in messages and terminal prompts). */
  label: string;
  host: string;
  port?: number;
  user: string;
  privateKey?: string | Buffer;
  /** ssh-agent socket path (SSH_AUTH_SOCK). */
  agent?: string;
  passphrase?: string;
  /** OpenSSH public key line the server must present (from the Director's SSH setup). Mismatch = hard failure. */
  pinnedHostKey?: string;
  knownHostsPath?: string;
  hostKeyPrompt?: HostKeyPrompt;
  dial: Dialer;
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  /** Diagnostic log; never receives secrets. */
  log?: (line: string) => void;
  /** Runs after the connection closed in dispose() (e.g. the Director's SSH cleanup). Errors are logged. */
  onDispose?: () => Promise<void>;
}

const DEFAULT_EXEC_TIMEOUT_MS = 120_000;

function shorten(cmd: string): string {
  return cmd.length > 120 ? cmd.slice(0, 117) + '…' : cmd;
}

/** Connects (and authenticates, and verifies the host key) before resolving. */
export async function connectVm(opts: ConnectVmOptions): Promise<RemoteHost> {
  const vm = new VmConnection(opts);
  await vm.connect();
  return vm;
}

interface PendingOp {
  fail(err: SshError): void;
}

export class VmConnection implements RemoteHost {
  readonly label: string;
  readonly address: string;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private disposed = false;
  /** Host key accepted on the first connection: later reconnects must present the same one. */
  private acceptedKey: Buffer | undefined;
  private warm: Promise<void> | undefined;
  private readonly pending = new Set<PendingOp>();
  private readonly forwards = new Set<PortForward>();
  private readonly log: (line: string) => void;

  constructor(private readonly opts: ConnectVmOptions) {
    this.label = opts.label;
    this.address = opts.host;
    this.log = opts.log ?? (() => undefined);
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
      this.connecting = this.connectOnce().finally(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  private async verifyHostKey(blob: Buffer): Promise<void> {
    const { label, host } = this.opts;
    const port = this.opts.port ?? 22;
    const fp = sha256Fingerprint(blob);
    const keyType = keyTypeOfBlob(blob);
    if (this.opts.pinnedHostKey) {
      let pinned: Buffer;
      try {
        pinned = parsePublicKeyLine(this.opts.pinnedHostKey).blob;
      } catch (e) {
        throw new SshError(
          'config',
          `The host key the Director reported for ${label} cannot be read (${(e as Error).message}); run the SSH setup again.`,
        );
      }
      if (pinned.equals(blob)) return;
      throw new SshError(
        'hostkey-changed',
        `Host key of ${label} (${host}) does not match the key the Director reported: expected ${sha256Fingerprint(pinned)}, ` +
          `got ${keyType} ${fp}. Not connecting. Something other than the VM may be answering at ${host}; check the network path and the instance, then retry.`,
      );
    }
    if (this.acceptedKey) {
      if (this.acceptedKey.equals(blob)) return;
      throw new SshError(
        'hostkey-changed',
        `Host key of ${label} (${host}) changed while connected: it was ${sha256Fingerprint(this.acceptedKey)}, now ${keyType} ${fp}. Not reconnecting; check the VM and the network path.`,
      );
    }
    const khPath = this.opts.knownHostsPath;
    if (khPath) {
      const verdict = checkKnownHosts(readKnownHostsFile(khPath), host, port, blob);
      if (verdict.verdict === 'match') return;
      if (verdict.verdict === 'changed') {
        throw new SshError(
          'hostkey-changed',
          `Host key of ${label} (${host}) is not the one recorded in ${expandHome(khPath)} line ${verdict.line}: the server offers ${keyType} ${fp}. ` +
            `Not connecting. If the VM was recreated, remove the old entry (ssh-keygen -R ${host}) after checking the new fingerprint out of band.`,
        );
      }
    }
    if (!this.opts.hostKeyPrompt) {
      throw new SshError(
        'hostkey-unknown',
        `Host key of ${label} (${host}) is unknown (${keyType} ${fp})${khPath ? ` and not in ${expandHome(khPath)}` : ''}. ` +
          `Add it to known_hosts after checking the fingerprint, or use Director-provisioned SSH (which pins the key).`,
      );
    }
    const ok = await this.opts.hostKeyPrompt(host, keyType, fp);
    if (!ok)
      throw new SshError('hostkey-unknown', `Host key ${fp} of ${label} (${host}) was not trusted; not connecting.`);
  }

  /** Ask the server for the key type we can check (the pinned one, or those in known_hosts first). */
  private hostKeyAlgorithms(): string[] {
    if (this.opts.pinnedHostKey) {
      try {
        return hostKeyAlgorithms([parsePublicKeyLine(this.opts.pinnedHostKey).type], true);
      } catch {
        return hostKeyAlgorithms([], false); // verifyHostKey reports the unreadable pin
      }
    }
    if (this.acceptedKey) return hostKeyAlgorithms([keyTypeOfBlob(this.acceptedKey)], true);
    const known = this.opts.knownHostsPath
      ? knownKeyTypesFor(readKnownHostsFile(this.opts.knownHostsPath), this.opts.host, this.opts.port ?? 22)
      : [];
    return hostKeyAlgorithms(known, false);
  }

  private async connectOnce(): Promise<Client> {
    const { label, host, user } = this.opts;
    const port = this.opts.port ?? 22;
    let sock: Duplex;
    try {
      sock = await this.opts.dial(host, port);
    } catch (e) {
      if (e instanceof SshError && e.kind !== 'connect') throw e;
      if (e instanceof SshError) throw new SshError('connect', `Cannot reach ${label}: ${e.message}`);
      throw new SshError(
        'connect',
        `Cannot reach ${label} at ${host}:${port}: ${(e as Error).message}. Check that the VM is running and reachable (or the jump host settings).`,
      );
    }
    const client = new Client();
    let hostKeyError: SshError | undefined;
    const cfg: ConnectConfig = {
      algorithms: { serverHostKey: this.hostKeyAlgorithms() as never },
      sock: sock as unknown as ConnectConfig['sock'],
      host,
      port,
      username: user,
      privateKey: this.opts.privateKey,
      passphrase: this.opts.passphrase,
      agent: this.opts.agent,
      readyTimeout: this.opts.readyTimeoutMs ?? 20_000,
      keepaliveInterval: this.opts.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: 3,
      hostVerifier: ((key: Buffer, verify: (ok: boolean) => void) => {
        this.verifyHostKey(key).then(
          () => {
            if (!this.acceptedKey) this.acceptedKey = Buffer.from(key);
            verify(true);
          },
          (e) => {
            hostKeyError = e instanceof SshError ? e : new SshError('hostkey-unknown', String(e));
            verify(false);
          },
        );
      }) as unknown as ConnectConfig['hostVerifier'],
    };
    const started = Date.now();
    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      client.on('ready', () => {
        ready = true;
        this.client = client;
        this.log(`ssh: connected to ${label} (${user}@${host}:${port}) in ${Date.now() - started} ms`);
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (!ready) {
          sock.destroy();
          if (hostKeyError) return reject(hostKeyError);
          if (err.level === 'client-authentication') {
            return reject(
              new SshError(
                'auth',
                `SSH login as '${user}' to ${label} (${host}) was refused (tried: public key). ` +
                  `If the Director set this user up, the setup may have been cleaned up; retry. With static credentials, check the user and key.`,
              ),
            );
          }
          if (err.level === 'client-timeout') {
            return reject(
              new SshError(
                'timeout',
                `SSH handshake with ${label} (${host}:${port}) timed out after ${Math.round((this.opts.readyTimeoutMs ?? 20_000) / 1000)} s. Check that sshd on the VM answers.`,
              ),
            );
          }
          if (/passphrase|private key|Cannot parse/i.test(err.message)) {
            return reject(new SshError('config', `The SSH private key for ${label} cannot be used: ${err.message}.`));
          }
          return reject(
            new SshError('connect', `SSH connection to ${label} (${host}:${port}) failed: ${err.message}.`),
          );
        }
        this.log(`ssh: ${label}: ${err.message}`);
      });
      const onGone = (why: string) => {
        if (this.client === client) {
          this.client = undefined;
          this.warm = undefined;
          if (!this.disposed) this.log(`ssh: connection to ${label} ${why}`);
        }
        if (!ready) {
          reject(
            hostKeyError ??
              new SshError('connect', `SSH connection to ${label} (${host}:${port}) closed during the handshake.`),
          );
        }
        const err = new SshError(
          'dropped',
          `The SSH connection to ${label} (${host}) dropped${this.disposed ? ' (closed)' : ''}. The command's outcome is unknown: check the VM's state before retrying.`,
        );
        for (const p of [...this.pending]) p.fail(err);
      };
      client.on('end', () => onGone('ended'));
      client.on('close', () => onGone('closed'));
      try {
        client.connect(cfg);
      } catch (e) {
        sock.destroy();
        reject(new SshError('config', `The SSH settings for ${label} cannot be used: ${(e as Error).message}.`));
      }
    });
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

  private async run(command: string, opts: ExecOptions, binary: boolean): Promise<ExecResult & { stdoutBuf?: Buffer }> {
    const client = await this.ensure();
    const full = buildRemoteCommand(command, opts);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      let settled = false;
      let channel: ClientChannel | undefined;
      let timer: NodeJS.Timeout | undefined;
      const op: PendingOp = {
        fail: () =>
          finish(() =>
            reject(
              new SshError(
                'dropped',
                `The SSH connection to ${this.label} dropped while '${shorten(command)}' was running. Its outcome is unknown: check the VM's state before retrying.`,
              ),
            ),
          ),
      };
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        this.pending.delete(op);
        f();
      };
      this.pending.add(op);
      timer = setTimeout(() => {
        finish(() =>
          reject(
            new SshError(
              'timeout',
              `'${shorten(command)}' on ${this.label} did not finish within ${Math.round(timeoutMs / 1000)} s; the channel was closed. ` +
                `The command may still have had effects: check the VM before retrying.`,
            ),
          ),
        );
        try {
          channel?.signal('KILL');
        } catch {
          /* best effort */
        }
        try {
          channel?.close();
        } catch {
          /* best effort */
        }
      }, timeoutMs);
      client.exec(full, (err, ch) => {
        if (err) {
          if (this.client !== client) {
            return finish(() =>
              reject(
                new SshError(
                  'dropped',
                  `The SSH connection to ${this.label} dropped before '${shorten(command)}' started; it did not run. Retry.`,
                ),
              ),
            );
          }
          return finish(() =>
            reject(new SshError('exec', `Cannot start '${shorten(command)}' on ${this.label}: ${err.message}.`)),
          );
        }
        channel = ch;
        if (settled) {
          ch.close();
          return;
        }
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        const outDec = new StringDecoder('utf8');
        const errDec = new StringDecoder('utf8');
        let code: number | null = null;
        let signal: string | null = null;
        let sawExit = false;
        ch.on('data', (d: Buffer) => {
          out.push(d);
          if (opts.onStdout) {
            const s = outDec.write(d);
            if (s) opts.onStdout(s);
          }
        });
        ch.stderr.on('data', (d: Buffer) => {
          errOut.push(d);
          if (opts.onStderr) {
            const s = errDec.write(d);
            if (s) opts.onStderr(s);
          }
        });
        ch.on('error', (e: Error) => this.log(`ssh: channel error on ${this.label}: ${e.message}`));
        ch.on('exit', (c: number | null, sig?: string) => {
          sawExit = true;
          code = typeof c === 'number' ? c : null;
          signal = sig ? String(sig) : null;
        });
        ch.on('close', () => {
          const result = () => {
            const stdoutBuf = Buffer.concat(out);
            if (opts.onStdout) {
              const s = outDec.end();
              if (s) opts.onStdout(s);
            }
            if (opts.onStderr) {
              const s = errDec.end();
              if (s) opts.onStderr(s);
            }
            return {
              code,
              signal,
              stdout: binary ? '' : stdoutBuf.toString('utf8'),
              stderr: Buffer.concat(errOut).toString('utf8'),
              durationMs: Date.now() - started,
              stdoutBuf: binary ? stdoutBuf : undefined,
            };
          };
          if (sawExit) return finish(() => resolve(result()));
          // No exit status: either the connection went away (the 'close' of the connection follows
          // shortly) or the server closed the channel without one.
          setTimeout(() => {
            if (this.client !== client) {
              finish(() =>
                reject(
                  new SshError(
                    'dropped',
                    `The SSH connection to ${this.label} dropped while '${shorten(command)}' was running. Its outcome is unknown: check the VM's state before retrying.`,
                  ),
                ),
              );
            } else {
              finish(() => resolve(result()));
            }
          }, 50);
        });
        if (opts.stdin !== undefined) ch.end(opts.stdin);
        else ch.end();
      });
    });
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.run(command, opts, false);
    delete r.stdoutBuf;
    return r;
  }

  async readFile(path: string, opts: { sudo?: boolean } = {}): Promise<Buffer> {
    if (!opts.sudo) {
      try {
        return await this.sftpRead(path);
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (e instanceof SshError) throw e;
        if (code === 2) throw new SshError('exec', `${path} does not exist on ${this.label}.`);
        // 3 = permission denied (etcdctl keys are root:vcap 0640); other failures: try sudo too.
        this.log(`ssh: sftp read of ${path} on ${this.label} failed (${(e as Error).message}); trying sudo cat`);
      }
    }
    const r = await this.run(`cat -- ${shellQuote(path)}`, { sudo: true, timeoutMs: 60_000 }, true);
    if (r.code !== 0) {
      throw new SshError(
        'exec',
        `Cannot read ${path} on ${this.label}: sudo cat exited ${r.code ?? r.signal}: ${r.stderr.trim()}. ` +
          `The SSH user needs passwordless sudo (Director-provisioned users have it).`,
      );
    }
    return r.stdoutBuf ?? Buffer.alloc(0);
  }

  private async sftpRead(path: string): Promise<Buffer> {
    const client = await this.ensure();
    return new Promise<Buffer>((resolve, reject) => {
      const op: PendingOp = { fail: (err) => reject(err) };
      this.pending.add(op);
      client.sftp((err, sftp) => {
        if (err) {
          this.pending.delete(op);
          return reject(err);
        }
        sftp.readFile(path, (e: Error | null | undefined, buf: Buffer) => {
          this.pending.delete(op);
          sftp.end();
          if (e) reject(e);
          else resolve(buf);
        });
      });
    });
  }

  async openStream(remoteHost: string, remotePort: number): Promise<Duplex> {
    const client = await this.ensure();
    await this.warmUp();
    return new Promise<Duplex>((resolve, reject) => {
      client.forwardOut('127.0.0.1', 0, remoteHost, remotePort, (err, ch) => {
        if (err) {
          return reject(
            new SshError(
              'forward',
              `${this.label} cannot open a connection to ${remoteHost}:${remotePort}: ${err.message}.`,
            ),
          );
        }
        ch.on('error', (e: Error) =>
          this.log(`ssh: tunnel ${remoteHost}:${remotePort} via ${this.label}: ${e.message}`),
        );
        resolve(ch);
      });
    });
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
    const client = await this.ensure();
    return new Promise<ShellChannel>((resolve, reject) => {
      client.shell(
        { cols: opts.cols, rows: opts.rows, term: opts.term ?? 'xterm-256color', height: 0, width: 0 },
        (err, ch) => {
          if (err) return reject(new SshError('exec', `Cannot open a shell on ${this.label}: ${err.message}.`));
          let exitCode: number | null = null;
          const dataCbs: ((d: string) => void)[] = [];
          const closeCbs: ((c: number | null) => void)[] = [];
          const dec = new StringDecoder('utf8');
          const edec = new StringDecoder('utf8');
          ch.on('data', (d: Buffer) => {
            const s = dec.write(d);
            if (s) dataCbs.forEach((cb) => cb(s));
          });
          ch.stderr.on('data', (d: Buffer) => {
            const s = edec.write(d);
            if (s) dataCbs.forEach((cb) => cb(s));
          });
          ch.on('exit', (c: number | null) => {
            exitCode = typeof c === 'number' ? c : null;
          });
          ch.on('error', (e: Error) => this.log(`ssh: shell on ${this.label}: ${e.message}`));
          ch.on('close', () => closeCbs.forEach((cb) => cb(exitCode)));
          resolve({
            write: (data) => {
              ch.write(data);
            },
            resize: (cols, rows) => {
              ch.setWindow(rows, cols, 0, 0);
            },
            onData: (cb) => {
              dataCbs.push(cb);
            },
            onClose: (cb) => {
              closeCbs.push(cb);
            },
            close: () => {
              ch.close();
            },
          });
        },
      );
    });
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

/**
 * A local TCP listener on 127.0.0.1:0 whose connections are piped to streams from `open`.
 * noDelay on the accepted sockets (Nagle costs ~45 ms per round trip otherwise); error handlers on
 * both sides (an unhandled EPIPE would crash the process).
 */
export async function listenForward(
  open: (host: string, port: number) => Promise<Duplex>,
  remoteHost: string,
  remotePort: number,
  log: (line: string) => void = () => undefined,
): Promise<PortForward> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (sock) => {
    sock.setNoDelay(true);
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.pause();
    open(remoteHost, remotePort).then(
      (st) => {
        if (sock.destroyed) {
          st.destroy();
          return;
        }
        st.on('error', (e: Error) => {
          log(`forward ${remoteHost}:${remotePort}: ${e.message}`);
          sock.destroy();
        });
        sock.on('error', () => st.destroy());
        sock.on('close', () => st.destroy());
        st.on('close', () => sock.destroy());
        sock.pipe(st).pipe(sock);
        sock.resume();
      },
      (e: Error) => {
        log(`forward ${remoteHost}:${remotePort}: ${e.message}`);
        sock.destroy();
      },
    );
  });
  server.on('error', (e) => log(`forward listener: ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const localPort = (server.address() as net.AddressInfo).port;
  return {
    localPort,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
