import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';
import type { RouteMsg, VtepMsg } from '../../calc/messages.js';
import {
  desiredClusterRoutes,
  diffRoutes,
  kernelRouteFor,
  parseKernelRoutes,
  routeCommand,
} from './cluster-routes.js';
import { ipipDeviceCommands, ipipMtu, ipipRoute } from './ipip.js';
import { DEFAULT_RULES_CONFIG, rulesConfigFrom, type RulesConfig } from './config.js';
import { NAT_CHAIN, renderNatChains, renderNatSets } from './nat.js';
import { ALL_VXLAN_SET, CHAIN, renderStaticChains } from './static.js';
import {
  createDeviceArgs,
  deviceSpec,
  diffEntries,
  fdbCommands,
  needsRecreate,
  neighbourCommands,
  parseFdb,
  parseNeighbours,
  parseVxlanLink,
  updateDeviceArgs,
  vxlanConfigFrom,
} from './vxlan.js';

/** A VXLAN route to node2's block, with changes (`vtepAddr: undefined` drops the VTEP). */
function route(over: Partial<Record<keyof RouteMsg, unknown>>): RouteMsg {
  const r = {
    dst: '10.244.2.0/26',
    type: 'remoteWorkload',
    dstNode: 'node2',
    dstNodeIp: '10.0.2.1',
    borrowed: false,
    poolCidr: '10.244.0.0/16',
    poolType: 'vxlan',
    natOutgoing: true,
    sameSubnet: false,
    encap: 'vxlan',
    vtepAddr: '10.244.2.0',
    ...over,
  };
  if (r.vtepAddr === undefined) delete r.vtepAddr;
  return r as RouteMsg;
}

const READY = { birdProgramsNoEncap: false, vxlanReady: true, ipipReady: false };

describe('cluster routes', () => {
  it('routes VXLAN blocks via the VTEP on vxlan.calico, only once the device is ready', () => {
    assert.deepEqual(kernelRouteFor(route({}), READY), {
      dst: '10.244.2.0/26',
      type: 'unicast',
      via: '10.244.2.0',
      dev: 'vxlan.calico',
      onlink: true,
    });
    assert.equal(kernelRouteFor(route({}), { ...READY, vxlanReady: false }), undefined);
  });

  it('leaves no-encap routes and their blackholes to BIRD, but not those of VXLAN pools', () => {
    const direct = route({ encap: 'none', poolType: 'none', vtepAddr: undefined });
    const crossSubnetLocal = route({ encap: 'none', sameSubnet: true });
    const localNoEncap = route({ type: 'localWorkload', dstNode: 'node1', poolType: 'none', encap: 'none' });
    const localVxlan = route({ type: 'localWorkload', dstNode: 'node1', encap: 'none' });
    const bird = { ...READY, birdProgramsNoEncap: true };
    assert.equal(kernelRouteFor(direct, bird), undefined);
    assert.equal(kernelRouteFor(localNoEncap, bird), undefined);
    assert.deepEqual(kernelRouteFor(crossSubnetLocal, bird), {
      dst: '10.244.2.0/26',
      type: 'unicast',
      via: '10.0.2.1',
    });
    assert.deepEqual(kernelRouteFor(localVxlan, bird), { dst: '10.244.2.0/26', type: 'blackhole' });
    assert.deepEqual(kernelRouteFor(direct, READY), {
      dst: '10.244.2.0/26',
      type: 'unicast',
      via: '10.0.2.1',
    });
    assert.deepEqual(kernelRouteFor(localNoEncap, READY), { dst: '10.244.2.0/26', type: 'blackhole' });
    // Borrowed addresses and /32 blocks go to their workload interface, never blackholed.
    assert.equal(
      kernelRouteFor(route({ type: 'localWorkload', borrowed: true, dst: '10.244.2.5/32' }), READY),
      undefined,
    );
    assert.equal(kernelRouteFor(route({ type: 'localWorkload', dst: '10.244.9.9/32' }), READY), undefined);
  });

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
    const desired = desiredClusterRoutes(
      [
        route({}),
        route({ dst: '10.244.3.0/26', encap: 'none', poolType: 'none', dstNodeIp: '10.0.1.3' }),
        route({ dst: '10.244.1.0/26', type: 'localWorkload', dstNode: 'node1', encap: 'none' }),
      ],
      READY,
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

describe('IPIP (rendered only)', () => {
  it('renders tunl0 and the routes of IPIP pools', () => {
    assert.equal(ipipMtu({ tunnelAddress: '10.244.1.1', parentMtu: 1500 }), 1480);
    assert.deepEqual(ipipDeviceCommands({ tunnelAddress: '10.244.1.1', parentMtu: 9000, mtu: 1400 }), [
      'link set tunl0 mtu 1400 up',
      'addr replace 10.244.1.1/32 dev tunl0',
    ]);
    const r = route({ poolType: 'ipip', encap: 'ipip', vtepAddr: undefined });
    assert.deepEqual(ipipRoute(r), {
      dst: '10.244.2.0/26',
      type: 'unicast',
      via: '10.0.2.1',
      dev: 'tunl0',
      onlink: true,
    });
    assert.equal(kernelRouteFor(r, READY), undefined, 'no tunl0 here');
    assert.deepEqual(kernelRouteFor(r, { ...READY, ipipReady: true }), ipipRoute(r));
    assert.equal(ipipRoute(route({ encap: 'vxlan' })), undefined);
    assert.equal(ipipRoute({ ...r, dst: 'fd00::/122' }), undefined);
  });
});

describe('natOutgoing', () => {
  it('masquerades from natOutgoing pools to destinations outside every pool', () => {
    const chains = renderNatChains({ excludeHostIps: false, tunnelDevices: ['vxlan.calico'] });
    const byName = new Map(chains.map((c) => [c.name, c]));
    assert.deepEqual(byName.get(NAT_CHAIN.postrouting)?.hook, {
      type: 'nat',
      hook: 'postrouting',
      priority: 110,
      policy: 'accept',
    });
    const rules = byName.get(NAT_CHAIN.natOutgoing)?.rules.map((r) => (typeof r === 'string' ? r : r.rule));
    assert.deepEqual(rules, [
      'ip saddr @cali40masq-ipam-pools ip daddr != @cali40all-ipam-pools masquerade',
      'ip6 saddr @cali60masq-ipam-pools ip6 daddr != @cali60all-ipam-pools masquerade',
    ]);
    const withHosts = renderNatChains({ excludeHostIps: true, tunnelDevices: [] });
    assert.match(JSON.stringify(withHosts), /ip daddr != @cali40all-hosts-net masquerade/);
  });

  it('fills the pool and host sets per family', () => {
    const pool = (cidr: string, natOutgoing: boolean) => ({
      cidr,
      vxlanMode: 'Never' as const,
      ipipMode: 'Never' as const,
      natOutgoing,
      disabled: false,
      disableBGPExport: false,
    });
    const sets = renderNatSets(
      [pool('10.244.0.0/16', true), pool('10.99.0.0/16', false), pool('fd00::/64', true)],
      [{ hostname: 'n1', ipv4Addr: '10.0.1.1', ipv6Addr: 'fd01::1' }, { hostname: 'n2' }],
    );
    const of = (name: string) => sets.find((s) => s.name === name)?.elements;
    assert.deepEqual(of('cali40masq-ipam-pools'), ['10.244.0.0/16']);
    assert.deepEqual(of('cali40all-ipam-pools'), ['10.244.0.0/16', '10.99.0.0/16']);
    assert.deepEqual(of('cali60masq-ipam-pools'), ['fd00::/64']);
    assert.deepEqual(of('cali40all-hosts-net'), ['10.0.1.1']);
    assert.deepEqual(of('cali60all-hosts-net'), ['fd01::1']);
  });
});

describe('VXLAN device and entries', () => {
  const local: VtepMsg = {
    node: 'node1',
    parentDeviceIp: '10.0.1.1',
    ipv4Addr: '10.244.1.0',
    mac: '66:01:02:03:04:05',
  };
  const link = [
    {
      ifname: 'vxlan.calico',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1450,
      address: '66:01:02:03:04:05',
      linkinfo: {
        info_kind: 'vxlan',
        info_data: { id: 4096, local: '10.0.1.1', port: 4789, learning: false },
      },
    },
  ];

  it('derives the device from the local VTEP, its parent and the configuration', () => {
    const spec = deviceSpec(vxlanConfigFrom(DEFAULT_FELIX_CONFIG), local, { name: 'eth0', mtu: 1500 });
    assert.deepEqual(spec, {
      vni: 4096,
      port: 4789,
      localIp: '10.0.1.1',
      parent: 'eth0',
      mtu: 1450,
      mac: '66:01:02:03:04:05',
      address: '10.244.1.0',
    });
    assert.equal(
      deviceSpec(vxlanConfigFrom({ ...DEFAULT_FELIX_CONFIG, vxlanMTU: 1400 }), local, {
        name: 'eth0',
        mtu: 9000,
      }).mtu,
      1400,
    );
    assert.deepEqual(createDeviceArgs(spec)[0], [
      'link',
      'add',
      'vxlan.calico',
      'type',
      'vxlan',
      'id',
      '4096',
      'local',
      '10.0.1.1',
      'dstport',
      '4789',
      'nolearning',
      'dev',
      'eth0',
    ]);
    const actual = parseVxlanLink(link);
    assert.ok(actual !== undefined);
    // An adopted device that matches needs nothing; a different VNI or local IP means re-creating it.
    assert.equal(needsRecreate(actual, spec), false);
    assert.deepEqual(updateDeviceArgs(actual, spec), []);
    assert.deepEqual(updateDeviceArgs({ ...actual, mtu: 1500, up: false }, spec), [
      ['link', 'set', 'vxlan.calico', 'mtu', '1450', 'up'],
    ]);
    assert.equal(needsRecreate(actual, { ...spec, vni: 4097 }), true);
    assert.equal(needsRecreate(actual, { ...spec, localIp: '10.0.1.9' }), true);
    assert.equal(parseVxlanLink([]), undefined);
  });

  it('adds missing FDB and neighbour entries and sweeps stale ones', () => {
    const fdb = diffEntries(
      [{ mac: '66:aa:aa:aa:aa:aa', dst: '10.0.2.1' }],
      parseFdb([
        { mac: '66:aa:aa:aa:aa:aa', dst: '10.0.2.9', flags: ['self'], state: 'permanent' },
        { mac: '66:bb:bb:bb:bb:bb', dst: '10.0.3.1', flags: ['self'], state: 'permanent' },
        { mac: '33:33:00:00:00:01', flags: ['self'], state: 'permanent' },
      ]),
      (e) => `${e.mac} ${e.dst}`,
    );
    assert.deepEqual(fdbCommands(fdb), [
      'fdb del 66:aa:aa:aa:aa:aa dev vxlan.calico dst 10.0.2.9 self',
      'fdb del 66:bb:bb:bb:bb:bb dev vxlan.calico dst 10.0.3.1 self',
      'fdb replace 66:aa:aa:aa:aa:aa dev vxlan.calico dst 10.0.2.1 self permanent',
    ]);
    const neigh = diffEntries(
      [{ ip: '10.244.2.0', mac: '66:aa:aa:aa:aa:aa' }],
      parseNeighbours([
        { dst: '10.244.2.0', lladdr: '66:cc:cc:cc:cc:cc', state: ['PERMANENT'] },
        { dst: '10.244.3.0', lladdr: '66:bb:bb:bb:bb:bb', state: ['PERMANENT'] },
        { dst: 'fe80::1', lladdr: '66:bb:bb:bb:bb:bb', state: ['STALE'] },
      ]),
      (e) => e.ip,
    );
    assert.deepEqual(neighbourCommands(neigh), [
      'neigh del 10.244.3.0 dev vxlan.calico',
      'neigh replace 10.244.2.0 lladdr 66:aa:aa:aa:aa:aa dev vxlan.calico nud permanent',
    ]);
  });
});

describe('host rules for the VXLAN overlay', () => {
  const input = (cfg: RulesConfig, vxlan: boolean): string[] =>
    (renderStaticChains(cfg, { vxlan }).find((c) => c.name === CHAIN.input)?.rules ?? []).map((r) =>
      typeof r === 'string' ? r : r.rule,
    );
  const output = (cfg: RulesConfig, vxlan: boolean): string[] =>
    (renderStaticChains(cfg, { vxlan }).find((c) => c.name === CHAIN.output)?.rules ?? []).map((r) =>
      typeof r === 'string' ? r : r.rule,
    );

  it('admits VXLAN from nodes and drops it from anything else, ahead of host endpoints, only while in use', () => {
    const rules = input(DEFAULT_RULES_CONFIG, true);
    const allow = rules.indexOf(
      `meta l4proto udp udp dport 4789 ip saddr @${ALL_VXLAN_SET} fib daddr type local accept`,
    );
    const drop = rules.indexOf('meta nfproto ipv4 meta l4proto udp udp dport 4789 fib daddr type local drop');
    const hep = rules.indexOf(`jump ${CHAIN.fromHep}`);
    assert.ok(allow >= 0 && drop > allow && hep > drop, rules.join('\n'));
    assert.ok(
      output(DEFAULT_RULES_CONFIG, true).includes(
        `meta l4proto udp udp dport 4789 ip daddr @${ALL_VXLAN_SET} fib saddr type local accept`,
      ),
    );
    assert.equal(ALL_VXLAN_SET, 'cali40all-vxlan-net');
    assert.ok(!input(DEFAULT_RULES_CONFIG, false).some((r) => r.includes('4789')));
    assert.ok(!output(DEFAULT_RULES_CONFIG, false).some((r) => r.includes('4789')));
  });

  it('follows the configured VXLAN port', () => {
    const cfg = rulesConfigFrom({ ...DEFAULT_FELIX_CONFIG, vxlanPort: 8472 });
    assert.equal(cfg.vxlanPort, 8472);
    assert.ok(input(cfg, true).some((r) => r.includes('udp dport 8472 ip saddr')));
  });
});
