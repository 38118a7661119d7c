import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeKernel, send, tier, wep } from '../testing/dataplane.js';
import { WorkloadRouteManager } from './workload-routes.js';
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';

const signal = new AbortController().signal;

describe('WorkloadRouteManager', () => {
  it('routes each workload address to its interface once it is up, and waits for it until then', async () => {
    const k = fakeKernel();
    const m = new WorkloadRouteManager(k.runner);
    send(m, wep('a', 'calia', '10.0.0.1'));
    await m.apply(signal);
    assert.equal(m.pending, 1, 'calia does not exist yet');
    assert.deepEqual(k.runner.callsMatching({ argsPrefix: ['-force', '-batch'] }), []);
    k.runner.on(
      { cmd: 'ip', args: ['-j', 'link', 'show'] },
      { stdout: '[{"ifname":"calia","flags":["UP"]}]' },
    );
    k.runner.on({ cmd: 'ip', argsPrefix: ['-force', '-batch'] }, {});
    await m.apply(signal);
    assert.equal(m.pending, 0);
    assert.deepEqual(
      k.runner.callsMatching({ argsPrefix: ['-force', '-batch'] }).map((c) => c.stdin),
      ['route replace 10.0.0.1/32 dev calia scope link metric 1024\n'],
    );
    assert.equal(k.runner.callsMatching({ cmd: 'sysctl' }).length, 1);
    // Nothing changed: no kernel work until a message or a queued resync.
    k.runner.clearCalls();
    await m.apply(signal);
    assert.equal(k.runner.calls.length, 0);
    m.queueResync();
    await m.apply(signal);
    assert.ok(k.runner.callsMatching({ cmd: 'ip', args: ['-j', 'link', 'show'] }).length > 0);
  });

  it('reads the kernel only when an endpoint route changes, not when only its policies do', async () => {
    const k = fakeKernel();
    k.runner.on(
      { cmd: 'ip', args: ['-j', 'link', 'show'] },
      { stdout: '[{"ifname":"calia","flags":["UP"]}]' },
    );
    k.runner.on({ cmd: 'ip', argsPrefix: ['-force', '-batch'] }, {});
    const m = new WorkloadRouteManager(k.runner);
    send(m, wep('a', 'calia', '10.0.0.1'));
    await m.apply(signal);
    k.runner.clearCalls();
    // A policy change re-sends the endpoint with new tiers: its routes are the same.
    send(m, wep('a', 'calia', '10.0.0.1', [tier(['gnp/web'])]));
    await m.apply(signal);
    assert.deepEqual(k.runner.calls, [], 'no `ip` listings for a policy change');
    send(m, wep('a', 'calia', '10.0.0.2', [tier(['gnp/web'])]));
    await m.apply(signal);
    assert.deepEqual(
      k.runner.callsMatching({ argsPrefix: ['-force', '-batch'] }).map((c) => c.stdin),
      ['route replace 10.0.0.2/32 dev calia scope link metric 1024\n'],
    );
  });

  it('follows the configured interface prefixes for what it owns', async () => {
    const k = fakeKernel();
    k.runner.on(
      { cmd: 'ip', args: ['-4', '-j', 'route', 'show', 'table', 'main'] },
      {
        stdout: JSON.stringify([
          { dst: '10.0.0.7', dev: 'tap7', protocol: 'boot' },
          { dst: '10.0.0.8', dev: 'cali8', protocol: 'boot' },
        ]),
      },
    );
    k.runner.on({ cmd: 'ip', argsPrefix: ['-force', '-batch'] }, {});
    const m = new WorkloadRouteManager(k.runner);
    send(m, {
      kind: 'configUpdate',
      config: { ...DEFAULT_FELIX_CONFIG, interfacePrefix: 'tap' },
      sources: {},
    });
    await m.apply(signal);
    assert.deepEqual(
      k.runner.callsMatching({ argsPrefix: ['-force', '-batch'] }).map((c) => c.stdin),
      ['route del 10.0.0.7/32 dev tap7 metric 0\n'],
    );
  });
});
