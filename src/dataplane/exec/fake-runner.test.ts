import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CalicoError } from '../../lib/errors.js';
import { netnsRunner } from './command-runner.js';
import { FakeCommandRunner, RecordingCommandRunner } from './fake-runner.js';

describe('FakeCommandRunner', () => {
  test('answers from the newest matching rule and records calls', async () => {
    const fake = new FakeCommandRunner()
      .on({ cmd: 'nft' }, { stdout: 'old' })
      .on({ cmd: 'nft', argsPrefix: ['-j'] }, { stdout: 'json' });
    assert.equal((await fake.run('nft', ['-j', 'list'])).stdout, 'json');
    assert.equal((await fake.run('nft', ['-f', '-'], { stdin: 'script' })).stdout, 'old');
    assert.deepEqual(fake.calls, [
      { cmd: 'nft', args: ['-j', 'list'], stdin: undefined },
      { cmd: 'nft', args: ['-f', '-'], stdin: 'script' },
    ]);
    assert.equal(fake.callsMatching({ stdinIncludes: 'scr' }).length, 1);
  });

  test('responses may be computed from the call', async () => {
    const fake = new FakeCommandRunner().on({ cmd: 'echo' }, (c) => ({ stdout: c.args.join(' ') }));
    assert.equal((await fake.run('echo', ['a', 'b'])).stdout, 'a b');
  });

  test('failNext fails the next matching calls only', async () => {
    const fake = new FakeCommandRunner().on({ cmd: 'nft' }, {});
    fake.failNext({ cmd: 'nft', args: ['-f', '-'] }, { stderr: 'boom' }, { times: 2 });
    assert.equal((await fake.run('nft', ['-j'])).code, 0);
    assert.deepEqual(await fake.run('nft', ['-f', '-']), { stdout: '', stderr: 'boom', code: 1 });
    assert.equal((await fake.run('nft', ['-f', '-'])).code, 1);
    assert.equal((await fake.run('nft', ['-f', '-'])).code, 0);
  });

  test('throwNext simulates a spawn failure; unmatched calls reject', async () => {
    const fake = new FakeCommandRunner().on({ cmd: 'nft' }, {});
    fake.throwNext({ cmd: 'nft' }, new Error('ENOENT'));
    await assert.rejects(fake.run('nft', []), /ENOENT/);
    await assert.rejects(fake.run('ip', []), (e: unknown) => e instanceof CalicoError);
  });

  test('honours an aborted signal', async () => {
    const fake = new FakeCommandRunner().on({}, {});
    await assert.rejects(fake.run('x', [], { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });
});

describe('netnsRunner', () => {
  test('prefixes every command with ip netns exec', async () => {
    const fake = new FakeCommandRunner().on({ cmd: 'ip' }, { stdout: 'ok' });
    const r = await netnsRunner(fake, 'calts-1-a').run('nft', ['-f', '-'], { stdin: 's' });
    assert.equal(r.stdout, 'ok');
    assert.deepEqual(fake.calls, [
      { cmd: 'ip', args: ['netns', 'exec', 'calts-1-a', 'nft', '-f', '-'], stdin: 's' },
    ]);
  });

  test('rejects names that could be read as options or paths', () => {
    const fake = new FakeCommandRunner();
    for (const bad of ['-n', 'a/b', '', '../x'])
      assert.throws(() => netnsRunner(fake, bad), /invalid network namespace/);
  });
});

describe('RecordingCommandRunner', () => {
  test('records calls with results, including rejected ones', async () => {
    const fake = new FakeCommandRunner().on({ cmd: 'a' }, { stdout: 'x', code: 3 });
    const rec = new RecordingCommandRunner(fake);
    await rec.run('a', ['1'], { stdin: 'in' });
    await assert.rejects(rec.run('b', []));
    assert.deepEqual(rec.runs, [
      { cmd: 'a', args: ['1'], stdin: 'in', result: { stdout: 'x', stderr: '', code: 3 } },
      { cmd: 'b', args: [], stdin: undefined, result: undefined },
    ]);
  });
});
