/**
 * Test helper: a TCP proxy on loopback in front of a test etcd that can be frozen, to make a hung connection
 * (the peer neither answers nor closes, as when etcd is stopped with SIGSTOP or a network path drops
 * packets). While frozen, bytes from either side of any connection (new ones included) are held back, and
 * delivered in order when thawed.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface FreezableProxy {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startFreezableProxy(target: string): Promise<FreezableProxy> {
  const url = new URL(target);
  const sockets = new Set<Socket>();
  /** Bytes received while frozen, in order, with where they go: delivered on thaw. */
  let held: [Socket, Buffer][] | undefined;
  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (held !== undefined) held.push([to, chunk]);
      else to.write(chunk);
    });
    from.on('close', () => to.destroy());
    from.on('error', () => from.destroy());
  };
  const server = createServer((client) => {
    const upstream = connect(Number(url.port), url.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    freeze: () => {
      held ??= [];
    },
    thaw: () => {
      const queued = held ?? [];
      held = undefined;
      for (const [to, chunk] of queued) if (!to.destroyed) to.write(chunk);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
