import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../lib/async.js';
import { acquireInstanceGuard, AlreadyRunningError } from './instance-guard.js';

const unique = (): string => `\0calico-ts-test/${randomBytes(8).toString('hex')}`;

describe('single-instance guard', () => {
  it('lets one holder in, names it to the next, and frees the name on release', async () => {
    const name = unique();
    const first = await acquireInstanceGuard(name, 4242);
    await assert.rejects(
      acquireInstanceGuard(name),
      (e: unknown) =>
        e instanceof AlreadyRunningError &&
        e.pid === 4242 &&
        /another calico-node \(pid 4242\) is already running in this network namespace/.test(e.message),
    );
    await first.release();
    const again = await acquireInstanceGuard(name);
    await again.release();
  });

  it('is free again as soon as the holding process is killed (no stale lock)', async () => {
    const name = unique();
    const guard = fileURLToPath(new URL('./instance-guard.js', import.meta.url));
    const script =
      `const { acquireInstanceGuard } = await import(${JSON.stringify(guard)});` +
      `await acquireInstanceGuard(${JSON.stringify(name)});` +
      `process.stdout.write('held\\n'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('held'), { timeoutMs: 10_000, what: 'the child to hold the name' });
      await assert.rejects(
        acquireInstanceGuard(name),
        (e: unknown) => e instanceof AlreadyRunningError && e.pid === child.pid,
      );
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    const mine = await acquireInstanceGuard(name);
    await mine.release();
  });
});
