import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';
import type { DataplaneMessage } from '../../calc/messages.js';
import { FakeCommandRunner } from '../exec/fake-runner.js';
import { TableIntent } from '../nftables/intent.js';
import { NetworkDataplane } from './network.js';

/** A TableIntent that exposes what was recorded. */
class InspectableTable extends TableIntent {
  chainNames(): string[] {
    return [...this.desired.chains.keys()].sort();
  }
  setElements(name: string): string[] {
    return [...(this.desired.sets.get(name)?.elements ?? [])].sort();
  }
}

const LINK = JSON.stringify([
  {
    ifname: 'vxlan.calico',
    flags: ['UP'],
    mtu: 1450,
    address: '66:01:02:03:04:05',
    linkinfo: { info_kind: 'vxlan', info_data: { id: 4096, local: '10.0.1.1', port: 4789, learning: false } },
  },
]);

const MESSAGES: DataplaneMessage[] = [
  { kind: 'configUpdate', config: DEFAULT_FELIX_CONFIG, sources: {} },
  { kind: 'hostMetadataUpdate', hostname: 'node1', metadata: { hostname: 'node1', ipv4Addr: '10.0.1.1' } },
  {
    kind: 'ipPoolUpdate',
    id: 'pool',
    pool: {
      cidr: '10.244.0.0/16',
      vxlanMode: 'Always',
      ipipMode: 'Never',
      natOutgoing: true,
      disabled: false,
      disableBGPExport: false,
    },
  },
  {
    kind: 'vtepUpdate',
    vtep: { node: 'node1', parentDeviceIp: '10.0.1.1', ipv4Addr: '10.244.1.0', mac: '66:01:02:03:04:05' },
  },
  {
    kind: 'vtepUpdate',
    vtep: { node: 'node2', parentDeviceIp: '10.0.2.1', ipv4Addr: '10.244.2.0', mac: '66:aa:aa:aa:aa:aa' },
  },
  {
    kind: 'routeUpdate',
    route: {
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
    },
  },
];

function kernel(link: string | undefined): FakeCommandRunner {
  const r = new FakeCommandRunner();
  r.on(
    { cmd: 'ip', argsPrefix: ['-d', '-j', 'link', 'show'] },
    link === undefined ? { code: 1 } : { stdout: link },
  );
  r.on(
    { cmd: 'ip', args: ['-j', 'addr', 'show'] },
    {
      stdout: JSON.stringify([
        { ifname: 'lo', mtu: 65536, addr_info: [{ family: 'inet', local: '127.0.0.1' }] },
        { ifname: 'eth0', mtu: 1500, addr_info: [{ family: 'inet', local: '10.0.1.1' }] },
      ]),
    },
  );
  r.on(
    { cmd: 'ip', argsPrefix: ['-4', '-j', 'addr', 'show'] },
    {
      stdout: JSON.stringify([{ addr_info: [{ local: '10.244.1.0', prefixlen: 32 }] }]),
    },
  );
  r.on(
    { cmd: 'bridge', argsPrefix: ['-j', 'fdb'] },
    {
      stdout: JSON.stringify([{ mac: '66:dd:dd:dd:dd:dd', dst: '10.0.9.9', flags: ['self'] }]),
    },
  );
  r.on({ cmd: 'ip', argsPrefix: ['-4', '-j', 'neigh'] }, { stdout: '[]' });
  r.on({ cmd: 'ip', argsPrefix: ['-4', '-j', 'route', 'show', 'table'] }, { stdout: '[]' });
  r.on({ cmd: 'ip', argsPrefix: ['-6', '-j', 'route', 'show', 'table'] }, { stdout: '[]' });
  r.on({ cmd: 'ip', argsPrefix: ['-4', '-j', 'route', 'show', 'dev'] }, { stdout: '[]' });
  r.on({ argsPrefix: ['-force', '-batch', '-'] }, {});
  r.on({ cmd: 'ip', argsPrefix: ['link'] }, {});
  return r;
}

describe('NetworkDataplane', () => {
  it('adopts a matching vxlan.calico, fixes its entries and programs VXLAN routes', async () => {
    const runner = kernel(LINK);
    const table = new InspectableTable();
    const dp = new NetworkDataplane({ hostname: 'node1', runner, table, birdProgramsNoEncap: true });
    for (const m of MESSAGES) if (m.kind !== 'inSync' && m.kind !== 'revision') dp.onMessage(m as never);
    dp.prepare();
    await dp.apply();
    assert.equal(dp.vxlanState.state, 'ready');
    // No re-creation of a device that already matches.
    assert.deepEqual(runner.callsMatching({ cmd: 'ip', argsPrefix: ['link'] }), []);
    const batches = runner
      .callsMatching({ argsPrefix: ['-force', '-batch', '-'] })
      .map((c) => `${c.cmd}: ${c.stdin ?? ''}`);
    assert.deepEqual(batches, [
      'bridge: fdb del 66:dd:dd:dd:dd:dd dev vxlan.calico dst 10.0.9.9 self\n' +
        'fdb replace 66:aa:aa:aa:aa:aa dev vxlan.calico dst 10.0.2.1 self permanent\n',
      'ip: neigh replace 10.244.2.0 lladdr 66:aa:aa:aa:aa:aa dev vxlan.calico nud permanent\n',
      'ip: route replace 10.244.2.0/26 via 10.244.2.0 dev vxlan.calico onlink proto 80\n',
    ]);
    // Nothing changed: the next apply does no kernel work, until a resync is requested.
    runner.clearCalls();
    await dp.apply();
    assert.equal(runner.calls.length, 0);
    dp.requestResync();
    await dp.apply();
    assert.ok(runner.callsMatching({ cmd: 'ip' }).length > 0);
    assert.ok(table.chainNames().includes('nat-cali-nat-outgoing'));
    assert.deepEqual(table.setElements('cali40masq-ipam-pools'), ['10.244.0.0/16']);
    assert.deepEqual(table.setElements('cali40all-hosts-net'), ['10.0.1.1']);
  });

  it('creates the device when it is missing and removes it when no pool uses VXLAN', async () => {
    const runner = kernel(undefined);
    const dp = new NetworkDataplane({
      hostname: 'node1',
      runner,
      table: new TableIntent(),
      birdProgramsNoEncap: false,
    });
    for (const m of MESSAGES) if (m.kind !== 'inSync' && m.kind !== 'revision') dp.onMessage(m as never);
    await dp.apply();
    const link = runner.callsMatching({ cmd: 'ip', argsPrefix: ['link'] }).map((c) => c.args.join(' '));
    assert.deepEqual(link, [
      'link add vxlan.calico type vxlan id 4096 local 10.0.1.1 dstport 4789 nolearning dev eth0',
      'link set vxlan.calico address 66:01:02:03:04:05 mtu 1450 up',
    ]);
    const removed = kernel(LINK);
    const dp2 = new NetworkDataplane({
      hostname: 'node1',
      runner: removed,
      table: new TableIntent(),
      birdProgramsNoEncap: false,
    });
    dp2.onMessage({ kind: 'configUpdate', config: DEFAULT_FELIX_CONFIG, sources: {} });
    await dp2.apply();
    assert.deepEqual(
      removed.callsMatching({ cmd: 'ip', argsPrefix: ['link'] }).map((c) => c.args.join(' ')),
      ['link del vxlan.calico'],
    );
    assert.equal(dp2.vxlanState.state, 'absent');
  });

  it('waits (and says so) while the node IP is on no interface', async () => {
    const runner = kernel(undefined);
    runner.on({ cmd: 'ip', args: ['-j', 'addr', 'show'] }, { stdout: '[]' });
    const dp = new NetworkDataplane({
      hostname: 'node1',
      runner,
      table: new TableIntent(),
      birdProgramsNoEncap: false,
    });
    for (const m of MESSAGES) if (m.kind !== 'inSync' && m.kind !== 'revision') dp.onMessage(m as never);
    await dp.apply();
    assert.equal(dp.vxlanState.state, 'waiting');
    assert.equal(dp.pending, 1);
    // VXLAN routes are not programmed without the device.
    assert.deepEqual(runner.callsMatching({ argsPrefix: ['-force', '-batch', '-'] }), []);
  });
});
