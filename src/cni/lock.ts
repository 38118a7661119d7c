/**
 * Calico's host-wide IPAM lock (`ipam_lock_file`, default `/var/run/calico/ipam.lock`): an exclusive
 * `flock(2)` on the file, so it interoperates with any other holder of the same lock and the kernel drops it
 * when the holder dies, even by SIGKILL. Node has no flock binding, so the lock is held by a child process:
 * `flock -x -w <timeout> <file> cat`. `cat` starts only once the lock is ours and echoes a token to say so; it
 * exits when our end of its stdin closes, which happens on release or when this process dies for any reason.
 * This module talks to a long-lived interactive child, which the CommandRunner seam does not model.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CniCode, CniError } from './spec.js';

export interface HostLock extends AsyncDisposable {
  release(): Promise<void>;
}

const TOKEN = 'calico-ts-lock\n';

export async function acquireHostLock(path: string, timeoutMs: number): Promise<HostLock> {
  mkdirSync(dirname(path), { recursive: true });
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const child = spawn('flock', ['-x', '-w', String(seconds), path, 'cat'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number>((resolve) => {
    child.once('close', (code) => {
      resolve(code ?? 1);
    });
    child.once('error', () => {
      resolve(127);
    });
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  child.stdin.on('error', () => undefined);
  const acquired = new Promise<boolean>((resolve) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      if (out.includes(TOKEN)) resolve(true);
    });
    void exited.then(() => {
      resolve(false);
    });
  });
  child.stdin.write(TOKEN);
  if (!(await acquired)) {
    const code = await exited;
    throw new CniError(
      CniCode.tryAgainLater,
      `could not acquire the IPAM lock ${path}`,
      code === 1 ? `timed out after ${seconds} s` : `flock exited with ${code}: ${stderr.trim()}`,
    );
  }
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => {
    released ??= (async () => {
      child.stdin.end();
      await exited;
    })();
    return released;
  };
  return { release, [Symbol.asyncDispose]: release };
}
