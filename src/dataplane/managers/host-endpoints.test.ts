import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHAIN, MAP_FROM_HEP, MAP_MANGLE_FROM_HEP, MAP_TO_HEP } from '../rules/names.js';
import { hep, ManagerBench, policy, rule, tier } from '../testing/dataplane.js';
import { HostEndpointManager } from './host-endpoints.js';
import { PolicyManager } from './policies.js';
import { ProfileManager } from './profiles.js';
import { StaticManager } from './static.js';

function bench(warnings: string[] = []) {
  return new ManagerBench((t, runner) => {
    const policies = new PolicyManager(t);
    const warn = (msg: string, f: Record<string, unknown>): void => {
      warnings.push(`${msg}: ${String(f.hostEndpoint)} (${String(f.reason)})`);
    };
    return [
      new StaticManager(t),
      policies,
      new ProfileManager(t),
      new HostEndpointManager(t, policies.tiers, runner, warn),
    ];
  });
}

const addresses = (ifaces: Record<string, string>) => ({
  stdout: JSON.stringify(
    Object.entries(ifaces).map(([ifname, local]) => ({ ifname, mtu: 1500, addr_info: [{ local }] })),
  ),
});

describe('HostEndpointManager', () => {
  it('dispatches a named interface through the maps and every other one to the `*` endpoint', async () => {
    const b = bench();
    await b.apply(hep('eth0'), hep('all', { interfaceName: '*' }));
    assert.deepEqual(b.map(MAP_FROM_HEP), [['eth0', 'goto filter-cali-fh-eth0']]);
    assert.deepEqual(b.map(MAP_TO_HEP), [['eth0', 'goto filter-cali-th-eth0']]);
    assert.deepEqual(b.chain(CHAIN.fromHep), [
      'iifname vmap @cali-from-hep-dispatch',
      'iifname != "lo" jump filter-cali-fh-any',
    ]);
    assert.ok(b.chain('filter-cali-fh-eth0')?.includes(`jump ${CHAIN.failsafeIn}`));
    await b.apply(
      { kind: 'hostEndpointRemove', id: 'hep/all' },
      { kind: 'hostEndpointRemove', id: 'hep/eth0' },
    );
    assert.deepEqual(b.chain(CHAIN.fromHep), ['iifname vmap @cali-from-hep-dispatch']);
    assert.deepEqual(b.map(MAP_FROM_HEP), []);
    assert.equal(b.chain('filter-cali-fh-any'), undefined);
    assert.equal(b.chain('filter-cali-fh-eth0'), undefined);
  });

  it('an endpoint matched by expected IPs follows the address from one interface to another', async () => {
    const b = bench();
    const byIp = hep('node', { interfaceName: '', expectedIpv4Addrs: ['10.0.1.1'] });
    await b.apply(byIp);
    assert.deepEqual(b.map(MAP_FROM_HEP), [['eth0', 'goto filter-cali-fh-eth0']]);
    b.kernel.runner.on(
      { cmd: 'ip', args: ['-j', 'addr', 'show'] },
      addresses({ eth0: '192.0.2.1', eth1: '10.0.1.1' }),
    );
    // No message: the interfaces are read again on the next apply (and on every periodic refresh).
    await b.apply();
    assert.deepEqual(b.map(MAP_FROM_HEP), [['eth1', 'goto filter-cali-fh-eth1']]);
    assert.equal(b.chain('filter-cali-fh-eth0'), undefined);
  });

  it('one endpoint per interface and one * endpoint: the lowest name applies, the others are logged once', async () => {
    const warnings: string[] = [];
    const b = bench(warnings);
    const labelled = (name: string, iface: string, profile: string) =>
      hep(name, { interfaceName: iface, profileIds: [profile] });
    const profiles = ['from-a', 'from-b', 'all-a', 'all-b'].map(
      (id) =>
        ({ kind: 'activeProfileUpdate', id, profile: { inboundRules: [], outboundRules: [] } }) as const,
    );
    await b.apply(...profiles, labelled('eth0-b', 'eth0', 'from-b'), labelled('all-b', '*', 'all-b'));
    assert.deepEqual(warnings, []);
    await b.apply(labelled('eth0-a', 'eth0', 'from-a'), labelled('all-a', '*', 'all-a'));
    assert.deepEqual(warnings, [
      'host endpoint ignored: another one applies to its interface: all-b (host endpoint all-a is the one for all interfaces (lowest name))',
      'host endpoint ignored: another one applies to its interface: eth0-b (host endpoint eth0-a is in force on eth0 (lowest name))',
    ]);
    // The chains named after eth0 and `any` are the lower names', and were not removed with the others'.
    assert.ok(b.chain('filter-cali-fh-eth0')?.includes('jump filter-cali-pri-from-a'));
    assert.ok(b.chain('filter-cali-fh-any')?.includes('jump filter-cali-pri-all-a'));
    assert.deepEqual(b.map(MAP_FROM_HEP), [['eth0', 'goto filter-cali-fh-eth0']]);
    // Nothing new is logged on the next apply; removing the winner lets the other one take over.
    await b.apply({ kind: 'hostEndpointRemove', id: 'hep/eth0-a' });
    assert.equal(warnings.length, 2);
    assert.ok(b.chain('filter-cali-fh-eth0')?.includes('jump filter-cali-pri-from-b'));
    assert.deepEqual(b.map(MAP_FROM_HEP), [['eth0', 'goto filter-cali-fh-eth0']]);
  });

  it('the * endpoint with preDNAT policy polices, in mangle, every interface without preDNAT policy of its own', async () => {
    const b = bench();
    const pre = { ...policy([rule({ action: 'deny' })]), preDnat: true, applyOnForward: true };
    await b.apply(
      { kind: 'activePolicyUpdate', id: 'gnp/pre', policy: pre },
      hep('all', { interfaceName: '*', preDnatTiers: [tier(['gnp/pre'])] }),
      hep('eth1', { interfaceName: 'eth1' }),
    );
    assert.deepEqual(b.chain(CHAIN.mangleFromHep), [
      'iifname vmap @cali-mangle-from-hep-dispatch',
      'jump mangle-cali-fh-any',
    ]);
    assert.deepEqual(b.map(MAP_MANGLE_FROM_HEP), []);
    assert.ok(b.chain('mangle-cali-fh-any')?.includes('ct state established,related accept'));
    // eth1's own preDNAT policy replaces the * endpoint's there.
    await b.apply(hep('eth1', { interfaceName: 'eth1', preDnatTiers: [tier(['gnp/pre'])] }));
    assert.deepEqual(b.map(MAP_MANGLE_FROM_HEP), [['eth1', 'goto mangle-cali-fh-eth1']]);
    await b.apply({ kind: 'hostEndpointRemove', id: 'hep/all' });
    assert.deepEqual(b.chain(CHAIN.mangleFromHep), ['iifname vmap @cali-mangle-from-hep-dispatch']);
    assert.equal(b.chain('mangle-cali-fh-any'), undefined);
  });
});
