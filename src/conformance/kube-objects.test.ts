import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { decodeResource } from '../api/decode.js';
import { parseCase, type CasePod } from './cases.js';
import {
  CASE_POD_IMAGE,
  extraServedPorts,
  labelsPatch,
  namespaceObject,
  podFingerprint,
  podObject,
  splitStatePolicies,
} from './kube-objects.js';
import { SYNC_NAMESPACE, syncPods, syncPolicy } from './kube-sync.js';
import { casePorts } from './nftables-driver.js';

const pod: CasePod = {
  namespace: 'x',
  name: 'a',
  labels: { pod: 'a' },
  ip: '10.244.1.10',
  ports: [80],
  protocols: ['TCP'],
  containerPorts: [
    { name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' },
    { name: 'serve-81-udp', containerPort: 81, protocol: 'UDP' },
    { containerPort: 82 },
  ],
};

describe('case -> Kubernetes objects', () => {
  test('a namespace carries the case labels and the name label the API server sets', () => {
    assert.deepEqual(namespaceObject('y', { ns: 'y' }), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'y', labels: { ns: 'y', 'kubernetes.io/metadata.name': 'y' } },
    });
  });

  test('label patches replace the labels (removed keys null), nothing when equal', () => {
    assert.deepEqual(labelsPatch({ a: '1', b: '2' }, { b: '3', c: '4' }), {
      metadata: { labels: { a: null, b: '3', c: '4' } },
    });
    assert.equal(labelsPatch({ a: '1' }, { a: '1' }), undefined);
    assert.deepEqual(labelsPatch(undefined, { a: '1' }), { metadata: { labels: { a: '1' } } });
  });

  test('a pod: bound to its node, at the case address (ipAddrs), the case ports as written', () => {
    const o = podObject(pod, { node: 'node-1', served: [80, 81] });
    assert.deepEqual(o.metadata, {
      name: 'a',
      namespace: 'x',
      labels: { pod: 'a' },
      annotations: { 'cni.projectcalico.org/ipAddrs': '["10.244.1.10"]' },
    });
    assert.deepEqual(o.spec, {
      nodeName: 'node-1',
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'c',
          image: CASE_POD_IMAGE,
          ports: [
            { containerPort: 80, name: 'serve-80-tcp', protocol: 'TCP' },
            { containerPort: 81, name: 'serve-81-udp', protocol: 'UDP' },
            { containerPort: 82, protocol: 'TCP' },
          ],
        },
      ],
    });
    // The decoded Pod keeps the named ports as Calico's conversion would see them.
    assert.equal(decodeResource(o).ok, true);
  });

  test('probed ports no container port declares are served, unnamed, by a second container', () => {
    assert.deepEqual(extraServedPorts(pod, [80, 83, 111, 83]), [83, 111]);
    const o = podObject({ ...pod, containerPorts: [] }, { node: 'n', served: [111, 112] });
    const containers = (o.spec as { containers: { name: string; ports: unknown[] }[] }).containers;
    assert.deepEqual(
      containers.map((c) => [c.name, c.ports]),
      [
        ['c', []],
        [
          'probe',
          [
            { containerPort: 111, protocol: 'TCP' },
            { containerPort: 112, protocol: 'TCP' },
          ],
        ],
      ],
    );
  });

  test('the fingerprint ignores labels and sees node, ports and address', () => {
    const base = podFingerprint(podObject(pod, { node: 'n1', served: [80] }));
    assert.equal(
      base,
      podFingerprint(podObject({ ...pod, labels: { other: 'x' } }, { node: 'n1', served: [80] })),
    );
    assert.notEqual(base, podFingerprint(podObject(pod, { node: 'n2', served: [80] })));
    assert.notEqual(base, podFingerprint(podObject(pod, { node: 'n1', served: [80, 90] })));
    assert.notEqual(
      base,
      podFingerprint(podObject({ ...pod, ip: '10.244.1.11' }, { node: 'n1', served: [80] })),
    );
  });

  test('policies: NetworkPolicies go as written (server metadata dropped), Calico kinds decoded', () => {
    const knp = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny', namespace: 'x', resourceVersion: '5', uid: 'u' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
    const gnp = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'default.g' },
      spec: { selector: 'all()', types: ['Ingress'] },
    };
    const r = splitStatePolicies({
      policies: [
        knp,
        gnp,
        { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: {} },
        { kind: 'Nope' },
      ],
    });
    assert.deepEqual(r.kube, [{ ...knp, metadata: { name: 'deny', namespace: 'x' } }]);
    assert.deepEqual(
      r.calico.map((c) => [c.kind, c.metadata.name]),
      [['GlobalNetworkPolicy', 'default.g']],
    );
    assert.equal(r.problems.length, 2);
    assert.match(
      r.problems[0] ?? '',
      /^policies\[2\]: a NetworkPolicy needs metadata.name and metadata.namespace/,
    );
    assert.match(r.problems[1] ?? '', /^policies\[3\]: /);
  });

  test('every policy of the shared corpus maps to a NetworkPolicy object with no problem', () => {
    const dir = new URL('../../../testdata/conformance/netpol/', import.meta.url);
    let policies = 0;
    for (const f of ['kubernetes-e2e-netpol.json', 'cyclonus-generator.json']) {
      const cases = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as unknown[];
      for (const [i, raw] of cases.entries()) {
        const c = parseCase(raw, `${f}[${i}]`);
        for (const s of c.states) {
          const r = splitStatePolicies(s);
          assert.deepEqual(r.problems, [], c.id);
          assert.equal(r.calico.length, 0);
          policies += r.kube.length;
          for (const p of s.pods) podObject(p, { node: 'node-1', served: casePorts(c) });
        }
      }
    }
    assert.ok(policies > 100, `${policies} policies`);
  });
});

describe('the sync barrier objects', () => {
  test('the policy admits the token only in both pod and namespace, on the given port', () => {
    const p = syncPolicy('t7', 7070);
    assert.equal(p.metadata.namespace, SYNC_NAMESPACE);
    assert.deepEqual((p.spec as { ingress: unknown[] }).ingress, [
      {
        from: [
          {
            podSelector: { matchLabels: { sync: 't7' } },
            namespaceSelector: { matchLabels: { sync: 't7' } },
          },
        ],
        ports: [{ protocol: 'TCP', port: 7070 }],
      },
    ]);
  });

  test('one client with the token and a server per node, each at its own address', () => {
    const pods = syncPods(['node-1', 'node-2'], 't3');
    assert.deepEqual(
      pods.map((p) => [
        p.object.metadata.name,
        p.ip,
        p.object.metadata.labels,
        (p.object.spec as { nodeName: string }).nodeName,
      ]),
      [
        ['client', '198.18.0.1', { role: 'client', sync: 't3' }, 'node-1'],
        ['server-node-1', '198.18.0.2', { role: 'server' }, 'node-1'],
        ['server-node-2', '198.18.0.3', { role: 'server' }, 'node-2'],
      ],
    );
    // A new token changes only the client's labels: no pod is recreated.
    const again = syncPods(['node-1', 'node-2'], 't4');
    assert.deepEqual(
      again.map((p) => podFingerprint(p.object)),
      pods.map((p) => podFingerprint(p.object)),
    );
  });
});
