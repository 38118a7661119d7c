/** Whether a process exists, by its id (signal 0: nothing is sent). */

/** True when `pid` names a live process, also one of another user (EPERM: it exists, we may not signal it). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
