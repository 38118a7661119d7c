import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CalicoError, isAbortError } from '../../lib/errors.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../lib/async.js';
import { NodeCommandRunner } from './node-runner.js';
import { preparedContract, waitGone, waitPid } from './testing/prepared-contract.js';

describe('NodeCommandRunner', () => {
  const runner = new NodeCommandRunner();

  test('collects stdout and feeds stdin without a shell', async () => {
    const r = await runner.run('cat', [], { stdin: 'héllo $HOME; `x`\n' });
    assert.deepEqual(r, { stdout: 'héllo $HOME; `x`\n', stderr: '', code: 0 });
  });

  test('passes arguments verbatim', async () => {
    const r = await runner.run('printf', ['%s|', 'a b', '$(echo no)', "'q'"]);
    assert.equal(r.stdout, "a b|$(echo no)|'q'|");
  });

  test('reports a non-zero exit code instead of throwing', async () => {
    const r = await runner.run('ls', ['/nonexistent-calts-path']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /nonexistent-calts-path/);
  });

  test('a child that ignores its stdin still resolves', async () => {
    const r = await runner.run('true', [], { stdin: 'x'.repeat(1 << 20) });
    assert.equal(r.code, 0);
  });

  test('rejects with a CalicoError when the command cannot be started', async () => {
    await assert.rejects(runner.run('/nonexistent/calts-binary', []), (e: unknown) => {
      assert.ok(e instanceof CalicoError);
      assert.equal(e.code, 'CALICO_ERR_IO');
      return true;
    });
  });

  test('abort kills the child and rejects with an abort error', async () => {
    const ac = new AbortController();
    const p = runner.run('sleep', ['30'], { signal: ac.signal });
    // Aborted a moment after the start: while it runs (the subject), not a wait for anything.
    setTimeout(() => {
      ac.abort();
    }, 50);
    await assert.rejects(p, (e: unknown) => isAbortError(e));
  });

  test('an already aborted signal rejects without starting anything', async () => {
    await assert.rejects(runner.run('sleep', ['30'], { signal: AbortSignal.abort() }), (e: unknown) =>
      isAbortError(e),
    );
  });

  test('timeout kills the child and rejects with a TimeoutError', async () => {
    await assert.rejects(runner.run('sleep', ['30'], { timeoutMs: 50 }), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'TimeoutError');
      return true;
    });
  });

  test('extra environment variables reach the child', async () => {
    const r = await new NodeCommandRunner({ env: { CALTS_X: 'y' } }).run('printenv', ['CALTS_X']);
    assert.equal(r.stdout, 'y\n');
  });
});

describe('NodeCommandRunner.prepare', () => {
  preparedContract(new NodeCommandRunner());

  test('a command waiting for its input does not keep the process alive; it reads end-of-file when it exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calts-prepared-exit-'));
    try {
      const runnerModule = new URL('./node-runner.js', import.meta.url).href;
      const code = `import(${JSON.stringify(runnerModule)}).then((m) => { new m.NodeCommandRunner().prepare('sh', ['-c', 'echo $$ > ${dir}/pid; cat > /dev/null; echo eof > ${dir}/done']); })`;
      const owner = await new NodeCommandRunner().run(process.execPath, ['-e', code], { timeoutMs: 20_000 });
      assert.equal(owner.code, 0, owner.stderr);
      await waitGone(await waitPid(join(dir, 'pid')));
      assert.equal(readFileSync(join(dir, 'done'), 'utf8'), 'eof\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('interactive: input written while it runs, stdout read line by line, exit code, kill', async () => {
    const lines: string[] = [];
    const p = new NodeCommandRunner().interactive('sh', [
      '-c',
      'while read -r l; do echo "got $l"; done; exit 3',
    ]);
    p.onLine((l) => lines.push(l));
    p.write('one\ntwo\n');
    await waitFor(() => lines.length === 2, { timeoutMs: 10_000, what: 'two lines' });
    p.write('three\n');
    await waitFor(() => lines.length === 3, { timeoutMs: 10_000, what: 'three lines' });
    assert.deepEqual(lines, ['got one', 'got two', 'got three']);
    assert.equal(p.alive, true);
    const codes: number[] = [];
    p.onExit((c) => codes.push(c));
    p.kill();
    await waitFor(() => codes.length === 1, { timeoutMs: 10_000, what: 'its exit' });
    assert.deepEqual(codes, [137]);
    assert.equal(p.alive, false);
    p.write('ignored\n');
    const late: number[] = [];
    p.onExit((c) => late.push(c));
    assert.deepEqual(late, [137], 'a listener added after the end is called at once');
  });

  test('interactive: a command that cannot start ends with -1', async () => {
    const p = new NodeCommandRunner().interactive('/nonexistent/calico-ts-no-such-binary', []);
    const codes: number[] = [];
    p.onExit((c) => codes.push(c));
    await waitFor(() => codes.length === 1, { timeoutMs: 10_000, what: 'its end' });
    assert.deepEqual(codes, [-1]);
  });
});
