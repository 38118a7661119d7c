/**
 * Unix sockets only their owner may connect to (connecting needs write permission on the socket file).
 * `listen(2)` creates the file with the umask's leave, and `chmod` can only follow it, so the socket is
 * bound inside a fresh 0700 directory next to its path (nobody else can reach it there), set to its mode,
 * and renamed into place: there is no moment at which another user could connect, whatever the umask.
 */
import { chmodSync, lstatSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { CalicoError } from '../lib/errors.js';
import { PRIVATE_FILE_MODE, ensureDirSync, type ModeReporter } from './files.js';

export interface UnixSocketOptions {
  /** Default 0600. */
  readonly mode?: number;
  /** Reports a world-writable socket directory that was narrowed. */
  readonly report?: ModeReporter;
}

/**
 * Makes `server` listen on `path` with exactly the socket mode; an old socket at `path` is replaced, any
 * other kind of file there is refused. Returns the socket's inode (to remove only our own socket later).
 */
export async function listenUnixSocket(
  server: Server,
  path: string,
  opts: UnixSocketOptions = {},
): Promise<number> {
  const dir = dirname(path);
  ensureDirSync(dir, opts.report === undefined ? {} : { report: opts.report });
  try {
    if (!lstatSync(path).isSocket())
      throw new CalicoError('CALICO_ERR_IO', `${path} exists and is not a socket; not replacing it`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // mkdtemp creates the directory 0700 (or stricter), and under a name nobody can predict.
  const privateDir = mkdtempSync(join(dir, `.${basename(path).slice(0, 8)}.`));
  const tmp = join(privateDir, 's');
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(tmp, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(tmp, opts.mode ?? PRIVATE_FILE_MODE);
    renameSync(tmp, path);
    return lstatSync(path).ino;
  } catch (e) {
    if (server.listening) server.close();
    throw e;
  } finally {
    rmSync(privateDir, { recursive: true, force: true });
  }
}
