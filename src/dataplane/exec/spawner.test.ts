import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { waitFor } from '../../lib/async.js';
import { isAbortError } from '../../lib/errors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpawnerCommandRunner } from './spawner.js';
import { preparedContract, waitGone, waitPid } from './testing/prepared-contract.js';

describe('spawner helper (CommandRunner through a small helper process)', () => {
  const runner = new SpawnerCommandRunner();
  after(() => runner.close());

  it('runs commands with stdin and reports stdout, stderr and the exit code', async () => {
    assert.deepEqual(await runner.run('cat', [], { stdin: 'a\nb\n' }), {
      code: 0,
      stdout: 'a\nb\n',
      stderr: '',
    });
    assert.deepEqual(await runner.run('sh', ['-c', 'echo out; echo err >&2; exit 3']), {
      code: 3,
      stdout: 'out\n',
      stderr: 'err\n',
    });
  });

  it('runs many at once, each answer to its own command', async () => {
    const outs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runner.run('sh', ['-c', `sleep 0.0${i % 5}; echo ${i}`])),
    );
    assert.deepEqual(
      outs.map((o) => o.stdout),
      Array.from({ length: 20 }, (_, i) => `${i}\n`),
    );
  });

  it('rejects a command that cannot start, on timeout and on abort', async () => {
    await assert.rejects(runner.run('/nonexistent/calts-no-such-tool', []));
    await assert.rejects(
      runner.run('sleep', ['5'], { timeoutMs: 50 }),
      (e: unknown) => e instanceof Error && e.name === 'TimeoutError',
    );
    const controller = new AbortController();
    const running = runner.run('sleep', ['5'], { signal: controller.signal });
    // Aborted a moment after the start: while it runs (the subject), not a wait for anything.
    setTimeout(() => {
      controller.abort();
    }, 50);
    await assert.rejects(running, (e: unknown) => isAbortError(e));
  });

  it('fails the commands in flight when the helper dies, and starts a new one for the next', async () => {
    const running = runner.run('sleep', ['5']);
    // The helper is this runner's only child running node; it is up once it runs the command.
    const helper = async (): Promise<number | undefined> => {
      const ps = await runner.run('pgrep', ['-P', String(process.pid), '-f', 'spawner-child']);
      const pid = Number(ps.stdout.trim().split('\n')[0]);
      if (!(pid > 0)) return undefined;
      const kids = await runner.run('pgrep', ['-P', String(pid), '-x', 'sleep']);
      return kids.stdout.trim() !== '' ? pid : undefined;
    };
    const pid = await waitFor(helper, { timeoutMs: 10_000, what: 'the spawner helper to run the command' });
    process.kill(pid, 'SIGKILL');
    await assert.rejects(running, /spawner helper exited/);
    assert.equal((await runner.run('echo', ['again'])).stdout, 'again\n');
  });

  describe('prepare', () => {
    preparedContract(runner);
  });

  it('close disposes the prepared commands that were not run, and the helper exits', async () => {
    const own = new SpawnerCommandRunner();
    const dir = mkdtempSync(join(tmpdir(), 'calts-spawner-close-'));
    try {
      own.prepare('sh', ['-c', `echo $$ > ${dir}/pid; exec cat`]);
      const pid = await waitPid(join(dir, 'pid'));
      await own.close();
      assert.ok(await waitGone(pid));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
