/**
 * How each calico-lab command reaches the lab in its run dir: where the run dir is, the hints printed to the
 * user (spelled with `--run-dir` whenever a bare `calico-lab` would look elsewhere), and attaching.
 *
 * Commands that only look (`probe`, `status`, `env`, `exec`, `sync`, `logs`) attach and never write the lab
 * state back. Commands that change the lab (`up`, `down`, `pod`, `agent`) hold `<run dir>/lab.lock`, an
 * exclusive flock (cni/lock.ts, dropped by the kernel if the holder dies), while they run, and read the state
 * only once they hold it: two changes never interleave, so neither loses the other's update.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { acquireHostLock, type HostLock } from '../cni/lock.js';
import { CniCode, CniError } from '../cni/spec.js';
import { CalicoError, errorMessage } from '../lib/errors.js';
import { LabCluster } from '../labkit/cluster.js';
import { statePath } from '../labkit/state.js';
import { PRIVATE_DIR_MODE, ensureDirSync } from '../sys/files.js';

export const LOCK_FILE = 'lab.lock';
/** How long a changing command waits for another one to finish. */
const LOCK_WAIT_MS = 600_000;

/** The run dir of a bare `calico-lab`: $CALICO_LAB_DIR, else `<tmp>/calico-lab`. */
export function defaultRunDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.CALICO_LAB_DIR;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(tmpdir(), 'calico-lab');
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The calico-lab command line a hint tells the user to run: `calico-lab env`, or `calico-lab --run-dir DIR
 * env` when the lab is not where a bare `calico-lab` looks (or would look without $CALICO_LAB_DIR, which a
 * fresh shell may not have).
 */
export function labCommand(
  runDir: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): string {
  const builtin = join(tmpdir(), 'calico-lab');
  const bare = resolve(runDir) === resolve(defaultRunDir(env)) && resolve(runDir) === resolve(builtin);
  return ['calico-lab', ...(bare ? [] : ['--run-dir', shellWord(runDir)]), ...args.map(shellWord)].join(' ');
}

/** The lab in `runDir`, attached; a usage error with the `up` hint when there is none. */
export async function attachLab(runDir: string): Promise<LabCluster> {
  if (!existsSync(statePath(runDir)))
    throw new CalicoError(
      'CALICO_ERR_USAGE',
      `no lab in ${runDir} (create one with: ${labCommand(runDir, ['up'])})`,
    );
  return LabCluster.attach(runDir);
}

/** Runs `fn` on the attached lab and detaches (without writing the state: see the module comment). */
export async function withLab<T>(runDir: string, fn: (lab: LabCluster) => Promise<T>): Promise<T> {
  const lab = await attachLab(runDir);
  try {
    return await fn(lab);
  } finally {
    await lab.detach();
  }
}

/**
 * Holds the run dir's lock (creating the run dir when `create`) while `fn` runs; says so when another
 * command holds it first.
 */
export async function withLabLock<T>(
  runDir: string,
  say: (line: string) => void,
  fn: () => Promise<T>,
  options: { readonly create?: boolean } = {},
): Promise<T> {
  if (options.create === true) ensureDirSync(runDir, { mode: PRIVATE_DIR_MODE });
  else if (!existsSync(runDir)) return fn();
  const lock = await lockLab(join(runDir, LOCK_FILE), say);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

async function lockLab(path: string, say: (line: string) => void): Promise<HostLock> {
  const busy = (e: unknown): boolean => e instanceof CniError && e.cniCode === CniCode.tryAgainLater;
  try {
    return await acquireHostLock(path, 1000);
  } catch (e) {
    if (!busy(e)) throw new CalicoError('CALICO_ERR_IO', `cannot lock ${path}: ${errorMessage(e)}`);
  }
  say(`waiting for another calico-lab command that is changing the lab (it holds ${path})`);
  try {
    return await acquireHostLock(path, LOCK_WAIT_MS);
  } catch (e) {
    throw new CalicoError(
      'CALICO_ERR_IO',
      busy(e)
        ? `another calico-lab command still holds ${path} after ${LOCK_WAIT_MS / 1000} s`
        : `cannot lock ${path}: ${errorMessage(e)}`,
    );
  }
}
