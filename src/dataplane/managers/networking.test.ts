import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';
import type { DataplaneMessage } from '../../calc/messages.js';
import { FakeCommandRunner } from '../exec/fake-runner.js';
import { TableIntent } from '../nftables/intent.js';
import { send, VXLAN_ROUTE } from '../testing/dataplane.js';
import { ClusterRouteManager } from './cluster-routes.js';
import { NatManager } from './nat.js';
import { VxlanManager } from './vxlan.js';

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
  { kind: 'routeUpdate', route: VXLAN_ROUTE },
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

/** The VXLAN and cluster-route managers, applied in the loop's order. */
function network(runner: FakeCommandRunner, birdProgramsNoEncap: boolean) {
  const vxlan = new VxlanManager(runner, 'node1');
  const routes = new ClusterRouteManager({
    runner,
    birdProgramsNoEncap,
    vxlanReady: () => vxlan.state.state === 'ready',
  });
  const signal = new AbortController().signal;
  return {
    vxlan,
    routes,
    send(msgs: readonly DataplaneMessage[]) {
      for (const mgr of [vxlan, routes]) send(mgr, ...msgs);
    },
    async apply() {
      await vxlan.apply(signal);
      await routes.apply(signal);
    },
  };
}

describe('VXLAN and cluster-route managers', () => {
  it('adopt a matching vxlan.calico, fix its entries and program VXLAN routes', async () => {
    const runner = kernel(LINK);
    const n = network(runner, true);
    n.send(MESSAGES);
    await n.apply();
    assert.equal(n.vxlan.state.state, 'ready');
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
    assert.equal(n.routes.programmed, 1);
    // Nothing changed: the next apply does no kernel work, until a resync is queued (periodic refresh).
    runner.clearCalls();
    await n.apply();
    assert.equal(runner.calls.length, 0);
    n.vxlan.queueResync();
    n.routes.queueResync();
    await n.apply();
    assert.ok(runner.callsMatching({ cmd: 'ip', argsPrefix: ['-d', '-j', 'link'] }).length > 0);
    assert.ok(runner.callsMatching({ cmd: 'ip', argsPrefix: ['-4', '-j', 'route'] }).length > 0);
  });

  it('create the device when it is missing and remove it when no pool uses VXLAN', async () => {
    const runner = kernel(undefined);
    const n = network(runner, false);
    n.send(MESSAGES);
    await n.apply();
    const link = runner.callsMatching({ cmd: 'ip', argsPrefix: ['link'] }).map((c) => c.args.join(' '));
    assert.deepEqual(link, [
      'link add vxlan.calico type vxlan id 4096 local 10.0.1.1 dstport 4789 nolearning dev eth0',
      'link set vxlan.calico address 66:01:02:03:04:05 mtu 1450 up',
    ]);
    const removed = kernel(LINK);
    const n2 = network(removed, false);
    n2.send([{ kind: 'configUpdate', config: DEFAULT_FELIX_CONFIG, sources: {} }]);
    await n2.apply();
    assert.deepEqual(
      removed.callsMatching({ cmd: 'ip', argsPrefix: ['link'] }).map((c) => c.args.join(' ')),
      ['link del vxlan.calico'],
    );
    assert.equal(n2.vxlan.state.state, 'absent');
  });

  it('wait (and say so) while the node IP is on no interface; VXLAN routes come with the device', async () => {
    const runner = kernel(undefined);
    runner.on({ cmd: 'ip', args: ['-j', 'addr', 'show'] }, { stdout: '[]' });
    const n = network(runner, false);
    n.send(MESSAGES);
    await n.apply();
    assert.equal(n.vxlan.state.state, 'waiting');
    assert.equal(n.vxlan.pending, 1);
    assert.deepEqual(runner.callsMatching({ argsPrefix: ['-force', '-batch', '-'] }), []);
    // The address appears: the retry (pending) creates the device, and the routes follow without a message.
    runner.on(
      { cmd: 'ip', args: ['-j', 'addr', 'show'] },
      { stdout: JSON.stringify([{ ifname: 'eth0', mtu: 1500, addr_info: [{ local: '10.0.1.1' }] }]) },
    );
    await n.apply();
    assert.equal(n.vxlan.state.state, 'ready');
    assert.equal(n.vxlan.pending, 0);
    assert.ok(
      runner
        .callsMatching({ cmd: 'ip', argsPrefix: ['-force', '-batch', '-'] })
        .some((c) => (c.stdin ?? '').includes('route replace 10.244.2.0/26')),
    );
  });

  it('forget everything on reset: the replayed messages decide again', async () => {
    const runner = kernel(LINK);
    const n = network(runner, true);
    n.send(MESSAGES);
    await n.apply();
    n.vxlan.reset();
    n.routes.reset();
    runner.clearCalls();
    n.send([{ kind: 'configUpdate', config: DEFAULT_FELIX_CONFIG, sources: {} }]);
    await n.apply();
    // No pool uses VXLAN after the replay: the device goes, and the routes with it.
    assert.deepEqual(
      runner.callsMatching({ cmd: 'ip', argsPrefix: ['link'] }).map((c) => c.args.join(' ')),
      ['link del vxlan.calico'],
    );
    assert.equal(n.routes.routeCount, 0);
  });
});

describe('NatManager', () => {
  it('records the natOutgoing chains and sets in the table, again only after a change', () => {
    const table = new InspectableTable();
    const nat = new NatManager(table);
    for (const m of MESSAGES) send(nat, m);
    nat.completeDeferredWork();
    assert.ok(table.chainNames().includes('nat-cali-nat-outgoing'));
    assert.deepEqual(table.setElements('cali40masq-ipam-pools'), ['10.244.0.0/16']);
    assert.deepEqual(table.setElements('cali40all-hosts-net'), ['10.0.1.1']);
    send(nat, { kind: 'hostMetadataRemove', hostname: 'node1' });
    nat.completeDeferredWork();
    assert.deepEqual(table.setElements('cali40all-hosts-net'), []);
  });
});
