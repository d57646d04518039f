/**
 * A TCP proxy on 127.0.0.1 that holds every chunk for a fixed time in each direction, so a bench
 * can put a network's round trip between an instance and its database or token issuer (Cloud SQL
 * and Google's certificate endpoint are milliseconds away, loopback is microseconds). Order within a
 * connection is kept: a chunk leaves no earlier than the one before it.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface LatencyProxy {
  readonly port: number;
  close(): Promise<void>;
}

function delayed(from: net.Socket, to: net.Socket, delayMs: number): void {
  let lastDue = 0;
  from.on('data', (chunk) => {
    const due = Math.max(Date.now() + delayMs, lastDue);
    lastDue = due;
    setTimeout(() => to.write(chunk), due - Date.now());
  });
  from.on('end', () => setTimeout(() => to.end(), Math.max(0, lastDue - Date.now())));
  from.on('error', () => to.destroy());
}

export async function startLatencyProxy(targetPort: number, oneWayDelayMs: number): Promise<LatencyProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    delayed(client, upstream, oneWayDelayMs);
    delayed(upstream, client, oneWayDelayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
