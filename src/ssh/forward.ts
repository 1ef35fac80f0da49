// Tunnels through an SSH connection: a raw stream to host:port as seen from the VM (direct-tcpip),
// and a local listener on 127.0.0.1 that pipes each accepted socket into such a stream (how the
// etcd client reaches members' client ports). Plain Node, no `vscode`.
import * as net from 'net';
import type { Duplex } from 'stream';
import type { Client } from 'ssh2';
import { PortForward, SshError } from './types';
import type { ChannelContext } from './exec';

export function openTunnelStream(
  ctx: ChannelContext,
  client: Client,
  remoteHost: string,
  remotePort: number,
): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, remoteHost, remotePort, (err, ch) => {
      if (err) {
        return reject(
          new SshError(
            'forward',
            `${ctx.label} cannot open a connection to ${remoteHost}:${remotePort}: ${err.message}.`,
          ),
        );
      }
      ch.on('error', (e: Error) => ctx.log(`ssh: tunnel ${remoteHost}:${remotePort} via ${ctx.label}: ${e.message}`));
      resolve(ch);
    });
  });
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
