import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { domainSetId } from './domain-sets.js';
import { CalcGraph } from './graph.js';
import type { ResourceUpdate } from './inputs.js';
import { RecordingSink } from './testing.js';

const C = 'projectcalico.org/v3';
let rev = 1;

function upd(kind: string, name: string, value: unknown, namespace?: string): ResourceUpdate {
  return { key: { kind, name, ...(namespace !== undefined ? { namespace } : {}) }, value, revision: rev++ };
}

const wep = upd(
  'WorkloadEndpoint',
  'node1-k8s-p1-eth0',
  {
    apiVersion: C,
    kind: 'WorkloadEndpoint',
    metadata: {
      name: 'node1-k8s-p1-eth0',
      namespace: 'a',
      labels: { app: 'web', 'projectcalico.org/namespace': 'a', 'projectcalico.org/orchestrator': 'k8s' },
    },
    spec: {
      orchestrator: 'k8s',
      node: 'node1',
      pod: 'p1',
      endpoint: 'eth0',
      interfaceName: 'calip1',
      ipNetworks: ['10.0.0.1/32'],
      profiles: ['kns.a'],
    },
  },
  'a',
);

function gnp(name: string, domains: string[] | undefined): ResourceUpdate {
  return upd(
    'GlobalNetworkPolicy',
    name,
    domains === undefined
      ? undefined
      : {
          apiVersion: C,
          kind: 'GlobalNetworkPolicy',
          metadata: { name },
          spec: {
            selector: "app == 'web'",
            types: ['Egress'],
            egress: [{ action: 'Allow', destination: { domains } }],
          },
        },
  );
}

describe('domain sets in the calculation graph', () => {
  it('share one content-addressed set between rules naming the same patterns, in any case or order', () => {
    assert.equal(domainSetId(['a.test', '*.example.com']).startsWith('d:'), true);
    assert.notEqual(domainSetId(['a.test']), domainSetId(['b.test']));
    const g = new CalcGraph('node1');
    const sink = new RecordingSink();
    g.onUpdates([wep, gnp('one', ['*.Example.com', 'api.test']), gnp('two', ['api.test.', '*.example.com'])]);
    g.onInSync();
    const msgs = g.flush();
    sink.apply(msgs);
    assert.deepEqual(sink.violations, []);
    const id = domainSetId(['*.example.com', 'api.test']);
    assert.deepEqual([...sink.view.domainSets], [[id, ['*.example.com', 'api.test']]]);
    for (const p of ['gnp/one', 'gnp/two'])
      assert.equal(sink.view.policies.get(p)?.outboundRules[0]?.dstDomainSetId, id);
    const kinds = msgs.map((m) => m.kind);
    assert.ok(kinds.indexOf('domainSetUpdate') < kinds.indexOf('activePolicyUpdate'));
  });

  it('removes a set after the last policy using it, and only then', () => {
    const g = new CalcGraph('node1');
    const sink = new RecordingSink();
    g.onUpdates([wep, gnp('one', ['x.test']), gnp('two', ['x.test'])]);
    g.onInSync();
    sink.apply(g.flush());
    g.onUpdates([gnp('one', undefined)]);
    const first = g.flush();
    sink.apply(first);
    assert.equal(first.filter((m) => m.kind === 'domainSetRemove').length, 0);
    g.onUpdates([gnp('two', ['y.test'])]);
    const second = g.flush();
    sink.apply(second);
    assert.deepEqual(sink.violations, []);
    const kinds = second.map((m) => m.kind);
    assert.ok(kinds.indexOf('domainSetUpdate') < kinds.indexOf('activePolicyUpdate'));
    assert.ok(kinds.indexOf('activePolicyUpdate') < kinds.indexOf('domainSetRemove'));
    assert.deepEqual([...sink.view.domainSets.keys()], [domainSetId(['y.test'])]);
    const fresh = new RecordingSink();
    fresh.apply(g.replay());
    assert.deepEqual(fresh.violations, []);
    assert.deepEqual([...fresh.view.domainSets.keys()], [domainSetId(['y.test'])]);
  });
});
