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
    .map((i) => `${i.key}=${i.endpoint.interfaceName}`)
    .sort();

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

  it('a named endpoint keeps its interface; the first id wins among address matches', () => {
    const heps = new Map([
      ['named', hep('named', 'eth1')],
      ['z-ip', hep('z-ip', '', ['10.0.1.1', '10.0.2.1'])],
      ['a-ip', hep('a-ip', '', ['10.0.2.1'])],
    ]);
    assert.deepEqual(summary(heps), ['a-ip@eth2=eth2', 'named=eth1']);
  });

  it('never makes loopback or a workload interface a host endpoint, nor matches an absent address', () => {
    const heps = new Map([
      ['lo', hep('lo', '', ['10.0.0.9'])],
      ['wl', hep('wl', '', ['10.0.3.1'])],
      ['gone', hep('gone', '', ['192.0.2.1'])],
    ]);
    assert.deepEqual(summary(heps), []);
  });
});
