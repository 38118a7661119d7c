import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { waitFor } from '../lib/async.js';
import { BirdReloader, type BirdReloaderOptions } from './reloader.js';
import { FakeBird, recordingLogger } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-reloader-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('BirdReloader', () => {
  let n = 0;
  let paths: { configPath: string; socketPath: string; pidFile: string };
  let bird: FakeBird;
  let log: ReturnType<typeof recordingLogger>;
  const reloader = (extra: Partial<BirdReloaderOptions> = {}): BirdReloader =>
    new BirdReloader({ runner: bird.runner, launcher: bird.launcher, log, ...paths, ...extra });

  beforeEach(() => {
    n++;
    paths = {
      configPath: join(dir, `c${n}`, 'bird.cfg'),
      socketPath: join(dir, `s${n}`, 'bird.ctl'),
      pidFile: join(dir, `s${n}`, 'bird.pid'),
    };
    bird = new FakeBird();
    log = recordingLogger();
  });

  it('writes the file (0600), checks it with bird -p, and starts BIRD as calico-node does', async () => {
    const r = reloader();
    assert.deepEqual(await r.apply('router id 1.1.1.1;\n'), { changed: true, action: 'started' });
    assert.equal(readFileSync(paths.configPath, 'utf8'), 'router id 1.1.1.1;\n');
    assert.equal(statSync(paths.configPath).mode & 0o777, 0o600);
    assert.match(
      `${bird.runner.calls[0]?.cmd} ${bird.runner.calls[0]?.args.join(' ')}`,
      /^bird -p -c .*\.bird\.cfg\..*\.tmp$/,
    );
    // Graceful-restart recovery (-R), in the foreground (-d), as runit runs it in calico-node.
    assert.deepEqual(bird.launches, [
      {
        cmd: 'bird',
        args: ['-R', '-s', paths.socketPath, '-d', '-c', paths.configPath, '-P', paths.pidFile],
      },
    ]);
    assert.ok(existsSync(join(dir, `s${n}`)), 'socket directory created');
  });

  it('copies BIRD output into the log with source bird and a level from its class', async () => {
    await reloader().apply('a;\n');
    bird.print('2026-01-02 03:04:05.678 <TRACE> Mesh_10_0_0_2: BGP session established');
    bird.print('2026-01-02 03:04:05.679 <ERR> Mesh_10_0_0_2: Error: Hold timer expired');
    bird.print('bird: Unexpected line');
    const fromBird = log.records.filter((r) => r.fields.source === 'bird');
    assert.deepEqual(
      fromBird.map((r) => [r.level, r.msg, r.fields.birdClass]),
      [
        ['info', 'Mesh_10_0_0_2: BGP session established', 'TRACE'],
        ['error', 'Mesh_10_0_0_2: Error: Hold timer expired', 'ERR'],
        ['warn', 'Unexpected line', undefined],
      ],
    );
  });

  it('does nothing when the text is unchanged and BIRD runs; reloads when it changed', async () => {
    const r = reloader();
    await r.apply('a;\n');
    bird.runner.clearCalls();
    assert.deepEqual(await r.apply('a;\n'), { changed: false, action: 'unchanged' });
    assert.deepEqual(
      bird.runner.calls.map((c) => c.args.slice(2).join(' ')),
      ['show status'],
    );
    bird.runner.clearCalls();
    assert.deepEqual(await r.apply('b;\n'), { changed: true, action: 'reconfigured' });
    assert.equal(
      bird.runner.callsMatching({
        cmd: 'birdc',
        args: ['-s', paths.socketPath, 'configure', `"${paths.configPath}"`],
      }).length,
      1,
    );
    assert.equal(readFileSync(paths.configPath, 'utf8'), 'b;\n');
    assert.equal(bird.launches.length, 1);
  });

  it('adopts a BIRD that already answers: reloads it, starts none', async () => {
    bird.running = true;
    assert.deepEqual(await reloader().apply('a;\n'), { changed: true, action: 'reconfigured' });
    assert.equal(bird.launches.length, 0);
  });

  it('stop: birdc down, waits for the exit, deletes the proto bird routes persist left', async () => {
    const r = reloader();
    await r.apply('a;\n');
    bird.leftRoutes['-4'] = 3;
    bird.leftRoutes['-6'] = 1;
    assert.deepEqual(await r.stop(), { stopped: true, removedRoutes: 4 });
    assert.equal(bird.running, false);
    assert.equal(
      bird.runner.callsMatching({ cmd: 'birdc', argsPrefix: ['-s', paths.socketPath, 'down'] }).length,
      1,
    );
    assert.equal(
      bird.runner.callsMatching({ cmd: 'ip', args: ['-4', 'route', 'flush', 'proto', 'bird'] }).length,
      1,
    );
    assert.equal(
      bird.runner.callsMatching({ cmd: 'ip', args: ['-6', 'route', 'flush', 'proto', 'bird'] }).length,
      1,
    );
    // Stopped on purpose: not reported as an unexpected exit.
    assert.ok(!log.records.some((x) => x.msg === 'BIRD exited'));
    // Nothing running and nothing left: nothing to do.
    assert.deepEqual(await r.stop(), { stopped: false, removedRoutes: 0 });
    // A stopped BIRD is started again by the next apply, even when the file did not change.
    assert.deepEqual(await r.apply('a;\n'), { changed: false, action: 'started' });
  });

  it('reports an unexpected exit to its listeners and the log', async () => {
    const r = reloader();
    const codes: number[] = [];
    r.onUnexpectedExit((c) => codes.push(c));
    await r.apply('a;\n');
    bird.crash(2);
    await waitFor(() => codes.length === 1, { timeoutMs: 1000 });
    assert.deepEqual(codes, [2]);
    assert.ok(log.records.some((x) => x.level === 'error' && x.msg === 'BIRD exited' && x.fields.code === 2));
    assert.equal((await r.apply('a;\n')).action, 'started');
  });

  it('keeps the old file when BIRD rejects the new one, and leaves no temp file', async () => {
    const r = reloader();
    await r.apply('good;\n');
    await assert.rejects(r.apply('BAD\n'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'CALICO_ERR_PARSE');
      assert.ok(e.message.includes(paths.configPath) && e.message.includes('syntax error'));
      return true;
    });
    assert.equal(readFileSync(paths.configPath, 'utf8'), 'good;\n');
    assert.deepEqual(readdirSync(join(dir, `c${n}`)), ['bird.cfg']);
    assert.equal(
      bird.runner.callsMatching({ cmd: 'birdc', argsPrefix: ['-s', paths.socketPath, 'configure'] }).length,
      0,
    );
    // A later good config still goes through (the queue survives a failure).
    assert.equal((await r.apply('better;\n')).action, 'reconfigured');
  });

  it('reports a failed reload, and a start where BIRD exits at once with what it printed', async () => {
    const r = reloader();
    await r.apply('a;\n');
    bird.runner.failNext(
      { cmd: 'birdc', argsPrefix: ['-s', paths.socketPath, 'configure'] },
      { stdout: 'Reconfiguration failed' },
    );
    await assert.rejects(r.apply('b;\n'), /did not reload.*Reconfiguration failed/);
    bird = new FakeBird();
    bird.start = 'exit';
    await assert.rejects(
      reloader({ configPath: join(dir, `c${n}`, 'other.cfg') }).apply('a;\n'),
      /cannot start BIRD.*exited with code 1.*Cannot create control socket/,
    );
  });

  it('gives up (bounded) when a started BIRD never answers, and kills it', async () => {
    bird.start = 'silent';
    await assert.rejects(reloader({ startTimeoutMs: 100 }).apply('a;\n'), /does not answer/);
  });

  it('serialises concurrent applies', async () => {
    const r = reloader();
    writeFileSync(join(dir, 'unrelated'), '');
    const results = await Promise.all([r.apply('1;\n'), r.apply('2;\n'), r.apply('2;\n')]);
    assert.deepEqual(
      results.map((x) => x.action),
      ['started', 'reconfigured', 'unchanged'],
    );
    assert.equal(readFileSync(paths.configPath, 'utf8'), '2;\n');
  });
});
