import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deviceSpec, vxlanConfigFrom } from '../rules/vxlan.js';
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';
import {
  createDeviceArgs,
  diffEntries,
  fdbCommands,
  needsRecreate,
  neighbourCommands,
  parseFdb,
  parseNeighbours,
  parseVxlanLink,
  updateDeviceArgs,
} from './vxlan.js';

describe('vxlan.calico in the kernel', () => {
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

  it('creates the device, adopts a matching one, re-creates one that differs', () => {
    const local = {
      node: 'node1',
      parentDeviceIp: '10.0.1.1',
      ipv4Addr: '10.244.1.0',
      mac: '66:01:02:03:04:05',
    };
    const spec = deviceSpec(vxlanConfigFrom(DEFAULT_FELIX_CONFIG), local, { name: 'eth0', mtu: 1500 });
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
