import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resourceKind } from '../decode.js';
import { decodeOk, doc, expectIssue } from '../testing.js';
import type { K8sNetworkPolicy, StagedKubernetesNetworkPolicy } from './types.js';

const knp = (spec: unknown, metadata: object = { name: 'web', namespace: 'prod' }): unknown => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata,
  spec,
});

const ingress = (rule: unknown): unknown => knp({ podSelector: {}, ingress: [rule] });

describe('Kubernetes NetworkPolicy', () => {
  it('decodes a full policy, applying the API server defaults', () => {
    const spec = {
      podSelector: {
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }],
      },
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { role: 'client' } }, namespaceSelector: {} },
            { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
          ],
          ports: [
            { protocol: 'TCP', port: 80 },
            { port: 'http' },
            { protocol: 'UDP', port: 1000, endPort: 2000 },
          ],
        },
      ],
      egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: 'x', operator: 'Exists' }] } }] }],
    };
    const p = decodeOk(knp(spec)) as K8sNetworkPolicy;
    const withDefaults = structuredClone(spec) as typeof spec & { policyTypes?: string[] };
    (withDefaults.ingress[0]?.ports[1] as { protocol?: string }).protocol = 'TCP';
    withDefaults.policyTypes = ['Ingress', 'Egress'];
    assert.deepEqual(p.spec, withDefaults);
    assert.equal(resourceKind(p), 'KubernetesNetworkPolicy');
  });

  it('accepts an empty spec and defaults its policyTypes to Ingress', () => {
    const p = decodeOk(knp({})) as K8sNetworkPolicy;
    assert.deepEqual(p.spec, { policyTypes: ['Ingress'] });
  });

  it('defaults policyTypes to Ingress plus Egress when egress rules exist, and keeps explicit ones', () => {
    const egressOnly = decodeOk(knp({ podSelector: {}, egress: [{}] })) as K8sNetworkPolicy;
    assert.deepEqual(egressOnly.spec.policyTypes, ['Ingress', 'Egress']);
    const explicit = decodeOk(
      knp({ podSelector: {}, egress: [{}], policyTypes: ['Egress'] }),
    ) as K8sNetworkPolicy;
    assert.deepEqual(explicit.spec.policyTypes, ['Egress']);
  });

  it('checks policyTypes values and count', () => {
    expectIssue(knp({ policyTypes: ['ingress'] }), 'spec.policyTypes[0]', '"ingress"');
    expectIssue(knp({ policyTypes: ['Ingress', 'Egress', 'Ingress'] }), 'spec.policyTypes', '3');
  });

  it('checks port protocols and numbers', () => {
    expectIssue(ingress({ ports: [{ protocol: 'ICMP' }] }), 'spec.ingress[0].ports[0].protocol', '"ICMP"');
    expectIssue(ingress({ ports: [{ protocol: 'tcp' }] }), 'spec.ingress[0].ports[0].protocol', '"tcp"');
    expectIssue(ingress({ ports: [{ port: 0 }] }), 'spec.ingress[0].ports[0].port', '0');
    expectIssue(ingress({ ports: [{ port: 65536 }] }), 'spec.ingress[0].ports[0].port', '65536');
    expectIssue(ingress({ ports: [{ port: '80' }] }), 'spec.ingress[0].ports[0].port', '"80"');
    expectIssue(ingress({ ports: [{ port: 'HTTP' }] }), 'spec.ingress[0].ports[0].port', '"HTTP"');
  });

  it('requires endPort to follow a numeric port and not be below it', () => {
    expectIssue(
      ingress({ ports: [{ port: 100, endPort: 50 }] }),
      'spec.ingress[0].ports[0].endPort',
      '50',
      '100',
    );
    expectIssue(
      ingress({ ports: [{ port: 'http', endPort: 50 }] }),
      'spec.ingress[0].ports[0].endPort',
      '"http"',
    );
    expectIssue(ingress({ ports: [{ endPort: 50 }] }), 'spec.ingress[0].ports[0].endPort', '50');
    expectIssue(
      ingress({ ports: [{ port: 1, endPort: 70000 }] }),
      'spec.ingress[0].ports[0].endPort',
      '70000',
    );
  });

  it('requires a peer type and forbids ipBlock with another one', () => {
    expectIssue(ingress({ from: [{}] }), 'spec.ingress[0].from[0]', 'peer');
    expectIssue(
      knp({ egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }),
      'spec.egress[0].to[0]',
      'ipBlock',
    );
  });

  it('checks ipBlock cidr and except entries', () => {
    expectIssue(
      ingress({ from: [{ ipBlock: { cidr: '10.0.0.1' } }] }),
      'spec.ingress[0].from[0].ipBlock.cidr',
      '"10.0.0.1"',
    );
    expectIssue(
      ingress({ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }),
      'spec.ingress[0].from[0].ipBlock.cidr',
      '"10.0.0.0/33"',
    );
    expectIssue(ingress({ from: [{ ipBlock: {} }] }), 'spec.ingress[0].from[0].ipBlock.cidr', 'required');
    const except = (e: string[]): unknown =>
      ingress({ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: e } }] });
    expectIssue(
      except(['10.1.0.0/24']),
      'spec.ingress[0].from[0].ipBlock.except[0]',
      '"10.1.0.0/24"',
      '"10.0.0.0/16"',
    );
    expectIssue(except(['10.0.0.0/16']), 'spec.ingress[0].from[0].ipBlock.except[0]', 'strict subset');
    expectIssue(except(['10.0.0.0/8']), 'spec.ingress[0].from[0].ipBlock.except[0]', '"10.0.0.0/8"');
    expectIssue(except(['fd00::/64']), 'spec.ingress[0].from[0].ipBlock.except[0]', '"fd00::/64"');
    expectIssue(except(['bogus']), 'spec.ingress[0].from[0].ipBlock.except[0]', '"bogus"');
    decodeOk(except(['10.0.5.0/24', '10.0.6.7/32']));
  });

  it('checks label selectors: keys, values, operators', () => {
    expectIssue(
      knp({ podSelector: { matchLabels: { 'a b': 'x' } } }),
      'spec.podSelector.matchLabels["a b"]',
      '"a b"',
    );
    expectIssue(
      knp({ podSelector: { matchLabels: { a: 'x y' } } }),
      'spec.podSelector.matchLabels.a',
      '"x y"',
    );
    const expr = (e: object): unknown => knp({ podSelector: { matchExpressions: [e] } });
    expectIssue(
      expr({ key: 'a', operator: 'Equals', values: ['x'] }),
      'spec.podSelector.matchExpressions[0].operator',
      '"Equals"',
    );
    expectIssue(expr({ key: 'a', operator: 'In' }), 'spec.podSelector.matchExpressions[0].values', '"In"');
    expectIssue(
      expr({ key: 'a', operator: 'NotIn', values: [] }),
      'spec.podSelector.matchExpressions[0].values',
      '"NotIn"',
    );
    expectIssue(
      expr({ key: 'a', operator: 'Exists', values: ['x'] }),
      'spec.podSelector.matchExpressions[0].values',
      '"Exists"',
    );
    expectIssue(expr({ key: '-a', operator: 'Exists' }), 'spec.podSelector.matchExpressions[0].key', '"-a"');
    expectIssue(
      expr({ key: 'a', operator: 'In', values: ['ok', 'not ok'] }),
      'spec.podSelector.matchExpressions[0].values[1]',
      '"not ok"',
    );
    expectIssue(
      knp({ ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'x/y/z': 'a' } } }] }] }),
      'spec.ingress[0].from[0].namespaceSelector.matchLabels["x/y/z"]',
      '"x/y/z"',
    );
  });

  it('decodes strictly', () => {
    expectIssue(knp({ podSelectr: {} }), 'spec.podSelectr', '"podSelectr"');
    expectIssue(ingress({ form: [] }), 'spec.ingress[0].form', '"form"');
  });

  it('checks the name as a DNS subdomain', () => {
    expectIssue(knp({}, { name: 'Web' }), 'metadata.name', '"Web"');
  });
});

describe('StagedKubernetesNetworkPolicy', () => {
  const sknp = (spec: unknown): unknown =>
    doc('StagedKubernetesNetworkPolicy', spec, { name: 'web', namespace: 'prod' });

  it('defaults stagedAction to Set and validates the Kubernetes spec', () => {
    const p = decodeOk(sknp({ podSelector: {}, policyTypes: ['Ingress'] })) as StagedKubernetesNetworkPolicy;
    assert.deepEqual(p.spec, { stagedAction: 'Set', podSelector: {}, policyTypes: ['Ingress'] });
    expectIssue(sknp({ ingress: [{ ports: [{ port: 0 }] }] }), 'spec.ingress[0].ports[0].port', '0');
    expectIssue(sknp({ stagedAction: 'Nope' }), 'spec.stagedAction', '"Nope"');
  });

  it('with Delete allows no other field', () => {
    decodeOk(sknp({ stagedAction: 'Delete', podSelector: {} }));
    expectIssue(sknp({ stagedAction: 'Delete', policyTypes: ['Ingress'] }), 'spec.policyTypes', 'Delete');
    expectIssue(
      sknp({ stagedAction: 'Delete', podSelector: { matchLabels: { a: 'b' } } }),
      'spec.podSelector',
      'Delete',
    );
  });
});
