/**
 * One calico-node (Felix) per network namespace: two agents in one namespace would both program
 * `table inet calico` and undo each other's work. Before anything touches the host, a long-running agent
 * binds the abstract unix socket `@calico-ts/calico-node`. Abstract socket names belong to the network
 * namespace (Linux), and the name is released when the process ends however it ends (SIGKILL included), so
 * there is no stale lock to clean up and agents in other namespaces (other nodes of a lab) never collide.
 *
 * The holder answers every connection with its pid; a second agent that finds the name taken connects, reads
 * the pid and fails with an error that names it. If the holder vanished in between, binding is tried again
 * (bounded). The socket is unref'ed: it never keeps the process alive.
 */
import { connect, createServer, type Server } from 'node:net';
import { CalicoError, errorMessage } from '../lib/errors.js';

/** The abstract socket name (a leading NUL byte: no file). */
export const INSTANCE_SOCKET = '\0calico-ts/calico-node';

const ATTEMPTS = 5;
const ASK_TIMEOUT_MS = 2000;

/** Another agent holds the network namespace. */
export class AlreadyRunningError extends CalicoError {
  readonly pid: number | undefined;
  constructor(pid: number | undefined) {
    const who = pid === undefined ? 'another calico-node' : `another calico-node (pid ${pid})`;
    super('CALICO_ERR_USAGE', `${who} is already running in this network namespace; only one may program it`);
    this.pid = pid;
  }
}

export interface InstanceGuard {
  release(): Promise<void>;
}

function listen(name: string, pid: number): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end(`${pid}\n`);
    });
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') resolve(undefined);
      else reject(e);
    });
    server.listen({ path: name }, () => {
      server.unref();
      resolve(server);
    });
  });
}

/** The holder's pid; undefined when it answers nothing useful; null when nobody listens any more. */
function askHolder(name: string): Promise<number | undefined | null> {
  return new Promise((resolve) => {
    let text = '';
    const sock = connect({ path: name });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(undefined);
    }, ASK_TIMEOUT_MS);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (text += d));
    sock.on('end', () => {
      clearTimeout(timer);
      const pid = Number(text.trim());
      resolve(Number.isInteger(pid) && pid > 0 ? pid : undefined);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? null : undefined);
    });
  });
}

/** Takes the network namespace for this process, or throws AlreadyRunningError. */
export async function acquireInstanceGuard(
  name = INSTANCE_SOCKET,
  pid = process.pid,
): Promise<InstanceGuard> {
  for (let attempt = 1; ; attempt++) {
    let server: Server | undefined;
    try {
      server = await listen(name, pid);
    } catch (e) {
      throw new CalicoError('CALICO_ERR_IO', `cannot bind the instance socket: ${errorMessage(e)}`);
    }
    if (server !== undefined) {
      const s = server;
      return {
        release: () =>
          new Promise((resolve) => {
            s.close(() => {
              resolve();
            });
          }),
      };
    }
    const holder = await askHolder(name);
    // null: the holder went away between our bind and our question; bind again.
    if (holder !== null || attempt >= ATTEMPTS) throw new AlreadyRunningError(holder ?? undefined);
  }
}
