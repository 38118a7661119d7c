import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ResourceUpdate } from '../calc/inputs.js';
import { affinityResource, nodeResource, poolResource } from '../calc/testing.js';
import { FakeCommandRunner } from '../dataplane/exec/fake-runner.js';
import { BirdReloader } from '../routing/index.js';
import { waitFor } from '../lib/async.js';
import { BgpController } from './bgp.js';
import { SerialDebouncer } from './debounce.js';
import { createLogger } from './log.js';

async function until(what: string, check: () => boolean): Promise<void> {
  await waitFor(check, { timeoutMs: 5000, intervalMs: 5, what });
}

function upd(obj: unknown, rev: number, deleted = false): ResourceUpdate {
  const o = obj as { kind: string; metadata: { name: string } };
  return { key: { kind: o.kind, name: o.metadata.name }, value: deleted ? null : obj, revision: rev };
}

describe('BgpController', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calts-bgpctl-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders this node view into BIRD, starts BIRD once and reloads it on change', async () => {
    let running = false;
    const runner = new FakeCommandRunner()
      .on({ cmd: 'bird', argsPrefix: ['-p'] }, {})
      .on({ cmd: 'bird', argsPrefix: ['-c'] }, () => {
        running = true;
        return {};
      })
      .on({ cmd: 'birdc', argsPrefix: ['-s'] }, (call) => ({
        code: running || call.args[2] !== 'show' ? 0 : 1,
      }));
    const configPath = join(dir, 'bird.cfg');
    const ctl = new BgpController({
      nodeName: 'node1',
      log: createLogger('error'),
      debounceMs: 1,
      reloader: new BirdReloader({
        runner,
        configPath,
        socketPath: join(dir, 'bird.ctl'),
        pidFile: join(dir, 'bird.pid'),
      }),
    });
    ctl.onUpdates([
      upd(nodeResource('node1', '10.0.1.1/24'), 1),
      upd(nodeResource('node2', '10.0.1.2/24'), 2),
      upd(poolResource('pool', '10.244.0.0/16'), 3),
      upd(affinityResource('node1', '10.244.1.0/26', 'confirmed'), 4),
      upd(affinityResource('node2', '10.244.2.0/26', 'confirmed'), 5),
      upd(affinityResource('node1', '10.244.3.0/26', 'pending'), 6),
      // Kinds BIRD does not need are ignored.
      upd({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }, 7),
    ]);
    await ctl.idle();
    assert.equal(existsSync(configPath), false, 'nothing is applied before the datastore is in sync');
    ctl.onInSync();
    await until('BIRD to be started', () => ctl.applied.started === 1);
    const cfg = readFileSync(configPath, 'utf8');
    assert.match(cfg, /route 10\.244\.1\.0\/26 blackhole;/);
    assert.doesNotMatch(cfg, /10\.244\.2\.0\/26 blackhole|10\.244\.3\.0\/26 blackhole/);
    assert.match(cfg, /neighbor 10\.0\.1\.2 as 64512/);

    ctl.onUpdates([upd(nodeResource('node2', '10.0.1.2/24'), 8, true)]);
    await until('BIRD to be reconfigured', () => ctl.applied.reconfigured === 1);
    assert.doesNotMatch(readFileSync(configPath, 'utf8'), /10\.0\.1\.2/);
    assert.equal(runner.callsMatching({ cmd: 'bird', argsPrefix: ['-c'] }).length, 1);
    await ctl.stop(true);
    assert.equal(
      runner.callsMatching({ cmd: 'birdc', args: ['-s', join(dir, 'bird.ctl'), 'down'] }).length,
      1,
    );
  });
});

describe('SerialDebouncer', () => {
  it('coalesces requests, never overlaps runs, and retries failures', async () => {
    let runs = 0;
    let active = 0;
    let maxActive = 0;
    let fail = 1;
    const errors: unknown[] = [];
    // Each run lasts until the test lets it finish (`release`), so "during a run" is a state, not a delay.
    let hold: Promise<void> = Promise.resolve();
    let release = (): void => undefined;
    const d = new SerialDebouncer(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await hold;
        active--;
        runs++;
        if (fail-- > 0) throw new Error('boom');
      },
      { delayMs: 5, retryMinMs: 10, onError: (e) => errors.push(e) },
    );
    for (let i = 0; i < 5; i++) d.schedule();
    await until('the failed run to be retried', () => runs === 2);
    hold = new Promise((r) => {
      release = r;
    });
    d.schedule();
    await until('the third run to start', () => active === 1);
    d.schedule();
    d.schedule();
    release();
    await until('the run the requests during the third asked for', () => runs === 4);
    await d.dispose();
    assert.equal(maxActive, 1);
    assert.equal(errors.length, 1);
    assert.equal(runs, 4);
  });
});
