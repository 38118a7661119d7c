import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { k8sNetworkPolicyToCalico, k8sSelectorToCalico } from './k8s-policy.js';

describe('Kubernetes NetworkPolicy conversion', () => {
  it('converts label selectors as libcalico-go does', () => {
    assert.equal(
      k8sSelectorToCalico({ matchLabels: { label: 'value' } }, 'pod'),
      "projectcalico.org/orchestrator == 'k8s' && label == 'value'",
    );
    assert.equal(
      k8sSelectorToCalico({ matchExpressions: [{ key: 'k', operator: 'In', values: ['v1', 'v2'] }] }, 'pod'),
      "projectcalico.org/orchestrator == 'k8s' && k in { 'v1', 'v2' }",
    );
    assert.equal(
      k8sSelectorToCalico({ matchLabels: { namespaceRole: 'dev', namespaceFoo: 'bar' } }, 'namespace'),
      "namespaceFoo == 'bar' && namespaceRole == 'dev'",
    );
    assert.equal(k8sSelectorToCalico({}, 'namespace'), 'all()');
    assert.equal(k8sSelectorToCalico(undefined, 'namespace'), '');
    assert.equal(k8sSelectorToCalico(undefined, 'pod'), "projectcalico.org/orchestrator == 'k8s'");
    assert.equal(
      k8sSelectorToCalico(
        {
          matchExpressions: [
            { key: 'a', operator: 'DoesNotExist' },
            { key: 'b', operator: 'Exists' },
          ],
        },
        'pod',
      ),
      "projectcalico.org/orchestrator == 'k8s' && ! has(a) && has(b)",
    );
  });

  it('puts the policy in tier default at order 1000 and defaults types to Ingress', () => {
    const spec = k8sNetworkPolicyToCalico({ podSelector: {} });
    assert.equal(spec.tier, 'default');
    assert.equal(spec.order, 1000);
    assert.deepEqual(spec.types, ['Ingress']);
    assert.equal(spec.selector, "projectcalico.org/orchestrator == 'k8s'");
    assert.deepEqual(spec.ingress, []);
  });

  it('makes one rule per protocol and peer, merging ports into ranges', () => {
    const spec = k8sNetworkPolicyToCalico({
      podSelector: { matchLabels: { app: 'db' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { app: 'api' } } },
            { ipBlock: { cidr: '10.1.2.3/16', except: ['10.1.5.0/24'] } },
          ],
          ports: [
            { port: 81 },
            { port: 80 },
            { protocol: 'UDP', port: 53 },
            { port: 'metrics' },
            { port: 82, endPort: 84 },
          ],
        },
      ],
    });
    assert.deepEqual(spec.ingress, [
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { selector: "projectcalico.org/orchestrator == 'k8s' && app == 'api'" },
        destination: { ports: ['metrics', '80:84'] },
      },
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { nets: ['10.1.0.0/16'], notNets: ['10.1.5.0/24'] },
        destination: { ports: ['metrics', '80:84'] },
      },
      {
        action: 'Allow',
        protocol: 'UDP',
        source: { selector: "projectcalico.org/orchestrator == 'k8s' && app == 'api'" },
        destination: { ports: [53] },
      },
      {
        action: 'Allow',
        protocol: 'UDP',
        source: { nets: ['10.1.0.0/16'], notNets: ['10.1.5.0/24'] },
        destination: { ports: [53] },
      },
    ]);
  });

  it('a port entry without a port means all ports of that protocol; no ports means any protocol', () => {
    const spec = k8sNetworkPolicyToCalico({
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ ports: [{ protocol: 'UDP' }, { protocol: 'UDP', port: 53 }] }, {}],
    });
    assert.deepEqual(spec.egress, [
      { action: 'Allow', protocol: 'UDP', destination: {} },
      { action: 'Allow', destination: {} },
    ]);
    assert.deepEqual(spec.types, ['Egress']);
  });

  it('a peer with only a namespaceSelector selects every pod of those namespaces', () => {
    const spec = k8sNetworkPolicyToCalico({
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: {} }] }],
    });
    assert.deepEqual(spec.ingress, [
      {
        action: 'Allow',
        source: { selector: "projectcalico.org/orchestrator == 'k8s'", namespaceSelector: 'all()' },
        destination: {},
      },
    ]);
  });
});
