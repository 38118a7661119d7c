import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planUp, type UpSettings } from './up-settings.js';

const EXISTING: UpSettings = {
  nodes: 3,
  network: 'vxlan',
  racks: 2,
  datastore: 'etcd',
  agents: true,
  kubernetes: false,
};

describe('calico-lab up: settings', () => {
  test('a new lab: the defaults fill what was not asked', () => {
    assert.deepEqual(planUp({}), {
      ok: true,
      settings: {
        nodes: 2,
        network: 'bgp',
        racks: 1,
        datastore: 'embedded',
        agents: true,
        kubernetes: false,
      },
      notes: [],
    });
    const v = planUp({ network: 'vxlan', nodes: 3 });
    assert.ok(v.ok);
    assert.equal(v.settings.racks, 2);
    const noAgent = planUp({ agents: false });
    assert.ok(noAgent.ok);
    assert.equal(noAgent.settings.network, 'static');
    assert.deepEqual(planUp({ agents: false, network: 'bgp' }), {
      ok: false,
      problem: '--no-agent needs --network static',
    });
    assert.equal(planUp({ network: 'bgp', racks: 2 }).ok, false);
    const kube = planUp({ kubernetes: true });
    assert.ok(kube.ok);
    assert.equal(kube.settings.kubernetes, true);
  });

  test('--kubernetes with agents: the Kubernetes datastore (unless --datastore), agent-routed networking only', () => {
    const kube = planUp({ kubernetes: true, network: 'vxlan' });
    assert.ok(kube.ok);
    assert.equal(kube.settings.datastore, 'kubernetes');
    assert.equal(kube.settings.network, 'vxlan');
    const noAgent = planUp({ kubernetes: true, agents: false });
    assert.ok(noAgent.ok);
    assert.equal(noAgent.settings.datastore, 'embedded');
    const problem = (p: ReturnType<typeof planUp>): string => (p.ok ? 'ok' : p.problem);
    const beside = planUp({ kubernetes: true, datastore: 'etcd' });
    assert.ok(beside.ok);
    assert.equal(beside.settings.datastore, 'etcd');
    assert.match(
      problem(planUp({ kubernetes: true, network: 'static' })),
      /--kubernetes needs the agents to route pods/,
    );
    // Again on that lab: its settings (the datastore is not asked for, so it is no change).
    const again = planUp({ kubernetes: true }, { ...kube.settings });
    assert.ok(again.ok);
    assert.equal(again.settings.datastore, 'kubernetes');
  });

  test('a lab that is up keeps its own settings, and says so', () => {
    const p = planUp({}, EXISTING);
    assert.ok(p.ok);
    assert.deepEqual(p.settings, EXISTING);
    assert.deepEqual(p.notes, [
      'keeping its settings: networking vxlan, datastore etcd, 2 rack(s), 3 node(s), calico-node on every node',
    ]);
    // Asking for what it has already is fine too.
    assert.equal(planUp({ network: 'vxlan', datastore: 'etcd', racks: 2, nodes: 3 }, EXISTING).ok, true);
  });

  test('more nodes are added; fewer, or another mode, datastore, racks or agents, are refused', () => {
    const more = planUp({ nodes: 5 }, EXISTING);
    assert.ok(more.ok);
    assert.equal(more.settings.nodes, 5);
    assert.match(more.notes[1] ?? '', /adding 2 node\(s\) as asked \(--nodes 5\)/);
    assert.deepEqual(planUp({ nodes: 2 }, EXISTING), {
      ok: false,
      problem: 'the lab has 3 nodes; up adds nodes but never removes them (down first)',
    });
    assert.deepEqual(planUp({ network: 'bgp', datastore: 'embedded' }, EXISTING), {
      ok: false,
      problem:
        'the lab is up with --network vxlan --datastore etcd; --network bgp --datastore embedded needs a new lab (down first)',
    });
    assert.deepEqual(planUp({ agents: false }, EXISTING), {
      ok: false,
      problem: 'the lab is up with agents; --no-agent needs a new lab (down first)',
    });
    assert.deepEqual(planUp({ kubernetes: true }, EXISTING), {
      ok: false,
      problem: 'the lab is up with no --kubernetes; --kubernetes needs a new lab (down first)',
    });
    const kubeLab = { ...EXISTING, kubernetes: true };
    const again = planUp({}, kubeLab);
    assert.ok(again.ok);
    assert.equal(again.settings.kubernetes, true);
    assert.match(again.notes[0] ?? '', /, a Kubernetes control plane$/);
  });
});
