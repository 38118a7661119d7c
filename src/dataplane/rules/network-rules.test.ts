import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';
import type { RouteMsg, VtepMsg } from '../../calc/messages.js';
import { VXLAN_ROUTE } from '../testing/dataplane.js';
import { kernelRouteFor } from './cluster-routes.js';
import { DEFAULT_RULES_CONFIG, rulesConfigFrom, type RulesConfig } from './config.js';
import { BASE_CHAIN, CHAIN } from './names.js';
import { renderNatChains, renderNatSets } from './nat.js';
import { ALL_VXLAN_SET, renderStaticChains } from './static.js';
import { deviceSpec, vxlanConfigFrom } from './vxlan.js';

/** A VXLAN route to node2's block, with changes (`vtepAddr: undefined` drops the VTEP). */
function route(over: Partial<Record<keyof RouteMsg, unknown>>): RouteMsg {
  const r: Record<string, unknown> = { ...VXLAN_ROUTE, ...over };
  if (r.vtepAddr === undefined) delete r.vtepAddr;
  return r as unknown as RouteMsg;
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
});

describe('IPIP (rendered only)', () => {
  it('routes IPv4 blocks of IPIP pools via the node IP on tunl0, once tunl0 exists', () => {
    const r = route({ poolType: 'ipip', encap: 'ipip', vtepAddr: undefined });
    const ipip = { ...READY, ipipReady: true };
    assert.equal(kernelRouteFor(r, READY), undefined, 'no tunl0 here');
    assert.deepEqual(kernelRouteFor(r, ipip), {
      dst: '10.244.2.0/26',
      type: 'unicast',
      via: '10.0.2.1',
      dev: 'tunl0',
      onlink: true,
    });
    assert.equal(kernelRouteFor({ ...r, dst: 'fd00::/122' }, ipip), undefined);
  });
});

describe('natOutgoing', () => {
  it('masquerades from natOutgoing pools to destinations outside every pool', () => {
    const chains = renderNatChains({ excludeHostIps: false, tunnelDevices: ['vxlan.calico'] });
    const byName = new Map(chains.map((c) => [c.name, c]));
    assert.deepEqual(byName.get(BASE_CHAIN.natPostrouting)?.hook, {
      type: 'nat',
      hook: 'postrouting',
      priority: 110,
      policy: 'accept',
    });
    const rules = byName.get(CHAIN.natOutgoing)?.rules.map((r) => (typeof r === 'string' ? r : r.rule));
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

describe('VXLAN device', () => {
  const local: VtepMsg = {
    node: 'node1',
    parentDeviceIp: '10.0.1.1',
    ipv4Addr: '10.244.1.0',
    mac: '66:01:02:03:04:05',
  };
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

describe('Log configuration', () => {
  it('takes logActionRateLimit (validated in Felix form by the parameter table) and its burst', () => {
    const c = DEFAULT_FELIX_CONFIG;
    assert.equal(rulesConfigFrom({ ...c, logActionRateLimit: '10/second' }).logActionRateLimit, '10/second');
    assert.equal(rulesConfigFrom(c).logActionRateLimit, '');
    assert.equal(rulesConfigFrom(c).logActionRateLimitBurst, 5);
    assert.equal(rulesConfigFrom({ ...c, logActionRateLimitBurst: 9 }).logActionRateLimitBurst, 9);
  });
});
