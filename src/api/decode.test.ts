import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeResource, resourceKind } from './decode.js';
import { parseDocuments } from './load.js';
import { decodeOk, expectIssue, gnp, issuesOf } from './testing.js';
import type { GlobalNetworkPolicy } from './v3/policy.js';

const STARTERS = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all-ingress
  namespace: production
spec:
  podSelector: {}
  policyTypes:
    - Ingress
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
spec:
  selector: all()
  ingress:
    - action: Allow
      protocol: UDP
      destination:
        ports:
          - 53
  egress:
    - action: Allow
      protocol: UDP
      destination:
        ports:
          - 53
  types:
    - Ingress
    - Egress
`;

describe('the starter examples', () => {
  it('decode without issues; the Calico policy gets the default tier', () => {
    const docs = parseDocuments(STARTERS, 'starters.yaml');
    assert.ok(docs.ok);
    const [knp, gnpDoc] = docs.value.map((d) => decodeOk(d.value));
    assert.deepEqual(knp, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny-all-ingress', namespace: 'production' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
    const udp53 = { action: 'Allow', protocol: 'UDP', destination: { ports: [53] } };
    assert.deepEqual(gnpDoc, {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'allow-dns', labels: { 'projectcalico.org/tier': 'default' } },
      spec: {
        tier: 'default',
        ingress: [udp53],
        egress: [udp53],
        selector: 'all()',
        types: ['Ingress', 'Egress'],
      },
    });
    assert.equal(resourceKind(decodeOk(docs.value[0]?.value)), 'KubernetesNetworkPolicy');
    assert.equal(resourceKind(decodeOk(docs.value[1]?.value)), 'GlobalNetworkPolicy');
  });
});

describe('apiVersion and kind', () => {
  it('reports an unknown kind as one issue on kind', () => {
    assert.deepEqual(
      issuesOf({
        apiVersion: 'projectcalico.org/v3',
        kind: 'Gadget',
        metadata: { name: 'x' },
        spec: { a: 1 },
      }),
      [{ path: 'kind', message: 'unknown kind "Gadget"' }],
    );
  });

  it('decodes KubeControllersConfiguration with Calico defaults and ClusterInformation, both named default', () => {
    const kcc = decodeResource({
      apiVersion: 'projectcalico.org/v3',
      kind: 'KubeControllersConfiguration',
      metadata: { name: 'default' },
      spec: { controllers: { node: { reconcilerPeriod: '5m' }, loadBalancer: {} } },
      status: { environmentVars: { LOG_LEVEL: 'info' }, runningConfig: { controllers: {} } },
    });
    assert.ok(kcc.ok, JSON.stringify(kcc));
    assert.deepEqual((kcc.value as { spec: unknown }).spec, {
      prometheusMetricsPort: 9094,
      controllers: {
        node: { reconcilerPeriod: '5m', leakGracePeriod: '15m0s' },
        loadBalancer: { assignIPs: 'AllServices' },
      },
    });
    assert.deepEqual((kcc.value as { status: unknown }).status, {
      runningConfig: { controllers: {} },
      environmentVars: { LOG_LEVEL: 'info' },
    });
    expectIssue(
      { apiVersion: 'projectcalico.org/v3', kind: 'KubeControllersConfiguration', metadata: { name: 'p' } },
      'metadata.name',
      'Cannot create a Kube Controllers Configuration resource with a name other than "default"',
    );
    const templates = decodeResource({
      apiVersion: 'projectcalico.org/v3',
      kind: 'KubeControllersConfiguration',
      metadata: { name: 'default' },
      spec: {
        logSeverityScreen: 'Loud',
        controllers: {
          node: {
            hostEndpoint: {
              templates: [{ generateName: 'a', interfaceCIDRs: ['10.0.0.0/8'] }, { generateName: 'a' }],
            },
          },
        },
      },
    });
    assert.ok(!templates.ok);
    const paths = templates.error.map((i) => `${i.path}: ${i.message}`);
    assert.ok(
      paths.some((p) => p.startsWith('spec.logSeverityScreen')),
      paths.join('\n'),
    );
    assert.ok(
      paths.includes(
        'spec.controllers.node.hostEndpoint.templates[1].generateName: Template name must be unique',
      ),
      paths.join('\n'),
    );
    assert.ok(
      paths.includes(
        'spec.controllers.node.hostEndpoint.templates[1]: InterfaceCIDRs or InterfacePattern must be specified',
      ),
      paths.join('\n'),
    );
    const ci = decodeResource({
      apiVersion: 'projectcalico.org/v3',
      kind: 'ClusterInformation',
      metadata: { name: 'default' },
      spec: { clusterGUID: 'abc', clusterType: 'k8s,kdd', calicoVersion: 'v3.32.1', datastoreReady: true },
    });
    assert.ok(ci.ok, JSON.stringify(ci));
    expectIssue(
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'ClusterInformation',
        metadata: { name: 'x' },
        spec: { variant: 1 },
      },
      'spec.variant',
      '',
    );
  });

  it('reports a wrong apiVersion for a known kind, naming the right one', () => {
    expectIssue(
      { apiVersion: 'projectcalico.org/v1', kind: 'Tier', metadata: { name: 't' } },
      'apiVersion',
      '"projectcalico.org/v1"',
      '"projectcalico.org/v3"',
    );
    expectIssue(
      { apiVersion: 'v1', kind: 'NetworkPolicy', metadata: { name: 't' } },
      'apiVersion',
      'networking.k8s.io/v1',
    );
    expectIssue(
      { apiVersion: 'projectcalico.org/v3', kind: 'Pod', metadata: { name: 't' } },
      'apiVersion',
      '"v1"',
    );
  });

  it('requires apiVersion and kind', () => {
    const issues = issuesOf({ metadata: { name: 'x' } });
    assert.deepEqual(
      issues.map((i) => i.path),
      ['apiVersion', 'kind'],
    );
    expectIssue({ apiVersion: 3, kind: 'Tier' }, 'apiVersion', '3');
  });

  it('requires the document to be an object', () => {
    expectIssue('just text', '', '"just text"');
    expectIssue([1, 2], '', 'list');
  });
});

describe('metadata', () => {
  it('keeps the known metadata fields and drops server bookkeeping', () => {
    const meta = {
      name: 'p',
      labels: { 'app.kubernetes.io/name': 'web', empty: '' },
      annotations: { 'Example.com/Note': 'hello' },
      resourceVersion: '12',
      uid: 'u-1',
      creationTimestamp: '2024-01-01T00:00:00Z',
      generation: 2,
      finalizers: ['x/y'],
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u' }],
    };
    const r = decodeOk(gnp({}, { ...meta, managedFields: [{}], selfLink: '/x' }));
    assert.deepEqual(r.metadata, {
      ...meta,
      labels: { ...meta.labels, 'projectcalico.org/tier': 'default' },
    });
  });

  it('checks label keys and values', () => {
    expectIssue(
      gnp({}, { name: 'p', labels: { ['a'.repeat(64)]: 'x' } }),
      `metadata.labels.${'a'.repeat(64)}`,
      'aaaa',
    );
    expectIssue(
      gnp({}, { name: 'p', labels: { 'Bad_Prefix/x': 'y' } }),
      'metadata.labels["Bad_Prefix/x"]',
      '"Bad_Prefix/x"',
    );
    expectIssue(gnp({}, { name: 'p', labels: { a: '-x' } }), 'metadata.labels.a', '"-x"');
    expectIssue(gnp({}, { name: 'p', labels: { a: 5 } }), 'metadata.labels.a', '5');
  });

  it('checks annotation keys and the total size', () => {
    expectIssue(
      gnp({}, { name: 'p', annotations: { 'a/b/c': 'x' } }),
      'metadata.annotations["a/b/c"]',
      '"a/b/c"',
    );
    const big = { a: 'x'.repeat(256 * 1024) };
    expectIssue(gnp({}, { name: 'p', annotations: big }), 'metadata.annotations', 'too large by 1 bytes');
    decodeOk(gnp({}, { name: 'p', annotations: { a: 'x'.repeat(256 * 1024 - 1) } }));
  });
});

describe('round trips', () => {
  const calico = (kind: string, metadata: object, spec: object): object => ({
    apiVersion: 'projectcalico.org/v3',
    kind,
    metadata,
    spec,
  });
  const rule = {
    action: 'Allow',
    protocol: 'TCP',
    source: { selector: 'app == "web"', namespaceSelector: 'global()', notNets: ['10.9.0.0/16'] },
    destination: { ports: [443, '8000:8080', 'metrics'] },
  };
  const samples: object[] = [
    calico(
      'GlobalNetworkPolicy',
      { name: 'g' },
      { order: 5, selector: 'all()', egress: [{ action: 'Deny' }], doNotTrack: true, applyOnForward: true },
    ),
    calico(
      'NetworkPolicy',
      { name: 'n', namespace: 'ns' },
      { tier: 'security', ingress: [rule], serviceAccountSelector: 'x == "y"' },
    ),
    calico('StagedGlobalNetworkPolicy', { name: 'sg' }, { stagedAction: 'Learn', ingress: [rule] }),
    calico('StagedNetworkPolicy', { name: 'sn', namespace: 'ns' }, { stagedAction: 'Delete' }),
    calico(
      'StagedKubernetesNetworkPolicy',
      { name: 'sk', namespace: 'ns' },
      { podSelector: { matchLabels: { a: 'b' } }, policyTypes: ['Egress'], egress: [{}] },
    ),
    calico('Tier', { name: 'security' }, { order: 100 }),
    calico('GlobalNetworkSet', { name: 'gs', labels: { ext: 'yes' } }, { nets: ['8.8.8.8/32'] }),
    calico('NetworkSet', { name: 'ns1', namespace: 'ns' }, { nets: ['10.0.0.0/8'] }),
    calico(
      'HostEndpoint',
      { name: 'h' },
      { node: 'n1', interfaceName: 'eth0', ports: [{ name: 'ssh', protocol: 'TCP', port: 22 }] },
    ),
    calico(
      'WorkloadEndpoint',
      { name: 'w', namespace: 'ns' },
      { node: 'n1', interfaceName: 'cali0', ipNetworks: ['10.65.0.1/32'] },
    ),
    calico(
      'Profile',
      { name: 'kns.ns' },
      { ingress: [{ action: 'Allow' }], labelsToApply: { 'pcns.a': 'b' } },
    ),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'k', namespace: 'ns' },
      spec: { podSelector: {} },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns', labels: { a: 'b' } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'ns' } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns' },
      spec: { nodeName: 'n1' },
      status: { podIP: '10.65.0.1' },
    },
  ];

  it('decode every supported kind, and decoding the result again changes nothing', () => {
    const kinds = new Set<string>();
    for (const sample of samples) {
      const once = decodeOk(sample);
      kinds.add(resourceKind(once));
      const again = decodeOk(JSON.parse(JSON.stringify(once)));
      assert.deepEqual(again, once);
    }
    assert.equal(kinds.size, 15);
  });
});

describe('field names, as Calico decodes them', () => {
  it('match case-insensitively in projectcalico.org/v3 documents (spec.Order, Metadata, exportv4)', () => {
    const r = decodeOk({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      Metadata: { Name: 'p', LABELS: { App: 'x' } },
      Spec: { Order: 10, SELECTOR: 'all()', Ingress: [{ Action: 'Allow', Protocol: 'TCP' }] },
    }) as GlobalNetworkPolicy;
    assert.equal(r.metadata.name, 'p');
    assert.deepEqual(r.metadata.labels, { App: 'x', 'projectcalico.org/tier': 'default' });
    assert.equal(r.spec.order, 10);
    assert.equal(r.spec.selector, 'all()');
    assert.deepEqual(r.spec.ingress, [{ action: 'Allow', protocol: 'TCP' }]);
    const filter = decodeOk({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPFilter',
      metadata: { name: 'f' },
      spec: { exportv4: [{ action: 'Accept', matchOperator: 'In', cidr: '10.0.0.0/8' }] },
    }) as { spec: Record<string, unknown> };
    assert.deepEqual(Object.keys(filter.spec), ['exportV4']);
  });

  it('are case-sensitive for apiVersion and kind, and in Kubernetes documents', () => {
    expectIssue(
      { apiVersion: 'projectcalico.org/v3', Kind: 'GlobalNetworkPolicy', metadata: { name: 'p' } },
      'kind',
      'required',
    );
    expectIssue(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { Name: 'p' } },
      'metadata.name',
      'required',
    );
    expectIssue(
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'p' },
        spec: { PodSelector: {} },
      },
      'spec.PodSelector',
      'unknown field',
    );
  });

  it('keep reporting the other problems of a document that has an unknown field', () => {
    const paths = issuesOf(
      gnp({ colour: 'blue', order: 'first', selector: 'app ==', ingress: [{ action: 'drop' }] }),
    ).map((i) => i.path);
    assert.deepEqual(paths.sort(), ['spec.colour', 'spec.ingress[0].action', 'spec.order', 'spec.selector']);
  });

  it('suggests the kind a misspelt one probably meant', () => {
    expectIssue(
      { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicyy', metadata: { name: 'p' } },
      'kind',
      'did you mean "GlobalNetworkPolicy"?',
    );
    const far = expectIssue(
      { apiVersion: 'projectcalico.org/v3', kind: 'Foo', metadata: { name: 'p' } },
      'kind',
      'unknown kind "Foo"',
    );
    assert.doesNotMatch(far.message, /did you mean/);
  });
});
