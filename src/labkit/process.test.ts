import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { waitFor } from '../lib/async.js';
import { LabProcess, nodeScriptCommand, siblingScript } from './process.js';

describe('LabProcess (no namespace)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-test-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('logs to its file, reports how it ended, and stop escalates to SIGKILL', async (t) => {
    const log = join(dir, 'p.log');
    const p = LabProcess.spawn({
      command: process.execPath,
      args: [
        '-e',
        "process.on('SIGTERM', () => console.log('ignoring TERM')); console.log('up'); setInterval(() => {}, 1000)",
      ],
      logFile: log,
    });
    // Even when an assertion fails: a live child would keep this test file from ever exiting.
    t.after(() => {
      p.signal('SIGKILL');
    });
    await waitFor(() => p.logTail().includes('up'), { timeoutMs: 10_000, what: 'the child to log "up"' });
    assert.equal(p.isRunning(), true);
    await p.stop(300);
    assert.equal(p.exitStatus, 'killed by SIGKILL');
    assert.match(p.logTail(), /up\nignoring TERM/);
    const q = LabProcess.spawn({ command: process.execPath, args: ['-e', 'process.exit(3)'], logFile: log });
    assert.equal(await q.waitExit(5000), true);
    assert.equal(q.exitStatus, 'exited with 3');
  });

  test('an adopted pid is tracked by signal 0', async (t) => {
    const p = LabProcess.spawn({ command: 'sleep', args: ['30'], logFile: join(dir, 's.log') });
    t.after(() => {
      p.signal('SIGKILL');
    });
    const adopted = LabProcess.adopt(p.pid);
    assert.equal(adopted.isRunning(), true);
    await adopted.kill();
    assert.equal(adopted.isRunning(), false);
  });

  test('scripts run under tsx when they are TypeScript', () => {
    const ts = nodeScriptCommand(new URL('file:///x/probe-agent.ts'));
    assert.equal(ts.args[0], '--import');
    assert.match(ts.args[1] ?? '', /tsx/);
    assert.deepEqual(nodeScriptCommand(new URL('file:///x/a.js')).args, ['/x/a.js']);
    assert.equal(
      siblingScript('probe-agent', 'file:///r/dist/src/labkit/cluster.js').href,
      'file:///r/dist/src/labkit/probe-agent.js',
    );
  });
});
