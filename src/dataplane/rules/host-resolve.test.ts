import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostEndpointMsg } from '../../calc/messages.js';
import { needsInterfaceAddresses, resolveHostEndpoints } from './host-resolve.js';

function hep(name: string, interfaceName: string, v4: string[] = [], v6: string[] = []): HostEndpointMsg {
  return {
    name,
    interfaceName,
    expectedIpv4Addrs: v4,
    expectedIpv6Addrs: v6,
    tiers: [],
    untrackedTiers: [],
    preDnatTiers: [],
    forwardTiers: [],
    profileIds: [],
  };
}

const ADDRS = new Map<string, string[]>([
  ['lo', ['127.0.0.1', '10.0.0.9']],
  ['eth0', ['10.0.0.1', 'fd00::1']],
  ['eth1', ['10.0.1.1']],
  ['eth2', ['10.0.2.1']],
  ['cali1234', ['10.0.3.1']],
]);

const summary = (heps: Map<string, HostEndpointMsg>) =>
  resolveHostEndpoints(heps, ADDRS, ['cali'])
    .instances.map((i) => `${i.key}=${i.endpoint.interfaceName}`)
    .sort();

const ignored = (heps: Map<string, HostEndpointMsg>, addrs: ReadonlyMap<string, string[]> = ADDRS) =>
  resolveHostEndpoints(heps, addrs, ['cali']).ignored.map((i) => `${i.name}: ${i.reason}`);

describe('host endpoint resolution', () => {
  it('named and * endpoints apply as they are; address-only ones find the interface carrying the address', () => {
    const heps = new Map([
      ['named', hep('named', 'eth1', ['10.0.1.1'])],
      ['all', hep('all', '*')],
      ['by-v6', hep('by-v6', '', [], ['fd00::1'])],
    ]);
    assert.deepEqual(summary(heps), ['all=*', 'by-v6@eth0=eth0', 'named=eth1']);
    assert.equal(needsInterfaceAddresses(heps), true);
    heps.delete('by-v6');
    assert.equal(needsInterfaceAddresses(heps), false);
  });

  it('the lowest id wins an interface, whether it matched by name or by address (Felix)', () => {
    const heps = new Map([
      ['named', hep('named', 'eth1')],
      ['z-ip', hep('z-ip', '', ['10.0.1.1', '10.0.2.1'])],
      ['a-ip', hep('a-ip', '', ['10.0.2.1'])],
    ]);
    assert.deepEqual(summary(heps), ['a-ip@eth2=eth2', 'named=eth1']);
    // z-ip lost both interfaces it matched.
    assert.deepEqual(ignored(heps), ['z-ip: host endpoint named is in force on eth1 (lowest name)']);
    // A lower id matching eth1 by address takes it from the endpoint naming it.
    heps.set('b-ip', hep('b-ip', '', ['10.0.1.1']));
    assert.deepEqual(summary(heps), ['a-ip@eth2=eth2', 'b-ip@eth1=eth1']);
    assert.deepEqual(ignored(heps), [
      'named: host endpoint b-ip is in force on eth1 (lowest name)',
      'z-ip: host endpoint b-ip is in force on eth1 (lowest name)',
    ]);
  });

  it('two endpoints naming one interface, or two * endpoints: the lowest id applies, the other is reported', () => {
    const heps = new Map([
      ['hep/node1-eth0-b', hep('node1-eth0-b', 'eth0')],
      ['hep/node1-eth0-a', hep('node1-eth0-a', 'eth0')],
      ['hep/node1-all-z', hep('node1-all-z', '*')],
      ['hep/node1-all-a', hep('node1-all-a', '*')],
    ]);
    assert.deepEqual(summary(heps), ['hep/node1-all-a=*', 'hep/node1-eth0-a=eth0']);
    assert.deepEqual(ignored(heps, new Map()), [
      'node1-all-z: host endpoint node1-all-a is the one for all interfaces (lowest name)',
      'node1-eth0-b: host endpoint node1-eth0-a is in force on eth0 (lowest name)',
    ]);
    assert.equal(needsInterfaceAddresses(heps), false);
    // Without the addresses (no endpoint matches by address), naming still resolves.
    assert.deepEqual(
      resolveHostEndpoints(heps, new Map(), ['cali']).instances.map((i) => i.key),
      ['hep/node1-all-a', 'hep/node1-eth0-a'],
    );
  });

  it('never makes loopback or a workload interface a host endpoint, nor matches an absent address', () => {
    const heps = new Map([
      ['lo', hep('lo', '', ['10.0.0.9'])],
      ['wl', hep('wl', '', ['10.0.3.1'])],
      ['gone', hep('gone', '', ['192.0.2.1'])],
      ['named-wl', hep('named-wl', 'cali1234')],
    ]);
    assert.deepEqual(summary(heps), []);
    // Matching nothing is not a conflict; naming a workload interface is reported.
    assert.deepEqual(ignored(heps), ['named-wl: cali1234 is a workload interface']);
  });
});
