import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../lib/async.js';
import { spawnLauncher } from './daemon.js';

describe('spawnLauncher', () => {
  it('hands over each output line (bounded) of both streams and the exit code', async () => {
    const lines: string[] = [];
    const script =
      "console.log('out 1'); console.error('err 1'); console.log('x'.repeat(50)); process.exit(3)";
    const h = spawnLauncher({ maxLineLength: 10 }).launch(process.execPath, ['-e', script], (l) =>
      lines.push(l),
    );
    assert.equal(await h.exited, 3);
    assert.equal(h.running, false);
    await waitFor(() => lines.length === 3, { timeoutMs: 5000, what: 'all lines' });
    assert.deepEqual([...lines].sort(), ['err 1', 'out 1', 'xxxxxxxxxx [line truncated]']);
  });

  it('runs the command through a prefix, and is stopped by a signal', async () => {
    const lines: string[] = [];
    const h = spawnLauncher({ prefix: ['env', 'GREETING=hi'] }).launch(
      process.execPath,
      ['-e', 'console.log(process.env.GREETING); setInterval(() => undefined, 1000)'],
      (l) => lines.push(l),
    );
    await waitFor(() => lines.includes('hi'), { timeoutMs: 5000, what: 'the greeting' });
    assert.equal(h.running, true);
    h.kill('SIGTERM');
    assert.equal(await h.exited, 128 + 15);
  });

  it('reports a command that cannot be started as exit 127 with a line saying why', async () => {
    const lines: string[] = [];
    const h = spawnLauncher().launch('/nonexistent/bird', [], (l) => lines.push(l));
    assert.equal(await h.exited, 127);
    assert.match(lines.join('\n'), /cannot run \/nonexistent\/bird: .*ENOENT/);
  });
});
