import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KernelRoute } from '../rules/cluster-routes.js';
import { diffRoutes, parseKernelRoutes, routeCommand } from './routes.js';

describe('cluster routes in the kernel', () => {
  it('reads routes back, diffs them, and renders ip -batch lines with protocol 80', () => {
    const actual = parseKernelRoutes(
      [
        { type: 'blackhole', dst: '10.244.1.0/26', flags: [] },
        { dst: '10.244.2.0/26', gateway: '10.244.2.9', dev: 'vxlan.calico', flags: ['onlink'] },
        { dst: '10.244.3.0/26', gateway: '10.0.1.3', dev: 'eth0', flags: [] },
        { dst: '10.244.7.7', gateway: '10.0.1.3', dev: 'eth0', flags: [] },
      ],
      4,
    );
    assert.equal(actual[3]?.dst, '10.244.7.7/32');
    const desired = new Map<string, KernelRoute>(
      (
        [
          { dst: '10.244.2.0/26', type: 'unicast', via: '10.244.2.0', dev: 'vxlan.calico', onlink: true },
          { dst: '10.244.3.0/26', type: 'unicast', via: '10.0.1.3' },
          { dst: '10.244.1.0/26', type: 'blackhole' },
        ] as const
      ).map((r) => [r.dst, r]),
    );
    const diff = diffRoutes(desired, actual);
    // The block whose VTEP moved is replaced; the direct route matches whatever device the kernel chose.
    assert.deepEqual(
      diff.replace.map((r) => routeCommand(r, 'replace')),
      ['route replace 10.244.2.0/26 via 10.244.2.0 dev vxlan.calico onlink proto 80'],
    );
    assert.deepEqual(
      diff.remove.map((r) => routeCommand(r, 'del')),
      ['route del 10.244.7.7/32 via 10.0.1.3 dev eth0 proto 80'],
    );
    assert.equal(
      routeCommand({ dst: 'fd00::/122', type: 'blackhole' }, 'replace'),
      'route replace blackhole fd00::/122 proto 80',
    );
  });
});
