/** Listening and closing for the agent's small HTTP servers (health 9099, metrics 9091). */
import type { Server } from 'node:http';

/** Resolves once listening; rejects (e.g. EADDRINUSE) without leaving the server half-open. */
export function listen(server: Server, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error): void => {
      server.close();
      reject(e);
    };
    server.once('error', fail);
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', fail);
      resolve(server);
    });
  });
}

/** Stops listening and ends idle keep-alive connections; resolves when closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeIdleConnections();
  });
}
