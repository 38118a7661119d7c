import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resourceKind } from '../decode.js';
import { decodeOk, expectIssue, issuesOf } from '../testing.js';
import type { AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy } from './admin-types.js';

const V1 = 'policy.networking.k8s.io/v1alpha1';
const V2 = 'policy.networking.k8s.io/v1alpha2';

const anp = (spec: unknown, name = 'guard'): unknown => ({
  apiVersion: V1,
  kind: 'AdminNetworkPolicy',
  metadata: { name },
  spec,
});
const banp = (spec: unknown, name = 'default'): unknown => ({
  apiVersion: V1,
  kind: 'BaselineAdminNetworkPolicy',
  metadata: { name },
  spec,
});
const cnp = (spec: unknown, name = 'guard'): unknown => ({
  apiVersion: V2,
  kind: 'ClusterNetworkPolicy',
  metadata: { name },
  spec,
});

const subject = { namespaces: { matchLabels: { team: 'a' } } };
const fromAll = [{ namespaces: {} }];
const rules = (n: number, rule: unknown): unknown[] => Array.from({ length: n }, () => rule);

describe('AdminNetworkPolicy (v1alpha1)', () => {
  it('decodes a full policy, defaulting port protocols to TCP', () => {
    const p = decodeOk(
      anp({
        priority: 10,
        subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } } },
        ingress: [
          { name: 'deny-web', action: 'Deny', from: fromAll, ports: [{ portNumber: { port: 80 } }] },
          { action: 'Pass', from: [{ pods: { namespaceSelector: {}, podSelector: {} } }] },
        ],
        egress: [
          {
            action: 'Allow',
            to: [{ networks: ['10.0.0.0/8', 'fd00::/8'] }],
            ports: [{ portRange: { start: 1, end: 9 } }],
          },
          { action: 'Deny', to: [{ nodes: { matchLabels: { role: 'cp' } } }] },
          { action: 'Allow', to: [{ namespaces: {} }], ports: [{ namedPort: 'web' }] },
        ],
      }),
    ) as AdminNetworkPolicy;
    assert.equal(resourceKind(p), 'AdminNetworkPolicy');
    assert.deepEqual(p.spec.ingress?.[0]?.ports, [{ portNumber: { protocol: 'TCP', port: 80 } }]);
    assert.deepEqual(p.spec.egress?.[0]?.ports, [{ portRange: { protocol: 'TCP', start: 1, end: 9 } }]);
  });

  it('refuses a priority out of range, naming spec.priority', () => {
    expectIssue(anp({ priority: 1001, subject }), 'spec.priority', '1001', '0 to 1000');
    expectIssue(anp({ priority: -1, subject }), 'spec.priority', '-1');
    expectIssue(anp({ subject }), 'spec.priority', 'required');
  });

  it('refuses an unknown action, naming the rule field', () => {
    expectIssue(
      anp({ priority: 1, subject, ingress: [{ action: 'Accept', from: fromAll }] }),
      'spec.ingress[0].action',
      'Accept',
    );
    expectIssue(
      anp({ priority: 1, subject, egress: [{ action: 'Drop', to: fromAll }] }),
      'spec.egress[0].action',
      'Drop',
    );
  });

  it('refuses more than 100 ingress or egress rules', () => {
    expectIssue(
      anp({ priority: 1, subject, ingress: rules(101, { action: 'Deny', from: fromAll }) }),
      'spec.ingress',
      '101 > 100',
    );
    expectIssue(
      anp({ priority: 1, subject, egress: rules(101, { action: 'Deny', to: fromAll }) }),
      'spec.egress',
      '101 > 100',
    );
    decodeOk(anp({ priority: 1, subject, ingress: rules(100, { action: 'Deny', from: fromAll }) }));
  });

  it('refuses a rule name over 100 characters', () => {
    const name = 'x'.repeat(101);
    expectIssue(
      anp({ priority: 1, subject, ingress: [{ name, action: 'Deny', from: fromAll }] }),
      'spec.ingress[0].name',
      '100',
    );
  });

  it('wants exactly one field in a subject, a peer and a port', () => {
    expectIssue(anp({ priority: 1, subject: {} }), 'spec.subject', 'exactly one of namespaces, pods');
    expectIssue(
      anp({ priority: 1, subject: { namespaces: {}, pods: { namespaceSelector: {}, podSelector: {} } } }),
      'spec.subject',
      'found namespaces, pods',
    );
    expectIssue(
      anp({ priority: 1, subject, egress: [{ action: 'Deny', to: [{}] }] }),
      'spec.egress[0].to[0]',
      'exactly one',
    );
    expectIssue(
      anp({
        priority: 1,
        subject,
        ingress: [{ action: 'Deny', from: fromAll, ports: [{ namedPort: 'a', portNumber: { port: 1 } }] }],
      }),
      'spec.ingress[0].ports[0]',
      'exactly one',
    );
    expectIssue(
      anp({ priority: 1, subject, ingress: [{ action: 'Deny', from: [] }] }),
      'spec.ingress[0].from',
      'too few',
    );
    expectIssue(
      anp({ priority: 1, subject, ingress: [{ action: 'Deny' }] }),
      'spec.ingress[0].from',
      'required',
    );
  });

  it('checks networks: CIDRs, at most 25, no repeats', () => {
    expectIssue(
      anp({ priority: 1, subject, egress: [{ action: 'Deny', to: [{ networks: ['10.0.0.1'] }] }] }),
      'spec.egress[0].to[0].networks[0]',
      'Invalid CIDR',
    );
    const many = Array.from({ length: 26 }, (_, i) => `10.${i}.0.0/16`);
    expectIssue(
      anp({ priority: 1, subject, egress: [{ action: 'Deny', to: [{ networks: many }] }] }),
      'spec.egress[0].to[0].networks',
      '26 > 25',
    );
    expectIssue(
      anp({
        priority: 1,
        subject,
        egress: [{ action: 'Deny', to: [{ networks: ['10.0.0.0/8', '10.0.0.0/8'] }] }],
      }),
      'spec.egress[0].to[0].networks[1]',
      'duplicate',
    );
  });

  it('refuses a named port with a networks or nodes peer (the CRD rule)', () => {
    expectIssue(
      anp({
        priority: 1,
        subject,
        egress: [{ action: 'Allow', to: [{ nodes: {} }], ports: [{ namedPort: 'web' }] }],
      }),
      'spec.egress[0]',
      'namedPorts',
    );
  });

  it('is cluster-scoped and refuses unknown fields', () => {
    expectIssue(
      { ...(anp({ priority: 1, subject }) as object), metadata: { name: 'a', namespace: 'x' } },
      'metadata.namespace',
      'cluster-scoped',
    );
    expectIssue(anp({ priority: 1, subject, tier: 'Admin' }), 'spec.tier', 'unknown field');
  });
});

describe('BaselineAdminNetworkPolicy (v1alpha1)', () => {
  it('decodes the policy named default', () => {
    const p = decodeOk(
      banp({ subject, ingress: [{ action: 'Deny', from: fromAll }] }),
    ) as BaselineAdminNetworkPolicy;
    assert.equal(resourceKind(p), 'BaselineAdminNetworkPolicy');
  });

  it('refuses a Pass action, naming the field', () => {
    expectIssue(
      banp({ subject, ingress: [{ action: 'Pass', from: fromAll }] }),
      'spec.ingress[0].action',
      'Pass',
      'Allow, Deny',
    );
    expectIssue(
      banp({
        subject,
        egress: [
          { action: 'Allow', to: fromAll },
          { action: 'Pass', to: fromAll },
        ],
      }),
      'spec.egress[1].action',
      'Pass',
    );
  });

  it('refuses any name but default, and a priority', () => {
    expectIssue(banp({ subject }, 'other'), 'metadata.name', 'default');
    expectIssue(banp({ subject, priority: 3 }), 'spec.priority', 'unknown field');
  });

  it('has no domainNames peers', () => {
    expectIssue(
      banp({ subject, egress: [{ action: 'Deny', to: [{ domainNames: ['a.com'] }] }] }),
      'spec.egress[0].to[0].domainNames',
      'unknown field',
    );
  });
});

describe('ClusterNetworkPolicy (v1alpha2)', () => {
  it('decodes a full policy, defaulting an absent pods namespaceSelector', () => {
    const p = decodeOk(
      cnp({
        tier: 'Admin',
        priority: 5,
        subject: { pods: { podSelector: { matchLabels: { app: 'db' } } } },
        ingress: [
          {
            name: 'r',
            action: 'Accept',
            from: fromAll,
            protocols: [{ tcp: { destinationPort: { number: 80 } } }],
          },
        ],
        egress: [
          {
            action: 'Pass',
            to: [{ networks: ['0.0.0.0/0'] }],
            protocols: [{ udp: { destinationPort: { range: { start: 1, end: 2 } } } }],
          },
          { action: 'Deny', to: [{ namespaces: {} }], protocols: [{ destinationNamedPort: 'dns' }] },
        ],
      }),
    ) as ClusterNetworkPolicy;
    assert.equal(resourceKind(p), 'ClusterNetworkPolicy');
    assert.deepEqual(p.spec.subject.pods?.namespaceSelector, {});
  });

  it('refuses a missing or unknown tier and a priority out of range', () => {
    expectIssue(cnp({ priority: 1, subject }), 'spec.tier', 'required');
    expectIssue(cnp({ tier: 'Developer', priority: 1, subject }), 'spec.tier', 'Developer');
    expectIssue(cnp({ tier: 'Admin', priority: 1001, subject }), 'spec.priority', '1001');
  });

  it('refuses v1alpha1 actions and more than 25 rules', () => {
    expectIssue(
      cnp({ tier: 'Admin', priority: 1, subject, ingress: [{ action: 'Allow', from: fromAll }] }),
      'spec.ingress[0].action',
      'Allow',
      'Accept, Deny, Pass',
    );
    expectIssue(
      cnp({ tier: 'Baseline', priority: 1, subject, egress: rules(26, { action: 'Deny', to: fromAll }) }),
      'spec.egress',
      '26 > 25',
    );
  });

  it('checks protocols: exactly one field, a port, start < end', () => {
    const ing = (protocols: unknown): unknown =>
      cnp({ tier: 'Admin', priority: 1, subject, ingress: [{ action: 'Deny', from: fromAll, protocols }] });
    expectIssue(ing([{}]), 'spec.ingress[0].protocols[0]', 'exactly one');
    expectIssue(ing([{ tcp: {} }]), 'spec.ingress[0].protocols[0].tcp', 'destinationPort');
    expectIssue(
      ing([{ tcp: { destinationPort: { range: { start: 5, end: 5 } } } }]),
      'spec.ingress[0].protocols[0].tcp.destinationPort.range',
      'Start port must be less than End port',
    );
    expectIssue(
      ing([{ tcp: { destinationPort: { number: 70000 } } }]),
      'spec.ingress[0].protocols[0].tcp.destinationPort.number',
      '70000',
    );
  });

  it('stores nothing when any field is bad (every problem reported)', () => {
    const issues = issuesOf(cnp({ tier: 'X', priority: 2000, subject: {} }));
    assert.deepEqual(issues.map((i) => i.path).sort(), ['spec.priority', 'spec.subject', 'spec.tier']);
  });
});
