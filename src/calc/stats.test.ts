/**
 * The graph's cluster counts behind the `felix_cluster_*` gauges, as Felix's StatsCollector
 * (felix/calc/stats_collector.go) counts them: a host is any host with a Node, a workload or host endpoint,
 * or host-specific configuration (a `node.<host>` FelixConfiguration with a field set).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CalcGraph } from './graph.js';
import type { ResourceUpdate } from './inputs.js';
import { nodeResource } from './testing.js';

const C = 'projectcalico.org/v3';
let revision = 0;

function set(kind: string, name: string, value: unknown, namespace?: string): ResourceUpdate {
  return {
    key: namespace === undefined ? { kind, name } : { kind, name, namespace },
    value,
    revision: ++revision,
  };
}

function wep(node: string, pod: string): ResourceUpdate {
  const name = `${node}-k8s-${pod}-eth0`;
  return set(
    'WorkloadEndpoint',
    name,
    {
      apiVersion: C,
      kind: 'WorkloadEndpoint',
      metadata: { name, namespace: 'default', labels: { 'projectcalico.org/namespace': 'default' } },
      spec: {
        orchestrator: 'k8s',
        node,
        pod,
        endpoint: 'eth0',
        interfaceName: `cali${pod}`,
        ipNetworks: ['10.1.0.1/32'],
      },
    },
    'default',
  );
}

function hep(node: string): ResourceUpdate {
  const name = `${node}-eth0`;
  return set('HostEndpoint', name, {
    apiVersion: C,
    kind: 'HostEndpoint',
    metadata: { name },
    spec: { node, interfaceName: 'eth0' },
  });
}

function felixConfig(name: string, spec: Record<string, unknown>): ResourceUpdate {
  return set('FelixConfiguration', name, {
    apiVersion: C,
    kind: 'FelixConfiguration',
    metadata: { name },
    spec,
  });
}

describe('felix_cluster_num_hosts: every host the graph knows', () => {
  it('counts Nodes, endpoint hosts and host-specific configuration once each', () => {
    const g = new CalcGraph('node1');
    g.onUpdates([
      set('Node', 'node1', nodeResource('node1', '10.0.1.1/24')),
      set('Node', 'node2', nodeResource('node2', '10.0.1.2/24')),
      set('Node', 'node3', nodeResource('node3', '10.0.1.3/24')),
      wep('node2', 'a'),
      wep('node4', 'b'),
      hep('node5'),
      felixConfig('node.node1', { defaultEndpointToHostAction: 'Return' }),
      felixConfig('node.node6', { logSeverityScreen: 'Debug' }),
      felixConfig('node.node7', {}),
      felixConfig('default', { logSeverityScreen: 'Info' }),
    ]);
    g.flush();
    const s = g.stats();
    assert.equal(s.clusterHosts, 6, 'node1..node6; an empty node.node7 configuration is no key in Felix');
    assert.equal(s.clusterWorkloadEndpoints, 2);
    assert.equal(s.clusterHostEndpoints, 1);

    // Hosts go when the last thing naming them goes.
    g.onUpdates([
      set('Node', 'node3', null),
      set('Node', 'node2', null),
      felixConfig('node.node6', {}),
      set('FelixConfiguration', 'node.node1', null),
    ]);
    g.flush();
    assert.equal(g.stats().clusterHosts, 4, 'node1 (its Node), node2 (its endpoint), node4, node5');
  });

  it('counts a cluster of Nodes without any endpoint', () => {
    const g = new CalcGraph('node1');
    g.onUpdates(['node1', 'node2'].map((n, i) => set('Node', n, nodeResource(n, `10.0.1.${i + 1}/24`))));
    g.flush();
    assert.equal(g.stats().clusterHosts, 2);
  });
});
