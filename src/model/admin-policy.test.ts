import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  AdminNetworkPolicy,
  AdminNetworkPolicySpec,
  BaselineAdminNetworkPolicy,
  BaselineAdminNetworkPolicySpec,
  ClusterNetworkPolicy,
  ClusterNetworkPolicySpec,
} from '../api/k8s/admin-types.js';
import type { K8sNetworkPolicy } from '../api/k8s/types.js';
import type { Node } from '../api/v3/bgp-types.js';
import { decider, ns, pod } from '../policy/testing.js';
import { convertAdminPolicy, nodeAddressBook } from './admin-policy.js';
import { ModelConverter, sourceKeyOf } from './converter.js';
import type { ModelInput } from './inputs.js';
import type { ModelPolicy } from './types.js';

const anp = (name: string, spec: AdminNetworkPolicySpec): AdminNetworkPolicy => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  kind: 'AdminNetworkPolicy',
  metadata: { name },
  spec,
});
const banp = (spec: BaselineAdminNetworkPolicySpec): BaselineAdminNetworkPolicy => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  kind: 'BaselineAdminNetworkPolicy',
  metadata: { name: 'default' },
  spec,
});
const cnp = (name: string, spec: ClusterNetworkPolicySpec): ClusterNetworkPolicy => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha2',
  kind: 'ClusterNetworkPolicy',
  metadata: { name },
  spec,
});
const knpAllowAll = (namespace: string): K8sNetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-all', namespace },
  spec: { podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] },
});
const node = (name: string, labels: Record<string, string>, address: string): Node => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'Node',
  metadata: { name, labels },
  spec: { addresses: [{ address, type: 'InternalIP' }] },
});

const noNodes = nodeAddressBook([]);
const house = (h: string) => ({ namespaces: { matchLabels: { house: h } } });
const TCP = 6;

describe('admin policy conversion', () => {
  it('places ANP, BANP and CNP in the kube tiers with Calico orders and selectors', () => {
    const a = convertAdminPolicy(
      anp('a', {
        priority: 7,
        subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } } },
        ingress: [
          {
            name: 'r1',
            action: 'Deny',
            from: [house('x')],
            ports: [{ portNumber: { protocol: 'TCP', port: 80 } }],
          },
        ],
      }),
      noNodes,
    );
    assert.deepEqual(a, {
      key: { kind: 'kanp', name: 'a' },
      tier: 'kube-admin',
      order: 7,
      selector: "projectcalico.org/orchestrator == 'k8s' && app == 'db'",
      namespaceSelector: 'all()',
      ingress: [
        {
          metadata: { annotations: { name: 'r1' } },
          action: 'Deny',
          protocol: 'TCP',
          source: { namespaceSelector: "house == 'x'" },
          destination: { ports: [80] },
        },
      ],
      egress: [],
    });
    const b = convertAdminPolicy(
      banp({ subject: house('y'), egress: [{ action: 'Allow', to: [{ networks: ['10.1.2.3/8'] }] }] }),
      noNodes,
    );
    assert.equal(b?.tier, 'kube-baseline');
    assert.equal(b.order, 1000);
    assert.equal(b.selector, "projectcalico.org/orchestrator == 'k8s'");
    assert.deepEqual(b.egress, [{ action: 'Allow', destination: { nets: ['10.0.0.0/8'] } }]);
    const c = convertAdminPolicy(
      cnp('c', {
        tier: 'Baseline',
        priority: 3,
        subject: house('z'),
        egress: [
          {
            action: 'Accept',
            to: [house('a'), { pods: { namespaceSelector: {}, podSelector: {} } }],
            protocols: [
              { udp: { destinationPort: { number: 53 } } },
              { tcp: { destinationPort: { range: { start: 1, end: 3 } } } },
              { tcp: { destinationPort: { number: 4 } } },
            ],
          },
        ],
      }),
      noNodes,
    );
    assert.equal(c?.tier, 'kube-baseline');
    assert.equal(c.order, 3);
    // One rule per protocol (sorted) per peer; TCP 1-3 and 4 merged.
    assert.deepEqual(
      c.egress.map((r) => [r.action, r.protocol, r.destination?.ports, r.destination?.namespaceSelector]),
      [
        ['Allow', 'TCP', ['1:4'], "house == 'a'"],
        ['Allow', 'TCP', ['1:4'], 'all()'],
        ['Allow', 'UDP', [53], "house == 'a'"],
        ['Allow', 'UDP', [53], 'all()'],
      ],
    );
  });

  it('keeps a named port without protocol and fails closed on rules that do not convert', () => {
    const p = convertAdminPolicy(
      anp('n', {
        priority: 1,
        subject: house('x'),
        egress: [
          { action: 'Allow', to: [house('y')], ports: [{ namedPort: 'web' }] },
          { action: 'Pass', to: [{ domainNames: ['a.example.com'] }] },
          { action: 'Allow', to: [{ domainNames: ['b.example.com'] }] },
          { action: 'Deny', to: [house('y')], ports: [{ portRange: { protocol: 'TCP', start: 9, end: 2 } }] },
        ],
      }),
      noNodes,
    );
    assert.deepEqual(p?.egress, [
      { action: 'Allow', destination: { ports: ['web'], namespaceSelector: "house == 'y'" } },
      { action: 'Deny' },
      { action: 'Deny' },
    ]);
  });

  it('resolves nodes peers to the matching nodes addresses, and to no rule when none match', () => {
    const book = nodeAddressBook([
      { labels: { role: 'cp' }, addresses: ['192.168.0.1/24', 'fd00::1'] },
      { labels: { role: 'worker' }, addresses: ['192.168.0.2'] },
    ]);
    const spec: AdminNetworkPolicySpec = {
      priority: 1,
      subject: house('x'),
      egress: [
        { action: 'Deny', to: [{ nodes: { matchLabels: { role: 'cp' } } }] },
        { action: 'Deny', to: [{ nodes: { matchLabels: { role: 'none' } } }] },
      ],
    };
    assert.deepEqual(convertAdminPolicy(anp('n', spec), book)?.egress, [
      { action: 'Deny', destination: { nets: ['192.168.0.1/32', 'fd00::1/128'] } },
    ]);
  });
});

describe('admin policies in the converter', () => {
  it('re-emits a policy with a nodes peer when a Node changes, and only then', () => {
    const policies = new Map<string, ModelPolicy>();
    let calls = 0;
    const c = new ModelConverter({
      tier: () => undefined,
      profile: () => undefined,
      endpoint: () => undefined,
      networkSet: () => undefined,
      policy: (id, p) => {
        calls++;
        if (p === undefined) policies.delete(id);
        else policies.set(id, p);
      },
    });
    const up = (r: ModelInput): void => {
      c.update(sourceKeyOf(r), r);
    };
    up(anp('guard', { priority: 1, subject: house('x'), egress: [{ action: 'Deny', to: [{ nodes: {} }] }] }));
    assert.equal(policies.get('kanp/guard')?.egress, false, 'no node yet: no rule');
    up(node('n1', { a: 'b' }, '10.0.0.1'));
    assert.deepEqual(
      policies.get('kanp/guard')?.outbound.map((r) => r.dst.nets.length),
      [1],
    );
    const before = calls;
    up({ ...node('n1', { a: 'b' }, '10.0.0.1') });
    up(knpAllowAll('x'));
    assert.equal(calls, before + 1, 'an unchanged Node does not re-emit the policy');
    c.update({ kind: 'Node', name: 'n1' }, undefined);
    assert.equal(policies.get('kanp/guard')?.egress, false);
  });
});

describe('admin policies evaluated', () => {
  const base: ModelInput[] = [
    ns('x', { house: 'x' }),
    ns('y', { house: 'y' }),
    pod('x', 'a', '10.0.0.1'),
    pod('y', 'b', '10.0.0.2'),
    pod(
      'y',
      'c',
      '10.0.0.3',
      {},
      {
        ports: [
          { name: 'web', port: 8080 },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
      },
    ),
  ];

  it('an admin Deny beats a NetworkPolicy allowing everything', () => {
    const guard = anp('guard', {
      priority: 5,
      subject: house('y'),
      ingress: [{ action: 'Deny', from: [house('x')] }],
    });
    const d = decider([...base, knpAllowAll('y'), guard]);
    assert.equal(d('10.0.0.1', '10.0.0.2', TCP, 80).verdict, 'Deny');
    assert.equal(decider([...base, knpAllowAll('y')])('10.0.0.1', '10.0.0.2', TCP, 80).verdict, 'Allow');
  });

  it('Pass hands over to NetworkPolicy, then to the baseline when no NetworkPolicy selects the pod', () => {
    const pass = cnp('pass', {
      tier: 'Admin',
      priority: 1,
      subject: house('y'),
      ingress: [{ action: 'Pass', from: [house('x')] }],
    });
    const deny = cnp('deny', {
      tier: 'Admin',
      priority: 2,
      subject: house('y'),
      ingress: [{ action: 'Deny', from: [house('x')] }],
    });
    const baseline = cnp('bl', {
      tier: 'Baseline',
      priority: 1,
      subject: house('y'),
      ingress: [{ action: 'Deny', from: [house('x')] }],
    });
    assert.equal(
      decider([...base, pass, deny, baseline])('10.0.0.1', '10.0.0.2', TCP, 80).verdict,
      'Deny',
      'baseline decides',
    );
    assert.equal(
      decider([...base, pass, deny, baseline, knpAllowAll('y')])('10.0.0.1', '10.0.0.2', TCP, 80).verdict,
      'Allow',
    );
    assert.equal(
      decider([...base, pass, deny])('10.0.0.1', '10.0.0.2', TCP, 80).verdict,
      'Allow',
      'default allow',
    );
    assert.equal(decider([...base, deny])('10.0.0.1', '10.0.0.2', TCP, 80).verdict, 'Deny');
  });

  it('an ANP of lower priority value wins; named ports resolve on the destination pod', () => {
    const allow = anp('allow', {
      priority: 1,
      subject: house('y'),
      ingress: [{ action: 'Allow', from: [house('x')], ports: [{ namedPort: 'web' }] }],
    });
    const deny = anp('deny', {
      priority: 2,
      subject: house('y'),
      ingress: [{ action: 'Deny', from: [house('x')] }],
    });
    const d = decider([...base, allow, deny]);
    assert.equal(d('10.0.0.1', '10.0.0.3', TCP, 8080).verdict, 'Allow');
    assert.equal(d('10.0.0.1', '10.0.0.3', TCP, 80).verdict, 'Deny');
    assert.equal(d('10.0.0.1', '10.0.0.2', TCP, 8080).verdict, 'Deny', 'pod b has no port named web');
    // A named port without protocol matches the port's own protocol (Felix's ProtocolAny).
    const dns = anp('dns', {
      priority: 0,
      subject: house('y'),
      ingress: [{ action: 'Allow', from: [house('x')], ports: [{ namedPort: 'dns' }] }],
    });
    const d2 = decider([...base, dns, deny]);
    assert.equal(d2('10.0.0.1', '10.0.0.3', 17, 53).verdict, 'Allow');
    assert.equal(d2('10.0.0.1', '10.0.0.3', TCP, 53).verdict, 'Deny');
  });

  it('a BANP Deny yields to a NetworkPolicy that selects the pod', () => {
    const bl = banp({ subject: house('y'), ingress: [{ action: 'Deny', from: [house('x')] }] });
    assert.equal(decider([...base, bl])('10.0.0.1', '10.0.0.2', TCP, 80).verdict, 'Deny');
    assert.equal(decider([...base, bl, knpAllowAll('y')])('10.0.0.1', '10.0.0.2', TCP, 80).verdict, 'Allow');
  });
});
