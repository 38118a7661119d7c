import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hopProblem, probeHops, type Hop, type PodEnd } from './probe-path.js';
import { bestRoute, parseRoutes } from './routes.js';

const A: PodEnd = {
  key: 'x/a',
  ip: '10.244.1.2',
  node: 'node-1',
  hostIfname: 'cali1111',
  nodeAddress: '172.31.1.1',
};
const B: PodEnd = {
  key: 'x/b',
  ip: '10.244.2.2',
  node: 'node-2',
  hostIfname: 'cali2222',
  nodeAddress: '172.31.1.2',
};
/** hostNetwork pods: node-1's and node-2's own (case) addresses. */
const H1: PodEnd = {
  key: 'h/one',
  ip: '172.18.0.2',
  node: 'node-1',
  hostIfname: '',
  nodeAddress: '172.31.1.1',
  host: true,
};
const H2: PodEnd = {
  key: 'h/two',
  ip: '172.18.0.3',
  node: 'node-2',
  hostIfname: '',
  nodeAddress: '172.31.1.2',
  host: true,
};
const NAT = { masquerade: true };

const NODE1 = parseRoutes(
  JSON.stringify([
    { dst: 'default', gateway: '172.31.1.254', dev: 'eth0' },
    { dst: '10.244.2.0/26', gateway: '172.31.1.2', dev: 'eth0', protocol: 'bird' },
    { dst: '10.244.1.2', dev: 'cali1111', scope: 'link' },
    { dst: '10.244.9.0/26', type: 'blackhole', protocol: 'bird' },
  ]),
);
/** node-1 after the route to node-2's block went away. */
const NODE1_UNROUTED = NODE1.filter((r) => r.dst !== '10.244.2.0/26');
const FABRIC_ROUTES = parseRoutes(
  JSON.stringify([
    { dst: '172.31.1.0/24', dev: 'rack1', protocol: 'kernel', scope: 'link' },
    { dst: '203.0.113.0/24', dev: 'out0', protocol: 'kernel', scope: 'link' },
  ]),
);

const hops = (h: readonly Hop[]): string[] => h.map((x) => `${x.node} ${x.ip} ${x.want.kind}`);

describe('probe path: a timeout is denied only when every hop has a route', () => {
  test('the hops of a probe, both ways', () => {
    assert.deepEqual(hops(probeHops(A, B.ip, B, NAT)), [
      'node-1 10.244.2.2 node',
      'node-2 10.244.2.2 local',
      'node-2 10.244.1.2 node',
      'node-1 10.244.1.2 local',
    ]);
    assert.deepEqual(hops(probeHops(A, A.ip, A, NAT)), ['node-1 10.244.1.2 local']);
    // hostNetwork pods: a node's own address is routed to it by the fabric, and local on the node itself.
    assert.deepEqual(hops(probeHops(A, H2.ip, H2, NAT)), [
      'node-1 172.18.0.3 any',
      'fabric 172.18.0.3 node',
      'node-2 10.244.1.2 node',
      'node-1 10.244.1.2 local',
    ]);
    assert.deepEqual(hops(probeHops(A, H1.ip, H1, NAT)), ['node-1 10.244.1.2 local']);
    assert.deepEqual(hops(probeHops(H1, B.ip, B, NAT)), [
      'node-1 10.244.2.2 node',
      'node-2 10.244.2.2 local',
      'node-2 172.18.0.2 any',
      'fabric 172.18.0.2 node',
    ]);
    assert.deepEqual(hops(probeHops(H1, H2.ip, H2, NAT)), [
      'node-1 172.18.0.3 any',
      'fabric 172.18.0.3 node',
      'node-2 172.18.0.2 any',
      'fabric 172.18.0.2 node',
    ]);
    assert.deepEqual(hops(probeHops(H1, H1.ip, H1, NAT)), []);
    // To the outside: natOutgoing hides the pod behind its node, else the fabric must route the pod back.
    assert.deepEqual(hops(probeHops(A, '203.0.113.10', undefined, NAT)), [
      'node-1 203.0.113.10 any',
      'fabric 203.0.113.10 any',
    ]);
    assert.deepEqual(hops(probeHops(A, '203.0.113.10', undefined, { masquerade: false })), [
      'node-1 203.0.113.10 any',
      'fabric 203.0.113.10 any',
      'fabric 10.244.1.2 node',
    ]);
    assert.deepEqual(hops(probeHops(undefined, B.ip, B, NAT)), [
      'fabric 10.244.2.2 node',
      'node-2 10.244.2.2 local',
    ]);
    assert.deepEqual(hops(probeHops(undefined, '1.2.3.4', undefined, NAT)), ['fabric 1.2.3.4 any']);
  });

  test('a route towards the peer node, or to the pod interface, is a good hop', () => {
    const [out, , , back] = probeHops(A, B.ip, B, NAT);
    assert.equal(hopProblem(out!, NODE1), undefined);
    assert.equal(hopProblem(back!, NODE1), undefined);
    assert.equal(hopProblem({ node: 'node-1', ip: '8.8.8.8', want: { kind: 'any' } }, NODE1), undefined);
  });

  test('the default route into the fabric, a blackhole, or nothing at all is named', () => {
    const [out] = probeHops(A, B.ip, B, NAT);
    assert.equal(
      hopProblem(out!, NODE1_UNROUTED),
      'node-1 routes 10.244.2.2 (x/b) by the default route (via 172.31.1.254 dev eth0), not to node-2 (172.31.1.2)',
    );
    assert.equal(
      hopProblem({ node: 'node-1', ip: '10.244.9.3', want: { kind: 'any' } }, NODE1),
      'node-1 has a blackhole route for 10.244.9.3 (10.244.9.0/26)',
    );
    assert.equal(
      hopProblem(
        { node: 'node-2', ip: '10.244.2.2', want: { kind: 'local', dev: 'cali2222', owner: 'x/b' } },
        [],
      ),
      'node-2 has no route to 10.244.2.2',
    );
    assert.equal(
      hopProblem(
        { node: 'node-1', ip: '10.244.1.2', want: { kind: 'local', dev: 'cali9999', owner: 'x/a' } },
        NODE1,
      ),
      'node-1 routes 10.244.1.2 (x/a) by route 10.244.1.2 (dev cali1111), not to its interface cali9999',
    );
  });

  test('the fabric never routes pods: an unmasqueraded reply from the outside has no way back', () => {
    const [, toOutside, back] = probeHops(A, '203.0.113.10', undefined, { masquerade: false });
    assert.equal(hopProblem(toOutside!, FABRIC_ROUTES), undefined);
    assert.equal(hopProblem(back!, FABRIC_ROUTES), 'fabric has no route to 10.244.1.2');
  });

  test('IPv6: the default route is the family of the address looked up', () => {
    const v6 = parseRoutes(JSON.stringify([{ dst: 'default', gateway: 'fd5c:a1c0:1::fffe', dev: 'eth0' }]));
    assert.equal(bestRoute(v6, 'fd00::1')?.dst, 'default');
    assert.equal(hopProblem({ node: 'node-1', ip: 'fd00::1', want: { kind: 'any' } }, v6), undefined);
  });
});
