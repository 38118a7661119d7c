/**
 * The contract of CommandRunner.prepare (command-runner.ts), as node:test cases, for every runner that
 * implements it with real processes (NodeCommandRunner, SpawnerCommandRunner).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { waitFor } from '../../../lib/async.js';
import { isAbortError } from '../../../lib/errors.js';
import { PreparedExitedError, type CommandRunner } from '../command-runner.js';

/** The pid a test command wrote to `file` (`echo $$ > file`), once it is there. */
export function waitPid(file: string): Promise<number> {
  return waitFor(
    () => {
      try {
        const pid = Number(readFileSync(file, 'utf8').trim());
        return pid > 0 ? pid : undefined;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 10_000, what: `a pid in ${file}` },
  );
}

/** Whether a process exists (and has been reaped, if it was a child). */
export function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function waitGone(pid: number): Promise<boolean> {
  return waitFor(() => !exists(pid), { timeoutMs: 10_000, what: `process ${pid} to end` });
}

export function preparedContract(runner: CommandRunner & Required<Pick<CommandRunner, 'prepare'>>): void {
  const dir = mkdtempSync(join(tmpdir(), 'calts-prepared-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  let n = 0;
  const pidFile = (): string => join(dir, `pid-${n++}`);

  void it('a prepared command gets its input when run and reports its output and exit code; it runs once', async () => {
    const p = runner.prepare('sh', ['-c', 'read x; echo "got $x"; echo err >&2; exit 3']);
    assert.equal(p.alive, true);
    assert.deepEqual(await p.run('hi\n'), { code: 3, stdout: 'got hi\n', stderr: 'err\n' });
    assert.equal(p.alive, false);
    await assert.rejects(p.run('again\n'));
  });

  void it('a prepared command that ended before its input rejects with PreparedExitedError', async () => {
    const f = pidFile();
    const p = runner.prepare('sh', ['-c', `echo $$ > ${f}; exit 0`]);
    await waitGone(await waitPid(f));
    await assert.rejects(p.run('x\n'), (e: unknown) => e instanceof PreparedExitedError);
  });

  void it('dispose kills a prepared command that was not run', async () => {
    const f = pidFile();
    const p = runner.prepare('sh', ['-c', `echo $$ > ${f}; exec cat`]);
    const pid = await waitPid(f);
    p.dispose();
    assert.equal(p.alive, false);
    assert.ok(await waitGone(pid));
  });

  void it('timeout and abort apply from the run', async () => {
    const slow = runner.prepare('sh', ['-c', 'read x; exec sleep 30']);
    await assert.rejects(slow.run('x\n', { timeoutMs: 100 }), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'TimeoutError');
      return true;
    });
    const controller = new AbortController();
    const running = runner.prepare('sh', ['-c', 'read x; exec sleep 30']).run('x\n', {
      signal: controller.signal,
    });
    // Aborted a moment after the run started: while it runs (the subject), not a wait for anything.
    setTimeout(() => {
      controller.abort();
    }, 50);
    await assert.rejects(running, (e: unknown) => isAbortError(e));
  });
}
