import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CalcGraph } from './graph.js';
import type { ResourceUpdate } from './inputs.js';
import type { DataplaneMessage } from './messages.js';
import { vtepMacFor } from './network-model.js';
import { affinityResource, blockResource, nodeResource, poolResource, RecordingSink } from './testing.js';

function keyOf(obj: unknown): ResourceUpdate['key'] {
  const o = obj as { kind: string; metadata: { name: string } };
  return { kind: o.kind, name: o.metadata.name };
}

class Harness {
  readonly graph = new CalcGraph('node1');
  readonly sink = new RecordingSink();
  private rev = 1;

  constructor() {
    this.graph.onInSync();
  }

  set(...objs: unknown[]): DataplaneMessage[] {
    return this.apply(objs.map((o) => ({ key: keyOf(o), value: o, revision: this.rev++ })));
  }

  del(...objs: unknown[]): DataplaneMessage[] {
    return this.apply(objs.map((o) => ({ key: keyOf(o), value: null, revision: this.rev++ })));
  }

  private apply(updates: ResourceUpdate[]): DataplaneMessage[] {
    this.graph.onUpdates(updates);
    const msgs = this.graph.flush();
    this.sink.apply(msgs);
    assert.deepEqual(this.sink.violations, []);
    return msgs;
  }

  route(dst: string) {
    return this.sink.view.routes.get(dst);
  }
}

const POOL = '10.244.0.0/16';
const B1 = '10.244.1.0/26';
const B2 = '10.244.2.0/26';

function cluster(h: Harness, mode: string, node2Ip = '10.0.1.2/24'): void {
  h.set(
    nodeResource('node1', '10.0.1.1/24', '10.244.1.0'),
    nodeResource('node2', node2Ip, '10.244.2.0'),
    poolResource('pool', POOL, { vxlanMode: mode, natOutgoing: true }),
    blockResource(B1, 'node1', [[0, 'node1']]),
    affinityResource('node1', B1, 'confirmed'),
    blockResource(B2, 'node2', [
      [0, 'node2'],
      [5, 'node1'],
    ]),
    affinityResource('node2', B2, 'confirmed'),
  );
}

describe('route and VTEP resolution', () => {
  it('routes a remote VXLAN block through the owner VTEP, and our own block locally', () => {
    const h = new Harness();
    cluster(h, 'Always');
    assert.deepEqual(h.route(B2), {
      dst: B2,
      type: 'remoteWorkload',
      dstNode: 'node2',
      dstNodeIp: '10.0.1.2',
      borrowed: false,
      poolCidr: POOL,
      poolType: 'vxlan',
      natOutgoing: true,
      sameSubnet: true,
      encap: 'vxlan',
      vtepAddr: '10.244.2.0',
    });
    assert.equal(h.route(B1)?.type, 'localWorkload');
    assert.equal(h.route(B1)?.encap, 'none');
    // The address node1 borrowed from node2's block is routed to node1 (local), more specifically.
    assert.equal(h.route('10.244.2.5/32')?.type, 'localWorkload');
    assert.equal(h.route('10.244.2.5/32')?.borrowed, true);
    assert.deepEqual(h.sink.view.vteps.get('node2'), {
      node: 'node2',
      parentDeviceIp: '10.0.1.2',
      ipv4Addr: '10.244.2.0',
      mac: vtepMacFor('node2'),
    });
    assert.match(vtepMacFor('node2'), /^66(:[0-9a-f]{2}){5}$/);
    assert.deepEqual(h.sink.view.hosts.get('node2'), {
      hostname: 'node2',
      ipv4Addr: '10.0.1.2',
      ipv4Subnet: '10.0.1.0/24',
    });
  });

  it('CrossSubnet encapsulates only towards nodes on another subnet', () => {
    const h = new Harness();
    cluster(h, 'CrossSubnet');
    assert.equal(h.route(B2)?.encap, 'none');
    assert.equal(h.route(B2)?.vtepAddr, undefined);
    h.set(nodeResource('node2', '10.0.2.2/24', '10.244.2.0'));
    assert.equal(h.route(B2)?.encap, 'vxlan');
    assert.equal(h.route(B2)?.sameSubnet, false);
    // Our own node moving to node2's subnet flips it back.
    h.set(nodeResource('node1', '10.0.2.1/24', '10.244.1.0'));
    assert.equal(h.route(B2)?.encap, 'none');
  });

  it('sends VTEPs before the routes that use them, and removes routes before their VTEP', () => {
    const h = new Harness();
    const msgs = h.set(
      nodeResource('node1', '10.0.1.1/24', '10.244.1.0'),
      nodeResource('node2', '10.0.1.2/24', '10.244.2.0'),
      poolResource('pool', POOL, { vxlanMode: 'Always' }),
      blockResource(B2, 'node2', [[0, 'node2']]),
      affinityResource('node2', B2, 'confirmed'),
    );
    const kinds = msgs.map((m) => m.kind);
    assert.ok(kinds.indexOf('vtepUpdate') < kinds.indexOf('routeUpdate'));
    const gone = h.set(nodeResource('node2', '10.0.1.2/24'));
    assert.deepEqual(
      gone.filter((m) => m.kind !== 'revision' && m.kind !== 'hostMetadataUpdate').map((m) => m.kind),
      ['routeRemove', 'vtepRemove'],
    );
    assert.equal(h.route(B2), undefined);
  });

  it('does not route a block whose affinity is only pending, but routes its borrowed addresses', () => {
    const h = new Harness();
    h.set(
      nodeResource('node1', '10.0.1.1/24'),
      nodeResource('node2', '10.0.1.2/24'),
      nodeResource('node3', '10.0.1.3/24'),
      poolResource('pool', POOL),
      blockResource(B2, 'node2', [[7, 'node3']]),
      affinityResource('node2', B2, 'pending'),
    );
    assert.equal(h.route(B2), undefined);
    assert.equal(h.route('10.244.2.7/32')?.dstNode, 'node3');
    assert.equal(h.route('10.244.2.7/32')?.encap, 'none');
    h.set(affinityResource('node2', B2, 'confirmed'));
    assert.equal(h.route(B2)?.dstNode, 'node2');
    assert.equal(h.route(B2)?.dstNodeIp, '10.0.1.2');
    h.del(blockResource(B2, 'node2', []));
    assert.equal(h.sink.view.routes.size, 0);
  });

  it('waits for the node IP of a remote owner and for its VTEP', () => {
    const h = new Harness();
    h.set(
      nodeResource('node1', '10.0.1.1/24', '10.244.1.0'),
      poolResource('pool', POOL, { vxlanMode: 'Always', natOutgoing: true }),
      blockResource(B2, 'node2', [[0, 'node2']]),
      affinityResource('node2', B2, 'confirmed'),
    );
    assert.equal(h.route(B2), undefined);
    h.set(nodeResource('node2', '10.0.1.2/24'));
    assert.equal(h.route(B2), undefined, 'a VXLAN route needs the VTEP');
    h.set(nodeResource('node2', '10.0.1.2/24', '10.244.2.0'));
    assert.equal(h.route(B2)?.vtepAddr, '10.244.2.0');
    // The pool switching to no encapsulation reroutes directly, natOutgoing follows the pool.
    h.set(poolResource('pool', POOL, {}));
    assert.equal(h.route(B2)?.encap, 'none');
    assert.equal(h.route(B2)?.natOutgoing, false);
    assert.deepEqual(h.sink.view.pools.get('pool'), {
      cidr: POOL,
      vxlanMode: 'Never',
      ipipMode: 'Never',
      natOutgoing: false,
      disabled: false,
      disableBGPExport: false,
    });
  });
});
