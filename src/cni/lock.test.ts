import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sleep, waitFor } from '../lib/async.js';
import { HostLockQueue, acquireHostLock } from './lock.js';
import { fileLogger } from './log.js';
import { CniCode, CniError } from './spec.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-lock-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const noFlock = existsSync('/usr/bin/flock') ? false : 'flock(1) not installed (util-linux)';

/** How many `flock` processes (holding or waiting) there are for the lock file `path`. */
function flockProcesses(path: string): number {
  return readdirSync('/proc').filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      return argv[0] === 'flock' && argv.includes(path);
    } catch {
      return false; // gone meanwhile
    }
  }).length;
}

describe('host IPAM lock', { skip: noFlock }, () => {
  it('is exclusive: a second holder waits for the first to release', async () => {
    const path = join(dir, 'sub', 'ipam.lock');
    const first = await acquireHostLock(path, 5000);
    const order: string[] = [];
    const second = acquireHostLock(path, 5000).then((l) => {
      order.push('second acquired');
      return l;
    });
    await waitFor(() => flockProcesses(path) >= 2, { timeoutMs: 5000, what: "the second holder's flock" });
    // The observation window (the subject, not a wait): an exclusive lock lets nobody in during it.
    await sleep(200);
    order.push('first releasing');
    await first.release();
    await (await second).release();
    assert.deepEqual(order, ['first releasing', 'second acquired']);
  });

  it('times out with "try again later" (code 11)', async () => {
    const path = join(dir, 'busy.lock');
    const held = await acquireHostLock(path, 5000);
    await assert.rejects(
      acquireHostLock(path, 1000),
      (e: unknown) => e instanceof CniError && e.cniCode === CniCode.tryAgainLater,
    );
    await held.release();
  });

  it('is released when the process holding it is SIGKILLed', async () => {
    const path = join(dir, 'killed.lock');
    // A child process takes the lock through acquireHostLock and is killed while holding it.
    const lockModule = new URL(import.meta.url.endsWith('.ts') ? './lock.ts' : './lock.js', import.meta.url)
      .href;
    const loader = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const script = `const { acquireHostLock } = await import(${JSON.stringify(lockModule)});
await acquireHostLock(${JSON.stringify(path)}, 5000); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, [...loader, '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) =>
      holder.stdout.once('data', () => {
        resolve();
      }),
    );
    await assert.rejects(acquireHostLock(path, 1000));
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const lock = await acquireHostLock(path, 5000);
    await lock.release();
  });
});

describe('in-process IPAM lock queue (the agent)', { skip: noFlock }, () => {
  /** A holder's work while it holds the lock (not a wait). */
  const tick = (ms: number): Promise<void> => sleep(ms);

  it('serialises holders in the process, in arrival order', async () => {
    const q = new HostLockQueue();
    const path = join(dir, 'queue.lock');
    const events: string[] = [];
    let holders = 0;
    await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) => {
        const lock = await q.acquire(path, 5000);
        holders++;
        events.push(`in ${i} (${holders})`);
        await tick(5);
        holders--;
        await lock.release();
      }),
    );
    assert.deepEqual(events, ['in 0 (1)', 'in 1 (1)', 'in 2 (1)', 'in 3 (1)', 'in 4 (1)']);
  });

  it('holds the lock file against other processes, and lets them in between streaks', async () => {
    const q = new HostLockQueue();
    const path = join(dir, 'shared.lock');
    const first = await q.acquire(path, 5000);
    // Another holder of the file (a standalone plugin) waits while the queue holds it.
    await assert.rejects(acquireHostLock(path, 1000), (e: unknown) => e instanceof CniError);
    const order: string[] = [];
    const queued = Array.from({ length: 20 }, (_, i) =>
      q.acquire(path, 30_000).then(async (l) => {
        order.push(`queue ${i}`);
        await tick(2);
        await l.release();
      }),
    );
    const outsider = acquireHostLock(path, 30_000).then(async (l) => {
      order.push('outsider');
      await l.release();
    });
    // The queue's flock and the outsider's, blocked on it.
    await waitFor(() => flockProcesses(path) >= 2, { timeoutMs: 5000, what: "the outsider's flock" });
    await first.release();
    await Promise.all([...queued, outsider]);
    const at = order.indexOf('outsider');
    assert.ok(at > 0 && at < 20, `the other process got the lock between streaks: ${order.join(', ')}`);
  });

  it('times out in the queue with "try again later" (code 11)', async () => {
    const q = new HostLockQueue();
    const path = join(dir, 'queue-timeout.lock');
    const held = await q.acquire(path, 5000);
    await assert.rejects(
      q.acquire(path, 300),
      (e: unknown) => e instanceof CniError && e.cniCode === CniCode.tryAgainLater,
    );
    await held.release();
    // The queue is usable again after a timeout and a release.
    await (await q.acquire(path, 5000)).release();
  });
});

describe('plugin log file', () => {
  it('appends lines with level, pid and fields, and rotates past the size limit', () => {
    const path = join(dir, 'log', 'cni.log');
    const log = fileLogger({ path, level: 'info', maxSizeMb: 0.0001, maxCount: 2, program: 'calico' });
    log.debug('hidden');
    log.child({ containerID: 'c1' }).info('hello', { ms: 5 });
    const text = readFileSync(path, 'utf8');
    assert.match(text, new RegExp(`\\[INFO\\]\\[${process.pid}\\] calico: hello containerID=c1 ms=5`));
    assert.doesNotMatch(text, /hidden/);
    writeFileSync(path, 'x'.repeat(200));
    fileLogger({ path, level: 'info', maxSizeMb: 0.0001, maxCount: 2, program: 'calico' }).info(
      'after rotation',
    );
    assert.equal(readFileSync(`${path}.1`, 'utf8'), 'x'.repeat(200));
    assert.match(readFileSync(path, 'utf8'), /after rotation/);
  });
});
