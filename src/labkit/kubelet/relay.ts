/**
 * The API server relay into a node's namespace. The control plane listens on 127.0.0.1 of the root namespace;
 * a program inside a node namespace (the `calico` CNI plugin the kubelet runs there) has its own loopback and
 * cannot reach it. The relay joins them through the filesystem, touching no network configuration:
 *
 *   node ns: 127.0.0.1:<API port>  --(api-relay.js, run with ip netns exec)-->  <dir>/api.sock
 *   root ns: <dir>/api.sock         --(this process)-->                         127.0.0.1:<API port>
 *
 * The node side listens on the API server's own port, so the admin kubeconfig (https://127.0.0.1:<port>,
 * whose certificate names 127.0.0.1) works unchanged inside the node namespace. Bytes are piped as they come
 * (TLS end to end); either end closing closes the other.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { listenUnixSocket } from '../../sys/unix-socket.js';

export type RelayTarget =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

function dial(t: RelayTarget): Socket {
  return t.kind === 'tcp' ? connect({ host: t.host, port: t.port }) : connect({ path: t.path });
}

/** Accepts on `server` and pipes each connection to a new connection to `to`. */
function pipeTo(server: Server, to: RelayTarget): void {
  server.on('connection', (client) => {
    const upstream = dial(to);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
}

/** The root namespace's end: a 0600 unix socket at `path` relayed to `to`. Close the server to stop. */
export async function serveUnixRelay(path: string, to: RelayTarget): Promise<Server> {
  const server = createServer();
  pipeTo(server, to);
  await listenUnixSocket(server, path);
  return server;
}

/** The node namespace's end: TCP on `host:port` relayed to `to`; resolves once listening. */
export function serveTcpRelay(host: string, port: number, to: RelayTarget): Promise<Server> {
  const server = createServer();
  pipeTo(server, to);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
