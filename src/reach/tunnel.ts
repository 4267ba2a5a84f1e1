// Local port forwarding (`ssh -L`): a listener on 127.0.0.1 of this machine whose
// every connection becomes an SSH channel to host:port as the server sees it, so
// pg, pg_dump, psql and pg_restore reach a database that is not exposed.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../util/logger.js';
import type { SshSession } from './ssh-session.js';

export interface Tunnel {
  /** The local port; connect to 127.0.0.1 on it. */
  port: number;
  close(): Promise<void>;
}

export async function openTunnel(session: SshSession, host: string, port: number, logger: Logger): Promise<Tunnel> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.pause();
    session.forward(host, port).then(
      (channel) => {
        channel.on('error', () => socket.destroy());
        // A channel that ends takes its socket down, and the other way round: the client sees the drop.
        channel.on('close', () => socket.destroy());
        socket.on('close', () => channel.close());
        socket.pipe(channel).pipe(socket);
        socket.resume();
      },
      (error: Error) => {
        logger.debug(`tunnel: ${error.message}`);
        socket.destroy();
      },
    );
  });
  // A lost SSH connection takes every tunnelled socket down at once, so no client waits on a dead link.
  session.on('lost', () => {
    for (const s of sockets) s.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const localPort = typeof address === 'object' && address ? address.port : 0;
  return {
    port: localPort,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
