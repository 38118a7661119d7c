import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { FakeCommandRunner } from '../dataplane/exec/fake-runner.js';
import { BirdReloader } from './reloader.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-reloader-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A scripted BIRD: running once started, `bird -p` rejecting texts containing "BAD". */
function fakeBird(): { runner: FakeCommandRunner; state: { running: boolean } } {
  const state = { running: false };
  const runner = new FakeCommandRunner();
  runner.on({ cmd: 'birdc', argsPrefix: ['-s'] }, (call) => {
    if (!state.running)
      return {
        code: 1,
        stderr: `Unable to connect to server control socket (${call.args[1]}): No such file or directory`,
      };
    if (call.args[2] === 'down') state.running = false;
    return { stdout: 'BIRD 2.0.12 ready.\n' };
  });
  runner.on({ cmd: 'bird', argsPrefix: ['-p', '-c'] }, (call) =>
    readFileSync(call.args[2] ?? '', 'utf8').includes('BAD')
      ? { code: 1, stderr: `bird: ${call.args[2]}:1:1 syntax error` }
      : {},
  );
  runner.on({ cmd: 'bird', argsPrefix: ['-c'] }, () => {
    state.running = true;
    return {};
  });
  return { runner, state };
}

describe('BirdReloader', () => {
  let n = 0;
  let paths: { configPath: string; socketPath: string; pidFile: string };
  beforeEach(() => {
    n++;
    paths = {
      configPath: join(dir, `c${n}`, 'bird.cfg'),
      socketPath: join(dir, `s${n}`, 'bird.ctl'),
      pidFile: join(dir, `s${n}`, 'bird.pid'),
    };
  });

  it('writes the file, checks it with bird -p, and starts BIRD when it is not running', async () => {
    const { runner } = fakeBird();
    const r = new BirdReloader({ runner, ...paths });
    assert.deepEqual(await r.apply('router id 1.1.1.1;\n'), { changed: true, action: 'started' });
    assert.equal(readFileSync(paths.configPath, 'utf8'), 'router id 1.1.1.1;\n');
    const cmds = runner.calls.map((c) => `${c.cmd} ${c.args.join(' ')}`);
    assert.match(cmds[0] ?? '', /^bird -p -c .*\.bird\.cfg\..*\.tmp$/);
    assert.ok(cmds.includes(`bird -c ${paths.configPath} -s ${paths.socketPath} -P ${paths.pidFile}`));
    assert.ok(existsSync(join(dir, `s${n}`)), 'socket directory created');
  });

  it('does nothing when the text is unchanged and BIRD runs; reloads when it changed', async () => {
    const { runner } = fakeBird();
    const r = new BirdReloader({ runner, ...paths });
    await r.apply('a;\n');
    runner.clearCalls();
    assert.deepEqual(await r.apply('a;\n'), { changed: false, action: 'unchanged' });
    assert.deepEqual(
      runner.calls.map((c) => c.args.slice(2).join(' ')),
      ['show status'],
    );
    runner.clearCalls();
    assert.deepEqual(await r.apply('b;\n'), { changed: true, action: 'reconfigured' });
    assert.equal(
      runner.callsMatching({
        cmd: 'birdc',
        args: ['-s', paths.socketPath, 'configure', `"${paths.configPath}"`],
      }).length,
      1,
    );
    assert.equal(readFileSync(paths.configPath, 'utf8'), 'b;\n');
  });

  it('starts a stopped BIRD even when the file did not change', async () => {
    const { runner, state } = fakeBird();
    const r = new BirdReloader({ runner, ...paths });
    await r.apply('a;\n');
    await r.stop();
    assert.equal(state.running, false);
    assert.deepEqual(await r.apply('a;\n'), { changed: false, action: 'started' });
    assert.equal(state.running, true);
  });

  it('keeps the old file when BIRD rejects the new one, and leaves no temp file', async () => {
    const { runner } = fakeBird();
    const r = new BirdReloader({ runner, ...paths });
    await r.apply('good;\n');
    await assert.rejects(r.apply('BAD\n'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'CALICO_ERR_PARSE');
      assert.ok(e.message.includes(paths.configPath) && e.message.includes('syntax error'));
      return true;
    });
    assert.equal(readFileSync(paths.configPath, 'utf8'), 'good;\n');
    assert.deepEqual(readdirSync(join(dir, `c${n}`)), ['bird.cfg']);
    assert.equal(
      runner.callsMatching({ cmd: 'birdc', argsPrefix: ['-s', paths.socketPath, 'configure'] }).length,
      0,
    );
    // A later good config still goes through (the queue survives a failure).
    assert.equal((await r.apply('better;\n')).action, 'reconfigured');
  });

  it('reports a failed reload and a failed start', async () => {
    const { runner } = fakeBird();
    const r = new BirdReloader({ runner, ...paths });
    await r.apply('a;\n');
    runner.failNext(
      { cmd: 'birdc', argsPrefix: ['-s', paths.socketPath, 'configure'] },
      { stdout: 'Reconfiguration failed' },
    );
    await assert.rejects(r.apply('b;\n'), /did not reload.*Reconfiguration failed/);
    const other = fakeBird();
    other.runner.failNext(
      { cmd: 'bird', argsPrefix: ['-c'] },
      { stderr: 'bird: Cannot create control socket' },
    );
    const r2 = new BirdReloader({
      runner: other.runner,
      ...paths,
      configPath: join(dir, `c${n}`, 'other.cfg'),
    });
    await assert.rejects(r2.apply('a;\n'), /cannot start BIRD.*control socket/);
  });

  it('gives up (bounded) when a started BIRD never answers', async () => {
    const runner = new FakeCommandRunner()
      .on({ cmd: 'birdc' }, { code: 1, stderr: 'Unable to connect' })
      .on({ cmd: 'bird' }, {});
    const r = new BirdReloader({ runner, ...paths, startTimeoutMs: 100 });
    await assert.rejects(r.apply('a;\n'), /does not answer/);
  });

  it('serialises concurrent applies', async () => {
    const { runner } = fakeBird();
    const r = new BirdReloader({ runner, ...paths });
    writeFileSync(join(dir, 'unrelated'), '');
    const results = await Promise.all([r.apply('1;\n'), r.apply('2;\n'), r.apply('2;\n')]);
    assert.deepEqual(
      results.map((x) => x.action),
      ['started', 'reconfigured', 'unchanged'],
    );
    assert.equal(readFileSync(paths.configPath, 'utf8'), '2;\n');
  });
});
