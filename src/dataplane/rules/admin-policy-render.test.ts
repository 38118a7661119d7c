/**
 * Admin policies need nothing new in the nftables dataplane: converted (src/model/admin-policy.ts), they are
 * ordinary tiered policies. Resources -> calc graph -> tier chains, as the agent renders them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CalcGraph } from '../../calc/graph.js';
import type { ResourceUpdate } from '../../calc/inputs.js';
import { RecordingSink } from '../../calc/testing.js';
import { tierChainRef } from './endpoints.js';
import { DEFAULT_RULE_OPTIONS } from './rule.js';
import { renderTierChain } from './tier.js';

const wep = (ns: string, pod: string, ip: string) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'WorkloadEndpoint',
  metadata: {
    name: `node1-k8s-${pod}-eth0`,
    namespace: ns,
    labels: { 'projectcalico.org/namespace': ns, 'projectcalico.org/orchestrator': 'k8s' },
  },
  spec: {
    orchestrator: 'k8s',
    node: 'node1',
    pod,
    endpoint: 'eth0',
    interfaceName: `cali${pod}`,
    ipNetworks: [`${ip}/32`],
    profiles: [`kns.${ns}`],
    ports: [{ name: 'dns', protocol: 'UDP', port: 53 }],
  },
});
const nsObj = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { house: name } },
});

describe('admin policies rendered', () => {
  it('go to the kube-admin and kube-baseline tiers as ordinary policies (Pass returns, Deny drops)', () => {
    const anp = {
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'AdminNetworkPolicy',
      metadata: { name: 'guard' },
      spec: {
        priority: 3,
        subject: { namespaces: { matchLabels: { house: 'y' } } },
        ingress: [
          {
            action: 'Pass',
            from: [{ namespaces: { matchLabels: { house: 'x' } } }],
            ports: [{ namedPort: 'dns' }],
          },
          { action: 'Deny', from: [{ namespaces: {} }], ports: [{ portNumber: { port: 80 } }] },
        ],
      },
    };
    const cnp = {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: { name: 'bl' },
      spec: {
        tier: 'Baseline',
        priority: 1,
        subject: { namespaces: {} },
        ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }],
      },
    };
    const resources: [ResourceUpdate['key'], unknown][] = [
      [{ kind: 'Namespace', name: 'x' }, nsObj('x')],
      [{ kind: 'Namespace', name: 'y' }, nsObj('y')],
      [{ kind: 'WorkloadEndpoint', namespace: 'y', name: 'node1-k8s-b-eth0' }, wep('y', 'b', '10.0.0.2')],
      [{ kind: 'AdminNetworkPolicy', name: 'guard' }, anp],
      [{ kind: 'ClusterNetworkPolicy', name: 'bl' }, cnp],
    ];
    const g = new CalcGraph('node1');
    const sink = new RecordingSink();
    g.onUpdates(resources.map(([key, value], i) => ({ key, value, revision: i + 1 })));
    g.onInSync();
    sink.apply(g.flush());
    assert.deepEqual(sink.violations, []);
    const ep = sink.view.weps.get('wep/y/node1-k8s-b-eth0');
    assert.deepEqual(ep?.tiers, [
      { name: 'kube-admin', defaultAction: 'pass', ingressPolicies: ['kanp/guard'], egressPolicies: [] },
      { name: 'kube-baseline', defaultAction: 'pass', ingressPolicies: ['kcnp/bl'], egressPolicies: [] },
    ]);
    const chain = (i: number): string[] => {
      const t = ep.tiers[i];
      assert.ok(t !== undefined);
      const ref = tierChainRef('filter', 'ingress', t, true);
      assert.ok(ref !== undefined);
      return renderTierChain(ref, sink.view.policies, DEFAULT_RULE_OPTIONS).map((r) => r.rule);
    };
    const admin = chain(0);
    // Rule 0: Pass from namespace x to the named port dns of any protocol (Felix's ProtocolAny set).
    const named = [...sink.view.ipSets.entries()].find(([id]) => id.startsWith('n:'));
    assert.deepEqual([...(named?.[1] ?? [])], ['10.0.0.2,udp,53']);
    assert.match(admin[0] ?? '', /ip saddr @cali40s-\S+ .*@cali40n-\S+ .*return/);
    assert.match(admin.find((r) => r.includes('th dport 80')) ?? '', /meta l4proto 6 .*th dport 80 .*drop/);
    assert.notEqual(admin.at(-1), 'drop', 'a Pass tier does not drop at its end');
    assert.match(chain(1).join('\n'), /drop/);
  });
});
