/**
 * A TCP forwarder on a fixed loopback port that can be closed and opened again: the server behind it (a Git
 * daemon, an API server) "goes away" and comes back at the same address, as after a network outage.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A forwarder from 127.0.0.1:`port` to 127.0.0.1:`target`. */
export interface TcpProxy {
  port: number;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
  /** Listens again on the same port. */
  open(): Promise<void>;
}

/** Starts forwarding 127.0.0.1:`port` to 127.0.0.1:`target`; resolves once listening. */
export async function tcpProxy(port: number, target: number): Promise<TcpProxy> {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const open = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(target, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  await open();
  return {
    port,
    open,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server?.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
