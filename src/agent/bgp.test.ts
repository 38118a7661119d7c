import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ResourceUpdate } from '../calc/inputs.js';
import { affinityResource, nodeResource, poolResource } from '../calc/testing.js';
import { waitFor } from '../lib/async.js';
import { BirdReloader, DirectorySecretSource } from '../routing/index.js';
import { FakeBird, recordingLogger } from '../routing/testing.js';
import { BgpController, type BgpControllerOptions } from './bgp.js';
import { SerialDebouncer } from './debounce.js';

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
  let n = 0;

  function controller(extra: Partial<BgpControllerOptions> = {}): {
    ctl: BgpController;
    bird: FakeBird;
    log: ReturnType<typeof recordingLogger>;
    configPath: string;
  } {
    n++;
    const bird = new FakeBird();
    const log = recordingLogger();
    const configPath = join(dir, `c${n}`, 'bird.cfg');
    const ctl = new BgpController({
      nodeName: 'node1',
      log,
      debounceMs: 1,
      reloader: new BirdReloader({
        runner: bird.runner,
        launcher: bird.launcher,
        log,
        configPath,
        socketPath: join(dir, `s${n}`, 'bird.ctl'),
        pidFile: join(dir, `s${n}`, 'bird.pid'),
      }),
      ...extra,
    });
    return { ctl, bird, log, configPath };
  }

  it('renders this node view into BIRD, starts BIRD once and reloads it on change', async () => {
    const { ctl, bird, configPath } = controller();
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
    assert.equal(bird.launches.length, 1);
    bird.leftRoutes['-4'] = 2;
    await ctl.stop(true);
    assert.equal(bird.runner.callsMatching((c) => c.args.includes('down')).length, 1);
    assert.equal(bird.leftRoutes['-4'], 0, "BIRD's routes are deleted when the agent stops it");
  });

  it('leaves BIRD running when told not to stop it', async () => {
    const { ctl, bird } = controller();
    ctl.onUpdates([upd(nodeResource('node1', '10.0.1.1/24'), 1)]);
    ctl.onInSync();
    await until('BIRD to be started', () => ctl.applied.started === 1);
    await ctl.stop(false);
    assert.equal(bird.running, true);
    assert.equal(bird.runner.callsMatching((c) => c.args.includes('down')).length, 0);
  });

  it('starts BIRD again after it exits by itself', async () => {
    const { ctl, bird, log } = controller();
    ctl.onUpdates([upd(nodeResource('node1', '10.0.1.1/24'), 1)]);
    ctl.onInSync();
    await until('BIRD to be started', () => ctl.applied.started === 1);
    bird.crash(1);
    await until('BIRD to be started again', () => ctl.applied.started === 2);
    assert.ok(log.records.some((r) => r.level === 'error' && r.msg === 'BIRD exited'));
    await ctl.stop(true);
  });

  it('refuses a peering whose password cannot be read, loudly, and peers once the secret exists', async () => {
    const secretsDir = join(dir, 'secrets');
    const { ctl, log, configPath } = controller({
      secrets: new DirectorySecretSource(secretsDir),
      secretRecheckMs: 10,
    });
    const meshPassword = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: { nodeMeshPassword: { secretKeyRef: { name: 'bgp', key: 'mesh' } } },
    };
    ctl.onUpdates([
      upd(nodeResource('node1', '10.0.1.1/24'), 1),
      upd(nodeResource('node2', '10.0.1.2/24'), 2),
      upd(meshPassword, 3),
    ]);
    ctl.onInSync();
    await until('BIRD to be started', () => ctl.applied.started === 1);
    assert.doesNotMatch(readFileSync(configPath, 'utf8'), /protocol bgp Mesh_10_0_1_2/);
    assert.deepEqual(
      ctl.passwordProblems.map((p) => [p.outcome, p.peer, p.secret]),
      [['refused', 'Mesh_10_0_1_2', 'bgp/mesh']],
    );
    const errors = log.records.filter((r) => r.level === 'error');
    assert.equal(errors.length, 1);
    const [error] = errors;
    assert.ok(error !== undefined);
    assert.equal(
      error.msg,
      "Can't read password for BGPConfiguration default nodeMeshPassword: no BGP session with 10.0.1.2 until it can be read",
    );
    assert.match(String(error.fields.reason), /no data available for secret bgp/);
    // Applying again while nothing changed logs nothing more.
    ctl.onUpdates([upd(nodeResource('node2', '10.0.1.2/24'), 4)]);
    await until('another apply', () => ctl.applied.unchanged >= 1);
    assert.equal(log.records.filter((r) => r.level === 'error').length, 1);

    mkdirSync(join(secretsDir, 'bgp'), { recursive: true });
    writeFileSync(join(secretsDir, 'bgp', 'mesh'), 'Mesh-Secret-1\n', { mode: 0o600 });
    await until('the mesh peer to be configured', () => ctl.applied.reconfigured === 1);
    const cfg = readFileSync(configPath, 'utf8');
    assert.match(cfg, /protocol bgp Mesh_10_0_1_2 [^}]*password "Mesh-Secret-1";/);
    assert.deepEqual(ctl.passwordProblems, []);
    assert.ok(log.records.some((r) => r.msg.includes('can be read again')));
    // The password is in BIRD's file (mode 0600), never in the log.
    assert.ok(!log.records.some((r) => JSON.stringify(r).includes('Mesh-Secret-1')));
    await ctl.stop(true);
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
