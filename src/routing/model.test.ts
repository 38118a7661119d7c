import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { computeBgpView, clusterRoutePolicy } from './model.js';
import { StaticSecretSource } from './secrets.js';
import { renderBirdConfig } from './render.js';
import { bgpConfig, bgpFilter, bgpPeer, node } from './testing.js';
import type { BgpView, BirdPeer, RoutingInput } from './types.js';

const n1 = node('node1', { ipv4Address: '10.0.0.1/24' }, { rack: 'a' });
const n2 = node('node2', { ipv4Address: '10.0.0.2/24' }, { rack: 'b' });
const n3 = node('node3', { ipv4Address: '10.0.0.3/24' }, { rack: 'b' });

function view(input: Partial<RoutingInput> & { nodeName?: string }): BgpView {
  const r = computeBgpView({ nodeName: 'node1', nodes: [n1, n2, n3], ...input });
  if (!r.ok) assert.fail(r.error);
  return r.value;
}

function peers(v: BgpView, family: 4 | 6 = 4): BirdPeer[] {
  return [...((family === 4 ? v.v4 : v.v6)?.peers ?? [])];
}

function peerNamed(v: BgpView, name: string): BirdPeer {
  const p = peers(v, 4)
    .concat(peers(v, 6))
    .find((x) => x.name === name);
  if (p === undefined)
    assert.fail(
      `no peer ${name} in ${peers(v)
        .map((x) => x.name)
        .join(', ')}`,
    );
  return p;
}

describe('computeBgpView: node identity', () => {
  it('takes the router id from the node IPv4, CALICO_ROUTER_ID, or the node-name hash', () => {
    assert.equal(view({}).routerId, '10.0.0.1');
    assert.equal(view({ routerId: '192.0.2.77' }).routerId, '192.0.2.77');
    const bytes = createHash('sha256').update('node1').digest();
    const first = bytes[0]! > 223 ? bytes[0]! - 32 : bytes[0]!;
    assert.equal(view({ routerId: 'hash' }).routerId, `${first}.${bytes[1]}.${bytes[2]}.${bytes[3]}`);
  });

  it('fails for a missing node, a node without BGP, and an IPv6-only node without a router id', () => {
    assert.match(String(computeBgpView({ nodeName: 'nope', nodes: [n1] }).ok), /false/);
    const bare = { ...n1, spec: {} };
    const r = computeBgpView({ nodeName: 'node1', nodes: [bare] });
    assert.ok(!r.ok && r.error.includes('spec.bgp'));
    const v6only = node('node1', { ipv6Address: 'fd00::1/64' });
    const r6 = computeBgpView({ nodeName: 'node1', nodes: [v6only] });
    assert.ok(!r6.ok && r6.error.includes('CALICO_ROUTER_ID'));
    const ok6 = computeBgpView({ nodeName: 'node1', nodes: [v6only], routerId: 'hash' });
    assert.ok(ok6.ok && ok6.value.v4 === undefined && ok6.value.v6?.nodeIp === 'fd00::1');
  });

  it('resolves the AS: node, then the default BGPConfiguration, then 64512', () => {
    assert.equal(view({}).asNumber, 64512);
    assert.equal(view({ bgpConfigurations: [bgpConfig('default', { asNumber: 65000 })] }).asNumber, 65000);
    const own = node('node1', { ipv4Address: '10.0.0.1/24', asNumber: 65001 });
    assert.equal(
      view({ nodes: [own, n2], bgpConfigurations: [bgpConfig('default', { asNumber: 65000 })] }).asNumber,
      65001,
    );
  });

  it('maps log severities to BIRD levels; a node configuration (defaulted to Info) overrides the default', () => {
    assert.equal(view({}).logLevel, 'info');
    assert.equal(
      view({ bgpConfigurations: [bgpConfig('default', { logSeverityScreen: 'Debug' })] }).logLevel,
      'debug',
    );
    assert.equal(
      view({ bgpConfigurations: [bgpConfig('default', { logSeverityScreen: 'Warning' })] }).logLevel,
      'none',
    );
    const both = [
      bgpConfig('default', { logSeverityScreen: 'Debug' }),
      bgpConfig('node.node1', { listenPort: 1790 }),
    ];
    assert.equal(view({ bgpConfigurations: both }).logLevel, 'info');
  });

  it('takes the listen port from the node configuration, else the default one', () => {
    assert.equal(view({}).listenPort, undefined);
    const cfgs = [bgpConfig('default', { listenPort: 1790 }), bgpConfig('node.node2', { listenPort: 1791 })];
    assert.equal(view({ bgpConfigurations: cfgs }).listenPort, 1790);
    assert.equal(view({ nodeName: 'node2', bgpConfigurations: cfgs }).listenPort, 1791);
    assert.equal(peerNamed(view({ bgpConfigurations: cfgs }), 'Mesh_10_0_0_2').port, 1791);
    assert.equal(
      view({ bgpConfigurations: [bgpConfig('default', { bindMode: 'NodeIP' })] }).v4?.listenAddress,
      '10.0.0.1',
    );
  });
});

describe('computeBgpView: node-to-node mesh', () => {
  it('peers with every other node; the lower address (in string order) waits', () => {
    const v = view({ nodeName: 'node2' });
    assert.deepEqual(
      peers(v).map((p) => [p.name, p.passive]),
      [
        ['Mesh_10_0_0_1', false],
        ['Mesh_10_0_0_3', true],
      ],
    );
    // String order, as confd compares: "10.0.0.10" < "10.0.0.9".
    const a = node('a', { ipv4Address: '10.0.0.9/24' });
    const b = node('b', { ipv4Address: '10.0.0.10/24' });
    assert.equal(peers(view({ nodeName: 'a', nodes: [a, b] }))[0]?.passive, false);
    assert.equal(peers(view({ nodeName: 'b', nodes: [a, b] }))[0]?.passive, true);
  });

  it('is off when disabled, for route reflectors, and towards route reflectors', () => {
    assert.deepEqual(
      peers(view({ bgpConfigurations: [bgpConfig('default', { nodeToNodeMeshEnabled: false })] })),
      [],
    );
    const rr = node('node3', { ipv4Address: '10.0.0.3/24', routeReflectorClusterID: '224.0.0.1' });
    assert.deepEqual(
      peers(view({ nodes: [n1, n2, rr] })).map((p) => p.name),
      ['Mesh_10_0_0_2'],
    );
    assert.deepEqual(peers(view({ nodeName: 'node3', nodes: [n1, n2, rr] })), []);
  });

  it('uses the mesh password and restart time, and the remote node AS', () => {
    const cfg = bgpConfig('default', {
      nodeMeshPassword: { secretKeyRef: { name: 's', key: 'k' } },
      nodeMeshMaxRestartTime: '1m30.6s',
    });
    const other = node('node2', { ipv4Address: '10.0.0.2/24', asNumber: 65002 });
    const v = view({
      nodes: [n1, other],
      bgpConfigurations: [cfg],
      secrets: new StaticSecretSource({ 's/k': 'pw' }),
    });
    const p = peerNamed(v, 'Mesh_10_0_0_2');
    assert.deepEqual(
      [p.password, p.gracefulRestartTime, p.asNumber, p.sameAs, p.sourceAddress],
      ['pw', 91, 65002, false, '10.0.0.1'],
    );
  });
});

describe('computeBgpView: BGPPeers', () => {
  const noMesh = bgpConfig('default', { nodeToNodeMeshEnabled: false });

  it('emits global peers to all nodes and node-specific ones by node or nodeSelector', () => {
    const ps = [
      bgpPeer('all', { peerIP: '192.0.2.1', asNumber: 65001 }),
      bgpPeer('rack-a', { nodeSelector: 'rack == "a"', peerIP: '192.0.2.2', asNumber: 65002 }),
      bgpPeer('rack-b', { nodeSelector: 'rack == "b"', peerIP: '192.0.2.3', asNumber: 65003 }),
      bgpPeer('by-name', { node: 'node2', peerIP: '192.0.2.4:1790', asNumber: 65004 }),
    ];
    const names = (nodeName: string) =>
      peers(view({ nodeName, bgpConfigurations: [noMesh], bgpPeers: ps })).map((p) => p.name);
    assert.deepEqual(names('node1'), ['Global_192_0_2_1', 'Node_192_0_2_2']);
    assert.deepEqual(names('node2'), ['Global_192_0_2_1', 'Node_192_0_2_3', 'Node_192_0_2_4_port_1790']);
  });

  it('skips a node-specific peering that duplicates a global one, and peerings to itself', () => {
    const ps = [
      bgpPeer('global', { peerIP: '192.0.2.1', asNumber: 65001 }),
      bgpPeer('dup', { node: 'node1', peerIP: '192.0.2.1', asNumber: 65009 }),
      bgpPeer('self', { peerIP: '10.0.0.1', asNumber: 64512 }),
    ];
    const v = view({ bgpConfigurations: [noMesh], bgpPeers: ps });
    // No Global_10_0_0_1 (ourselves); being the target of "self", node1 gets the reverse peerings instead.
    assert.deepEqual(
      peers(v).map((p) => [p.name, p.asNumber]),
      [
        ['Global_192_0_2_1', 65001],
        ['Node_10_0_0_2', 64512],
        ['Node_10_0_0_3', 64512],
      ],
    );
  });

  it('adds the reverse peering on the remote Calico node, unless reversePeering is Manual', () => {
    const fwd = bgpPeer('n1-to-n2', { node: 'node1', peerIP: '10.0.0.2', asNumber: 64512 });
    assert.deepEqual(
      peers(view({ nodeName: 'node2', bgpConfigurations: [noMesh], bgpPeers: [fwd] })).map((p) => p.name),
      ['Node_10_0_0_1'],
    );
    const manual = bgpPeer('n1-to-n2', {
      node: 'node1',
      peerIP: '10.0.0.2',
      asNumber: 64512,
      reversePeering: 'Manual',
    });
    assert.deepEqual(peers(view({ nodeName: 'node2', bgpConfigurations: [noMesh], bgpPeers: [manual] })), []);
  });

  it('expands peerSelector per selected node and family, with the remote node AS', () => {
    const a = node('node1', { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64' }, { role: 'leaf' });
    const s = node(
      'spine',
      { ipv4Address: '10.0.9.1/24', ipv6Address: 'fd00::9/64', asNumber: 65100 },
      { role: 'spine' },
    );
    const p = bgpPeer('leaf-spine', { nodeSelector: 'role == "leaf"', peerSelector: 'role == "spine"' });
    const v = view({ nodes: [a, s], bgpConfigurations: [noMesh], bgpPeers: [p] });
    assert.deepEqual(
      peers(v, 4).map((x) => [x.name, x.asNumber]),
      [['Node_10_0_9_1', 65100]],
    );
    assert.deepEqual(
      peers(v, 6).map((x) => x.name),
      ['Node_fd00__9'],
    );
    // The spine gets the reverse peering.
    assert.deepEqual(
      peers(view({ nodeName: 'spine', nodes: [a, s], bgpConfigurations: [noMesh], bgpPeers: [p] })).map(
        (x) => x.name,
      ),
      ['Node_10_0_0_1'],
    );
  });

  it('makes iBGP peers route-reflector clients unless they share the cluster id', () => {
    const rr = node(
      'rr',
      { ipv4Address: '10.0.0.10/24', routeReflectorClusterID: '224.0.0.1' },
      { rr: 'yes' },
    );
    const rr2 = node(
      'rr2',
      { ipv4Address: '10.0.0.11/24', routeReflectorClusterID: '224.0.0.1' },
      { rr: 'yes' },
    );
    const p = bgpPeer('to-rr', { nodeSelector: 'all()', peerSelector: 'rr == "yes"' });
    const v = view({ nodeName: 'rr', nodes: [n1, rr, rr2], bgpPeers: [p] });
    assert.deepEqual(
      peers(v).map((x) => [x.name, x.rrClusterId]),
      [
        ['Node_10_0_0_1', '224.0.0.1'],
        ['Node_10_0_0_11', undefined],
      ],
    );
  });

  it('applies session options: password, TTL, next hop, local AS, timers', () => {
    const p = bgpPeer('tor', {
      peerIP: '192.0.2.1',
      asNumber: 65001,
      password: { secretKeyRef: { name: 's', key: 'tor' } },
      ttlSecurity: 3,
      keepOriginalNextHop: true,
      keepaliveTime: '1m',
      maxRestartTime: '2h',
      numAllowedLocalASNumbers: 2,
      sourceAddress: 'None',
    });
    const v = view({
      bgpConfigurations: [noMesh],
      bgpPeers: [p],
      secrets: new StaticSecretSource({ 's/tor': 'x' }),
    });
    const t = peerNamed(v, 'Global_192_0_2_1');
    assert.deepEqual(
      [
        t.password,
        t.ttlSecurity,
        t.nextHop,
        t.keepaliveTime,
        t.gracefulRestartTime,
        t.allowLocalAs,
        t.sourceAddress,
      ],
      ['x', 3, 'keep', 60, 7200, 2, undefined],
    );
    // keepOriginalNextHop changes only eBGP sessions; localASNumber makes a session iBGP or eBGP.
    const ibgp = bgpPeer('ibgp', { peerIP: '192.0.2.2', asNumber: 64512, keepOriginalNextHop: true });
    const local = bgpPeer('local', {
      peerIP: '192.0.2.3',
      asNumber: 65100,
      localASNumber: 65100,
      nextHopMode: 'Self',
    });
    const v2 = view({ bgpConfigurations: [noMesh], bgpPeers: [ibgp, local] });
    assert.equal(peerNamed(v2, 'Global_192_0_2_2').nextHop, undefined);
    assert.deepEqual(
      [peerNamed(v2, 'Global_192_0_2_3').sameAs, peerNamed(v2, 'Global_192_0_2_3').nextHop],
      [true, 'self'],
    );
    // A secret that cannot be had refuses the session (passwords.test.ts has the cases).
    const refused = view({ bgpConfigurations: [noMesh], bgpPeers: [p] });
    assert.deepEqual(peers(refused), []);
    assert.deepEqual(
      (refused.v4?.passwordProblems ?? []).map((x) => x.peer),
      ['Global_192_0_2_1'],
    );
  });

  it('keeps only filters that exist, in the peer order', () => {
    const p = bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65001, filters: ['b', 'missing', 'a'] });
    const fs = [
      bgpFilter('a', { importV4: [{ action: 'Accept' }] }),
      bgpFilter('b', { exportV4: [{ action: 'Reject' }] }),
    ];
    const v = view({ bgpConfigurations: [noMesh], bgpPeers: [p], bgpFilters: fs });
    assert.deepEqual(peerNamed(v, 'Global_192_0_2_1').filters, ['b', 'a']);
    assert.deepEqual(
      v.filters.map((f) => f.metadata.name),
      ['a', 'b'],
    );
  });

  it('gives a Calico-node global peer its listen port and the passive rule', () => {
    const p = bgpPeer('to-node3', { peerIP: '10.0.0.3' });
    const cfgs = [noMesh, bgpConfig('node.node3', { listenPort: 1791 })];
    const t = peerNamed(view({ bgpConfigurations: cfgs, bgpPeers: [p] }), 'Global_10_0_0_3_port_1791');
    assert.deepEqual([t.port, t.passive, t.asNumber], [1791, true, 64512]);
  });
});

describe('computeBgpView: routes', () => {
  it('advertises confirmed and implicitly confirmed blocks; pending ones are left out', () => {
    const v = view({
      blocks: [
        { cidr: '10.244.1.0/26', state: 'confirmed' },
        { cidr: '10.244.1.64/26' },
        { cidr: '10.244.1.128/26', state: 'pending' },
        { cidr: '10.244.1.192/26', state: 'pendingDeletion' },
        { cidr: 'fd00:1::/122', state: 'confirmed' },
      ],
    });
    assert.deepEqual(
      v.v4?.blocks.map((b) => `${b.cidr}:${b.state}`),
      ['10.244.1.0/26:confirmed', '10.244.1.192/26:pendingDeletion', '10.244.1.64/26:implicit'],
    );
    const text = renderBirdConfig(v);
    assert.ok(text.includes('route 10.244.1.0/26 blackhole;'));
    assert.ok(!text.includes('10.244.1.128/26'));
    assert.ok(!text.includes('fd00:1::/122'), 'no IPv6 on this node');
  });

  it('decides who programs each pool: VXLAN is Felix, IPIP and no-encap follow programClusterRoutes', () => {
    assert.deepEqual(clusterRoutePolicy({}), { ipip: false, noEncap: true });
    assert.deepEqual(clusterRoutePolicy({ programClusterRoutes: 'Enabled' }), { ipip: true, noEncap: true });
    assert.deepEqual(clusterRoutePolicy({ programClusterRoutes: 'Disabled' }), {
      ipip: false,
      noEncap: false,
    });
    assert.deepEqual(clusterRoutePolicy({ programClusterRoutes: 'EnabledIPIPOnly' }), {
      ipip: true,
      noEncap: false,
    });
    const pools = [
      { spec: { cidr: '10.1.0.0/16' } },
      { spec: { cidr: '10.2.0.0/16', ipipMode: 'Always' } },
      { spec: { cidr: '10.3.0.0/16', vxlanMode: 'CrossSubnet', ipipMode: 'Never' } },
      { spec: { cidr: '10.4.0.0/16', disableBGPExport: true } },
      { spec: { cidr: 'fd00::/48' } },
    ];
    const v = view({ ipPools: pools });
    assert.deepEqual(
      v.v4?.pools.map((p) => [p.cidr, p.encap, p.programmedByBird, p.disableBGPExport]),
      [
        ['10.1.0.0/16', 'none', true, false],
        ['10.2.0.0/16', 'ipip', false, false],
        ['10.3.0.0/16', 'vxlan', false, false],
        ['10.4.0.0/16', 'none', true, true],
      ],
    );
    assert.deepEqual(v.v4.felixTunnelInterfaces, ['*.cali', '*.calico', 'tunl0']);
  });

  it('advertises service ranges unless the node is excluded from load balancers', () => {
    const cfg = bgpConfig('default', {
      serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
      serviceLoadBalancerIPs: [{ cidr: '203.0.113.0/24' }, { cidr: '203.0.113.9/32' }],
    });
    const v = view({ bgpConfigurations: [cfg] });
    assert.deepEqual(v.v4?.staticRoutes, ['10.96.0.0/12', '203.0.113.0/24']);
    const excluded = node(
      'node1',
      { ipv4Address: '10.0.0.1/24' },
      { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' },
    );
    const ve = view({ nodes: [excluded, n2], bgpConfigurations: [cfg] });
    assert.deepEqual([ve.v4?.staticRoutes, ve.v4?.rejectCidrs], [[], ['10.96.0.0/12', '203.0.113.0/24']]);
  });

  it('resolves prefix advertisement communities, the node configuration winning', () => {
    const g = bgpConfig('default', {
      communities: [{ name: 'c', value: '1:1' }],
      prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['c', '2:2:2'] }],
    });
    assert.deepEqual(view({ bgpConfigurations: [g] }).v4?.communities, [
      { cidr: '10.0.0.0/8', values: ['1:1', '2:2:2'] },
    ]);
    const own = bgpConfig('node.node1', {
      prefixAdvertisements: [{ cidr: '10.1.0.0/16', communities: ['3:3'] }],
    });
    assert.deepEqual(view({ bgpConfigurations: [g, own] }).v4?.communities, [
      { cidr: '10.1.0.0/16', values: ['3:3'] },
    ]);
  });
});

describe('computeBgpView: determinism', () => {
  it('renders the same text whatever the order of the resources', () => {
    const ps = [
      bgpPeer('b', { peerIP: '192.0.2.2', asNumber: 65002 }),
      bgpPeer('a', { nodeSelector: 'all()', peerIP: '192.0.2.1', asNumber: 65001 }),
      bgpPeer('c', { node: 'node1', peerIP: '192.0.2.1', asNumber: 65003 }),
    ];
    const pools = [{ spec: { cidr: '10.9.0.0/16' } }, { spec: { cidr: '10.1.0.0/16' } }];
    const blocks = [{ cidr: '10.1.1.0/26' }, { cidr: '10.1.0.0/26' }];
    const one = renderBirdConfig(view({ bgpPeers: ps, ipPools: pools, blocks }));
    const two = renderBirdConfig(
      view({
        nodes: [n3, n2, n1],
        bgpPeers: [...ps].reverse(),
        ipPools: [...pools].reverse(),
        blocks: [...blocks].reverse(),
      }),
    );
    assert.equal(one, two);
    // "a" sorts first, so its node-specific peering to 192.0.2.1 (AS 65001) wins over "c".
    assert.ok(one.includes('neighbor 192.0.2.1 as 65001;'));
  });
});
