/**
 * The loop with the real managers, the calc graph and a fake kernel (FakeNft), on a FakeClock: in-sync
 * gating, coalescing, retry with backoff, the periodic refresh, and what happens when something fails:
 * resync from the calc graph, counted failures, readiness, and failing closed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CalcGraph } from '../calc/graph.js';
import type { ResourceUpdate } from '../calc/inputs.js';
import { FakeClock } from '../lib/async.js';
import { createNftablesManagers } from './create.js';
import { DataplaneLoop, type DataplaneFailure } from './loop.js';
import type { Manager, MessageHandlers } from './manager.js';
import { NftTable } from './nftables/table.js';
import { fakeKernel } from './testing/dataplane.js';

const C = 'projectcalico.org/v3';

function podUpdate(name: string, ip: string, revision: number): ResourceUpdate {
  return {
    key: { kind: 'WorkloadEndpoint', namespace: 'default', name: `node1-k8s-${name}-eth0` },
    value: {
      apiVersion: C,
      kind: 'WorkloadEndpoint',
      metadata: { name: `node1-k8s-${name}-eth0`, namespace: 'default', labels: { app: name } },
      spec: {
        node: 'node1',
        pod: name,
        endpoint: 'eth0',
        interfaceName: `cali${name}`,
        ipNetworks: [`${ip}/32`],
      },
    },
    revision,
  };
}

function denyFrom(app: string, revision: number): ResourceUpdate {
  return {
    key: { kind: 'GlobalNetworkPolicy', name: `deny-${app}` },
    value: {
      apiVersion: C,
      kind: 'GlobalNetworkPolicy',
      metadata: { name: `deny-${app}` },
      spec: { selector: 'all()', ingress: [{ action: 'Deny', source: { selector: `app == '${app}'` } }] },
    },
    revision,
  };
}

/** A manager that, once broken, throws on workload endpoints: a bug, or data it cannot take. */
class Flaky implements Manager {
  readonly name = 'flaky';
  broken = false;
  resets = 0;
  readonly handlers: MessageHandlers = {
    workloadEndpointUpdate: (m) => {
      if (this.broken) throw new Error(`cannot take ${m.id}`);
    },
  };
  reset(): void {
    this.resets++;
  }
}

function setup(opts: { maxResyncs?: number; refreshIntervalMs?: number } = {}) {
  const clock = new FakeClock();
  const kernel = fakeKernel();
  // Every workload interface exists and is up, and route batches succeed, unless a test says otherwise.
  kernel.runner.on(
    { cmd: 'ip', args: ['-j', 'link', 'show'] },
    { stdout: JSON.stringify(['calia', 'calib', 'calic'].map((ifname) => ({ ifname, flags: ['UP'] }))) },
  );
  kernel.runner.on({ cmd: 'ip', argsPrefix: ['-force', '-batch'] }, {});
  const table = new NftTable({ runner: kernel.runner });
  const parts = createNftablesManagers(table, {
    runner: kernel.runner,
    hostname: 'node1',
    birdProgramsNoEncap: false,
  });
  const flaky = new Flaky();
  const graph = new CalcGraph('node1');
  const failures: DataplaneFailure[] = [];
  const applied: number[] = [];
  const fatal: Error[] = [];
  let replays = 0;
  const loop = new DataplaneLoop({
    managers: [...parts.managers, flaky],
    table,
    clock,
    refreshIntervalMs: opts.refreshIntervalMs ?? 60_000,
    resyncSource: () => {
      replays++;
      return graph.replay();
    },
    hooks: {
      onApplied: ({ revision }) => {
        applied.push(revision);
      },
      onFailure: (f) => failures.push(f),
      onFatal: (e) => fatal.push(e),
    },
    ...(opts.maxResyncs !== undefined ? { maxResyncs: opts.maxResyncs } : {}),
  });
  const controller = new AbortController();
  loop.start(controller.signal);
  const update = (...updates: ResourceUpdate[]): void => {
    graph.onUpdates(updates);
    loop.onMessages(graph.flush());
  };
  const inSync = (): void => {
    graph.onInSync();
    loop.onMessages(graph.flush());
  };
  /** Runs the timer that is due next, then waits for the apply it started. */
  const tick = async (): Promise<number> => {
    const due = clock.nextDue();
    assert.ok(due !== undefined, 'a timer is scheduled');
    const wait = due - clock.now();
    clock.advance(wait);
    await loop.idle();
    return wait;
  };
  return {
    clock,
    kernel,
    table,
    parts,
    flaky,
    loop,
    failures,
    applied,
    fatal,
    replays: () => replays,
    update,
    inSync,
    tick,
    stop: () => {
      controller.abort();
    },
  };
}

const transactions = (s: ReturnType<typeof setup>) => s.kernel.scripts().length;

describe('DataplaneLoop', () => {
  it('writes nothing before InSync, then applies once, coalescing what arrives during an apply', async () => {
    const s = setup();
    s.update(podUpdate('a', '10.0.0.1', 1));
    await s.loop.idle();
    assert.equal(s.kernel.runner.calls.length, 0, 'no kernel I/O before InSync');
    // Three more batches arrive while the first apply's transaction is with the kernel.
    let during = true;
    s.kernel.runner.on({ cmd: 'nft', args: ['-f', '-'] }, (call) => {
      if (during) {
        during = false;
        s.update(podUpdate('b', '10.0.0.2', 2));
        s.update(denyFrom('b', 3));
        s.update(podUpdate('c', '10.0.0.3', 4));
      }
      return s.kernel.nft.run(call.stdin ?? '');
    });
    s.inSync();
    await s.loop.idle();
    assert.equal(transactions(s), 2, 'the first apply, then one for everything that came meanwhile');
    assert.deepEqual(s.applied, [1, 4]);
    assert.equal(s.loop.appliedRevision, 4);
    assert.ok(s.loop.ready);
    assert.ok(s.kernel.nft.state.chains.has('filter-cali-tw-calic'));
    assert.equal(await s.loop.whenApplied(4, { timeoutMs: 10 }), true);
    const later = s.loop.whenApplied(5, { timeoutMs: 50 });
    s.clock.advance(50);
    assert.equal(await later, false, 'whenApplied times out on the loop clock');
    s.stop();
  });

  it('retries a failed table apply with doubling delays, and is not ready until it succeeds', async () => {
    const s = setup();
    s.inSync();
    await s.loop.idle();
    s.kernel.nft.rejectLine = (line) => line.includes('filter-cali-tw-calia');
    s.update(podUpdate('a', '10.0.0.1', 1));
    await s.loop.idle();
    assert.deepEqual(
      s.failures.map((f) => [f.phase, f.next, f.consecutive]),
      [['table', 'retry', 1]],
    );
    assert.equal(s.loop.ready, false);
    assert.equal(s.loop.status().failing, true);
    assert.match(s.loop.status().lastError ?? '', /filter-cali-tw-calia/);
    assert.equal(await s.tick(), 100);
    assert.equal(await s.tick(), 200);
    assert.equal(s.failures.length, 3);
    s.kernel.nft.rejectLine = () => false;
    assert.equal(await s.tick(), 400);
    assert.ok(s.loop.ready);
    assert.equal(s.loop.status().consecutiveFailures, 0);
    assert.ok(s.kernel.nft.state.chains.has('filter-cali-tw-calia'));
    s.stop();
  });

  it('refreshes on the clock: drift someone else caused is repaired without any message', async () => {
    const s = setup();
    s.update(podUpdate('a', '10.0.0.1', 1));
    s.inSync();
    await s.loop.idle();
    const chain = s.kernel.nft.state.chains.get('filter-cali-tw-calia')!;
    const rules = [...chain.rules];
    chain.rules = [];
    assert.equal(await s.tick(), 60_000);
    assert.deepEqual(s.kernel.nft.state.chains.get('filter-cali-tw-calia')?.rules, rules);
    assert.deepEqual(s.failures, []);
    s.stop();
  });

  it('a manager that throws makes the next apply a full resync from the calc graph; the failure is counted', async () => {
    const s = setup();
    s.update(podUpdate('a', '10.0.0.1', 1), denyFrom('b', 2));
    s.inSync();
    await s.loop.idle();
    const before = s.kernel.nft.state.chains.get('filter-cali-tw-calia')?.rules;
    // A message the IP-set manager cannot take (a delta for a set it never got): its state is now unknown.
    s.kernel.runner.clearCalls();
    s.loop.onMessages([{ kind: 'ipSetDeltaUpdate', id: 's:unknown', added: ['10.9.9.9/32'], removed: [] }]);
    assert.deepEqual(
      s.failures.map((f) => [f.phase, f.manager, f.next]),
      [['message', 'ipsets', 'resync']],
    );
    assert.equal(s.loop.ready, false, 'not ready while failing');
    await s.loop.idle();
    assert.equal(s.replays(), 1);
    assert.equal(s.flaky.resets, 1, 'every manager was reset');
    assert.equal(s.loop.status().resyncs, 1);
    // The table was rebuilt from the replay and reconciled against the kernel: read back, nothing to change.
    assert.deepEqual(
      s.kernel.runner.calls.map((c) => c.args.join(' ')).filter((a) => a.startsWith('-j -p list')),
      ['-j -p list table inet calico'],
    );
    assert.equal(transactions(s), 0);
    assert.deepEqual(s.kernel.nft.state.chains.get('filter-cali-tw-calia')?.rules, before);
    assert.ok(s.loop.ready);
    // Updates after the resync are incremental again.
    s.update(podUpdate('b', '10.0.0.2', 3));
    await s.loop.idle();
    assert.ok(s.kernel.nft.state.chains.has('filter-cali-tw-calib'));
    assert.equal(s.failures.length, 1);
    s.stop();
  });

  it('repeated table failures force a resync', async () => {
    const s = setup();
    s.update(podUpdate('a', '10.0.0.1', 1));
    s.inSync();
    await s.loop.idle();
    s.kernel.nft.rejectLine = (line) => line.includes('filter-cali-tw-calib');
    s.update(podUpdate('b', '10.0.0.2', 2));
    await s.loop.idle();
    await s.tick();
    await s.tick();
    assert.deepEqual(
      s.failures.map((f) => f.next),
      ['retry', 'retry', 'resync'],
    );
    s.kernel.nft.rejectLine = () => false;
    await s.tick();
    assert.equal(s.replays(), 1);
    assert.ok(s.loop.ready);
    assert.ok(s.kernel.nft.state.chains.has('filter-cali-tw-calib'));
    s.stop();
  });

  it('fails closed: while the replay keeps failing nothing is written, and after maxResyncs it gives up', async () => {
    const s = setup({ maxResyncs: 3 });
    s.update(podUpdate('a', '10.0.0.1', 1));
    s.inSync();
    await s.loop.idle();
    const programmed = JSON.stringify([...s.kernel.nft.state.chains]);
    const written = transactions(s);
    s.flaky.broken = true;
    s.update(podUpdate('b', '10.0.0.2', 2));
    await s.loop.idle();
    await s.tick();
    await s.tick();
    assert.deepEqual(
      s.failures.map((f) => [f.phase, f.next]),
      [
        ['message', 'resync'],
        ['resync', 'resync'],
        ['resync', 'resync'],
        ['resync', 'fatal'],
      ],
    );
    assert.equal(s.fatal.length, 1);
    assert.match(s.fatal[0]?.message ?? '', /3 full resyncs did not bring the dataplane back/);
    assert.equal(transactions(s), written, 'no transaction after the failure');
    assert.equal(JSON.stringify([...s.kernel.nft.state.chains]), programmed, 'the kernel keeps its policy');
    assert.equal(s.loop.status().fatal, true);
    assert.equal(s.clock.pending, 0, 'no timers left');
    s.update(podUpdate('c', '10.0.0.3', 3));
    await s.loop.idle();
    assert.equal(transactions(s), written, 'a stopped loop applies nothing');
    assert.equal(await s.loop.whenApplied(3, { timeoutMs: 1000 }), false);
    s.stop();
  });

  it("retries a manager's own kernel work without a resync; the policy is programmed meanwhile", async () => {
    const s = setup();
    s.kernel.runner.on(
      { cmd: 'ip', args: ['-j', 'link', 'show'] },
      { stdout: '[{"ifname":"calia","flags":["UP"]}]' },
    );
    s.kernel.runner.on(
      { cmd: 'ip', argsPrefix: ['-force', '-batch'] },
      { code: 2, stderr: 'RTNETLINK answers: No buffer space available\nCommand failed -:1\n' },
    );
    s.update(podUpdate('a', '10.0.0.1', 1));
    s.inSync();
    await s.loop.idle();
    assert.deepEqual(
      s.failures.map((f) => [f.phase, f.manager, f.next]),
      [['kernel', 'workload-routes', 'retry']],
    );
    assert.ok(s.kernel.nft.state.chains.has('filter-cali-tw-calia'));
    assert.equal(s.loop.dataplaneInSync, false);
    s.kernel.runner.on({ cmd: 'ip', argsPrefix: ['-force', '-batch'] }, {});
    await s.tick();
    assert.ok(s.loop.ready);
    assert.equal(s.replays(), 0);
    s.stop();
  });

  it('retries work that waits for an interface, without a message', async () => {
    const s = setup();
    s.kernel.runner.on({ cmd: 'ip', args: ['-j', 'link', 'show'] }, { stdout: '[]' });
    s.update(podUpdate('a', '10.0.0.1', 1));
    s.inSync();
    await s.loop.idle();
    assert.ok(s.loop.ready, 'a missing interface is not a failure');
    assert.deepEqual(s.kernel.runner.callsMatching({ argsPrefix: ['-force', '-batch'] }), []);
    s.kernel.runner.on(
      { cmd: 'ip', args: ['-j', 'link', 'show'] },
      { stdout: '[{"ifname":"calia","flags":["UP"]}]' },
    );
    assert.equal(await s.tick(), 100);
    assert.deepEqual(
      s.kernel.runner.callsMatching({ argsPrefix: ['-force', '-batch'] }).map((c) => c.stdin),
      ['route replace 10.0.0.1/32 dev calia scope link metric 1024\n'],
    );
    s.stop();
  });

  it('backs off work that waits for an interface up to 30 s (a success does not reset it); a link event applies at once', async () => {
    const s = setup({ refreshIntervalMs: 0 });
    const links = (...names: string[]) => {
      s.kernel.runner.on(
        { cmd: 'ip', args: ['-j', 'link', 'show'] },
        { stdout: JSON.stringify(names.map((ifname) => ({ ifname, flags: ['UP'] }))) },
      );
    };
    const applies = () => s.kernel.runner.callsMatching({ args: ['-j', 'link', 'show'] }).length;
    links();
    s.update(podUpdate('a', '10.0.0.1', 1));
    s.inSync();
    await s.loop.idle();
    assert.ok(s.loop.ready, 'a missing interface is not a failure');
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) delays.push(await s.tick());
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000, 30_000]);
    // An hour of a pod that never starts: one retry (one `ip` listing) per 30 s, not one per 100 ms.
    const before = applies();
    let waited = 0;
    while (waited < 3_600_000) waited += await s.tick();
    assert.equal(applies() - before, 120);
    // Other changes are applied at once and do not restart the backoff.
    s.update(denyFrom('b', 2));
    await s.loop.idle();
    assert.deepEqual(s.applied.slice(-1), [2]);
    assert.equal(s.clock.nextDue()! - s.clock.now(), 30_000);
    // A link event (any link) while work waits: applied at once, and the backoff starts again.
    s.loop.kernelChanged();
    await s.loop.idle();
    assert.equal(s.clock.nextDue()! - s.clock.now(), 100, 'the backoff starts again after a link event');
    // The interface appears: the link event programs its route at once, and nothing is scheduled any more.
    links('calia');
    s.loop.kernelChanged();
    await s.loop.idle();
    assert.deepEqual(
      s.kernel.runner
        .callsMatching({ argsPrefix: ['-force', '-batch'] })
        .map((c) => c.stdin)
        .slice(-1),
      ['route replace 10.0.0.1/32 dev calia scope link metric 1024\n'],
    );
    assert.equal(s.clock.pending, 0, 'no retry timer once nothing waits');
    const settled = applies();
    s.loop.kernelChanged();
    await s.loop.idle();
    assert.equal(applies(), settled, 'a link event applies nothing when no work waits');
    // A second interface that waits starts its own backoff at the minimum.
    links('calia');
    s.update(podUpdate('b', '10.0.0.2', 3));
    await s.loop.idle();
    assert.equal(await s.tick(), 100);
    s.stop();
  });
});
