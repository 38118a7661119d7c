/**
 * Which paths the embedded store may open. SQLite opens whatever it is given: on a FIFO the open blocks for
 * ever, on a device or under /proc or /sys it reads or writes something that is not a database. So before
 * anything is created or opened, the path (after following symbolic links) must be a regular file or not
 * exist yet, its SQLite companions (`-wal`, `-shm`, `-journal`) likewise, and it must not lie under /proc or
 * /sys. A refusal is a ValidationError naming the path and what it is.
 */
import { existsSync, lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ValidationError } from '../../lib/errors.js';

const PSEUDO_FILESYSTEMS = ['/proc', '/sys'];
const COMPANIONS = ['-wal', '-shm', '-journal'];

function what(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function refuse(path: string, message: string): ValidationError {
  return new ValidationError([
    {
      path: 'datastorePath',
      message: `${path}: ${message}; the embedded datastore needs a regular file (CALICO_DATASTORE_PATH)`,
    },
  ]);
}

/** The real location of `path`: symbolic links of its longest existing prefix resolved. */
function realLocation(path: string): string {
  const rest: string[] = [];
  let dir = resolve(path);
  for (let i = 0; i < 4096 && !existsSync(dir); i++) {
    const parent = dirname(dir);
    if (parent === dir) break;
    rest.unshift(basename(dir));
    dir = parent;
  }
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    // A dangling link or no permission: judge the path as written.
  }
  return rest.length === 0 ? real : join(real, ...rest);
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function underPseudoFilesystem(real: string): string | undefined {
  return PSEUDO_FILESYSTEMS.find((root) => real === root || real.startsWith(`${root}${sep}`));
}

/** Throws ValidationError unless `path` is a place for the embedded database (see the module comment). */
export function checkDatastorePath(path: string): void {
  if (path === ':memory:') return;
  if (path === '') throw refuse('(empty)', 'no path given');
  const real = realLocation(path);
  const pseudo = underPseudoFilesystem(real);
  if (pseudo !== undefined) {
    const shown = real === resolve(path) ? path : `${path} (${real})`;
    throw refuse(shown, `is under ${pseudo}, a kernel pseudo-filesystem`);
  }
  for (const candidate of [path, ...COMPANIONS.map((suffix) => `${path}${suffix}`)]) {
    let st: Stats;
    try {
      st = statSync(candidate);
    } catch {
      // Absent, or a symbolic link to nothing, through which SQLite would create a file somewhere else.
      if (isLink(candidate)) throw refuse(candidate, 'is a symbolic link to nothing');
      continue;
    }
    const kind = what(st);
    if (kind !== undefined) throw refuse(candidate, `is ${kind}`);
  }
}
