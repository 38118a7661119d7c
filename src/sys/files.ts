/**
 * How calico-ts creates files and directories: with explicit modes that hold whatever the process umask is
 * (the umask only removes bits, so every creation names its mode, and what we own is `chmod`ed to exactly
 * that mode right after it is created), never following a planted symlink into a private file, and never
 * leaving a directory it uses world-writable. The modes (docs/DESIGN.md, "Files, sockets, directories"):
 *
 *   directories                    0755 (0700 where private: the lab's run directory)
 *   status files, configs          0644 (the agent's status.json and endpoint-status files, BIRD config)
 *   database, journals, locks, logs 0600 (SQLite file and -wal/-shm/-journal, ipam.lock, the CNI log)
 *   sockets                        0600 (src/sys/unix-socket.ts)
 *
 * A directory that already exists keeps its mode, except that a world-writable one without the sticky bit
 * (where anyone could replace our files, e.g. one created by an older build under umask 000) loses o+w and
 * the change is reported; sticky shared directories such as /tmp are left alone, and so are the ancestors.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CalicoError } from '../lib/errors.js';

export const DIR_MODE = 0o755;
export const PRIVATE_DIR_MODE = 0o700;
export const FILE_MODE = 0o644;
export const PRIVATE_FILE_MODE = 0o600;
export const EXECUTABLE_MODE = 0o755;

/** A mode calico-ts narrowed on something that existed before it. */
export interface ModeChange {
  readonly path: string;
  readonly from: number;
  readonly to: number;
  readonly reason: string;
}

/** Where mode changes are reported; the default is a process warning on stderr. */
export type ModeReporter = (change: ModeChange) => void;

export function describeModeChange(c: ModeChange): string {
  return `${c.path}: mode ${octal(c.from)} -> ${octal(c.to)} (${c.reason})`;
}

export const warnOnStderr: ModeReporter = (c) => {
  process.emitWarning(describeModeChange(c), { code: 'CALICO_MODE_FIXED' });
};

export function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}

export interface DirOptions {
  /** The directory's own mode (default 0755); parents it creates get 0755. */
  readonly mode?: number;
  readonly report?: ModeReporter;
}

function ioError(what: string, path: string, e: unknown): CalicoError {
  const msg = e instanceof Error ? e.message : String(e);
  return new CalicoError('CALICO_ERR_IO', `cannot ${what} ${path}: ${msg}`, { cause: e });
}

/**
 * Makes sure `dir` exists as a directory: created (with missing parents) with exactly its mode whatever
 * the umask; an existing one loses a non-sticky world-writable bit (reported).
 */
export function ensureDirSync(dir: string, opts: DirOptions = {}): void {
  const path = resolve(dir);
  const mode = opts.mode ?? DIR_MODE;
  let first: string | undefined;
  try {
    first = mkdirSync(path, { recursive: true, mode });
  } catch (e) {
    throw ioError('create directory', path, e);
  }
  if (first !== undefined) {
    // mkdir applied the umask to every directory it made: set each one's mode exactly, deepest first.
    for (let p = path; p.length >= first.length; p = dirname(p)) {
      chmodSync(p, p === path ? mode : DIR_MODE);
      if (p === first) break;
    }
    return;
  }
  const st = statSync(path);
  if (!st.isDirectory()) throw ioError('use directory', path, new Error('not a directory'));
  const current = st.mode & 0o7777;
  if ((current & 0o002) !== 0 && (current & 0o1000) === 0) {
    const to = current & ~0o002;
    chmodSync(path, to);
    (opts.report ?? warnOnStderr)({ path, from: current, to, reason: 'was world-writable' });
  }
}

export interface PrivateFileOptions {
  /** Default 0600. */
  readonly mode?: number;
  /** Follow a symlink at `path` (default: refuse it; the datastore file may be a symlink). */
  readonly followSymlinks?: boolean;
  readonly report?: ModeReporter;
}

/**
 * Makes sure the regular file `path` exists with no more than its mode: created empty with exactly the mode
 * whatever the umask; an existing one with wider bits is narrowed (reported). Its directory must exist.
 */
export function ensurePrivateFileSync(path: string, opts: PrivateFileOptions = {}): void {
  const mode = opts.mode ?? PRIVATE_FILE_MODE;
  const nofollow = opts.followSymlinks === true ? 0 : constants.O_NOFOLLOW;
  let fd: number;
  let created = true;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_CREAT | constants.O_EXCL | nofollow, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('create', path, e);
    created = false;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | nofollow);
    } catch (e2) {
      const symlink = (e2 as NodeJS.ErrnoException).code === 'ELOOP';
      throw ioError('open', path, symlink ? new Error('it is a symbolic link; refusing to follow it') : e2);
    }
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw ioError('use', path, new Error('not a regular file'));
    narrowFd(fd, path, st.mode & 0o7777, mode, created, opts.report);
  } finally {
    closeSync(fd);
  }
}

function narrowFd(
  fd: number,
  path: string,
  current: number,
  mode: number,
  created: boolean,
  report: ModeReporter | undefined,
): void {
  if (created) {
    if (current !== mode) fchmodSync(fd, mode);
    return;
  }
  const to = current & mode;
  if (to === current) return;
  fchmodSync(fd, to);
  (report ?? warnOnStderr)({ path, from: current, to, reason: `allowed more than ${octal(mode)}` });
}

/** Narrows an existing file to at most `mode` (reported); a missing file is fine. Symlinks are followed. */
export function narrowModeSync(path: string, mode: number, report?: ModeReporter): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError('open', path, e);
  }
  try {
    narrowFd(fd, path, fstatSync(fd).mode & 0o7777, mode, false, report);
  } finally {
    closeSync(fd);
  }
}

export interface AtomicWriteOptions {
  readonly mode: number;
  /** Mode of the directory when it must be created (default 0755). */
  readonly dirMode?: number;
  readonly report?: ModeReporter;
}

/** A temporary name next to `path` no earlier process left behind (pids repeat, e.g. pid 1 in a container). */
function tmpName(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Replaces `path` atomically (a reader sees the old or the new content, never half a file) by a file with
 * exactly `mode`; the directory is created when missing (`ensureDirSync`).
 */
export function writeFileAtomicSync(path: string, data: string, opts: AtomicWriteOptions): void {
  ensureDirSync(dirname(path), {
    ...(opts.dirMode === undefined ? {} : { mode: opts.dirMode }),
    ...(opts.report === undefined ? {} : { report: opts.report }),
  });
  const tmp = tmpName(path);
  try {
    const fd = openSync(tmp, CREATE_NEW, opts.mode);
    try {
      fchmodSync(fd, opts.mode);
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw ioError('write', path, e);
  }
}

/** `writeFileAtomicSync` without blocking the event loop on the write (the directory must exist). */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = tmpName(path);
  try {
    const fh = await open(tmp, CREATE_NEW, mode);
    try {
      await fh.chmod(mode);
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw ioError('write', path, e);
  }
}
