import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { K8sNetworkPolicy, Namespace, Pod, ServiceAccount } from '../../api/k8s/types.js';
import { policyDisplayName } from '../../model/ids.js';
import {
  builtInProfiles,
  coreKey,
  derivedResources,
  namespaceProfile,
  podIpAnnotations,
  podIpsClearedAnnotations,
  podWorkloadEndpoint,
  serviceAccountProfile,
} from './core.js';

const UID = '30316465-6365-4463-ad63-3564622d3638';
const UID_TRANSLATED = '0c8c26a6-c6a6-44c6-adc6-ac2646b46c1c';

/** The pod of libcalico-go/lib/backend/k8s/conversion/conversion_test.go's first WEP case, trimmed. */
function podA(
  over: Partial<Pod['metadata']> = {},
  spec: Partial<Pod['spec']> = {},
  status?: Pod['status'],
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'podA',
      namespace: 'default',
      uid: UID,
      resourceVersion: '1234',
      creationTimestamp: '2026-12-07T05:00:00Z',
      labels: { labelA: 'valueA', labelB: 'valueB' },
      annotations: { arbitrary: 'annotation' },
      ...over,
    },
    spec: {
      nodeName: 'nodeA',
      containers: [{ name: 'c', ports: [{ name: 'no-proto', containerPort: 1234 }] }],
      ...spec,
    },
    status: status ?? { podIP: '192.168.0.1' },
  };
}

describe('Namespace and ServiceAccount profiles', () => {
  it('derive kns.<ns> with the Namespace uid translated (conversion_test.go "should parse a Namespace to a Profile")', () => {
    const ns: Namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'default',
        labels: { foo: 'bar', roger: 'rabbit' },
        uid: UID,
        resourceVersion: '77',
        creationTimestamp: '2026-01-01T00:00:00Z',
      },
    };
    assert.deepEqual(namespaceProfile(ns), {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Profile',
      metadata: {
        name: 'kns.default',
        uid: UID_TRANSLATED,
        resourceVersion: '77',
        creationTimestamp: '2026-01-01T00:00:00Z',
      },
      spec: {
        ingress: [{ action: 'Allow' }],
        egress: [{ action: 'Allow' }],
        labelsToApply: {
          'pcns.foo': 'bar',
          'pcns.roger': 'rabbit',
          'pcns.projectcalico.org/name': 'default',
        },
      },
    });
  });

  it('derive ksa.<ns>.<sa> (conversion_test.go "should parse a ServiceAccount in Namespace to a Profile")', () => {
    const sa: ServiceAccount = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'sa-test', namespace: 'test', uid: UID, labels: { 'k8s-app': 'kube-dns' } },
    };
    assert.deepEqual(serviceAccountProfile(sa), {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Profile',
      metadata: { name: 'ksa.test.sa-test', uid: UID_TRANSLATED },
      spec: { labelsToApply: { 'pcsa.k8s-app': 'kube-dns', 'pcsa.projectcalico.org/name': 'sa-test' } },
    });
  });

  it('list the built-in default-allow profile besides them', () => {
    assert.deepEqual(
      builtInProfiles().map((p) => p.metadata.name),
      ['projectcalico-default-allow'],
    );
  });
});

describe('Pod -> WorkloadEndpoint', () => {
  it('names the endpoint <node>-k8s-<pod>-eth0 and keeps the pod uid (conversion_test.go "nodeA-k8s-podA-eth0")', () => {
    const wep = podWorkloadEndpoint(podA());
    assert.ok(wep !== undefined);
    assert.equal(wep.metadata.name, 'nodeA-k8s-podA-eth0');
    assert.equal(wep.metadata.namespace, 'default');
    assert.equal(wep.metadata.uid, UID);
    assert.equal(wep.metadata.resourceVersion, '1234');
    assert.equal(wep.metadata.creationTimestamp, '2026-12-07T05:00:00Z');
    assert.deepEqual(wep.metadata.labels, {
      labelA: 'valueA',
      labelB: 'valueB',
      'projectcalico.org/namespace': 'default',
      'projectcalico.org/orchestrator': 'k8s',
    });
    assert.deepEqual(wep.spec.ipNetworks, ['192.168.0.1/32']);
    // No service account: only the namespace profile, as in Calico's test.
    assert.deepEqual(wep.spec.profiles, ['kns.default']);
    assert.equal(wep.spec.serviceAccountName, undefined);
    assert.equal(wep.spec.interfaceName?.startsWith('cali'), true);
  });

  it('adds the service account profile and label when the pod has one', () => {
    const wep = podWorkloadEndpoint(podA({}, { serviceAccountName: 'web' }));
    assert.ok(wep !== undefined);
    assert.deepEqual(wep.spec.profiles, ['kns.default', 'ksa.default.web']);
    assert.deepEqual(wep.metadata.labels, {
      labelA: 'valueA',
      labelB: 'valueB',
      'projectcalico.org/namespace': 'default',
      'projectcalico.org/orchestrator': 'k8s',
      'projectcalico.org/serviceaccount': 'web',
    });
    assert.equal(wep.spec.serviceAccountName, 'web');
  });

  it("takes addresses from Calico's annotations while the status has none (conversion_test.go podIPs cases)", () => {
    const ann = {
      'cni.projectcalico.org/podIPs': '192.168.0.1,fd5f:8067::1',
      'cni.projectcalico.org/podIP': '192.168.0.1',
    };
    const wep = podWorkloadEndpoint(podA({ annotations: ann }, {}, {}));
    assert.deepEqual(wep?.spec.ipNetworks, ['192.168.0.1/32', 'fd5f:8067::1/128']);
  });

  it('takes the container ID from cni.projectcalico.org/containerID', () => {
    const wep = podWorkloadEndpoint(podA({ annotations: { 'cni.projectcalico.org/containerID': 'abc123' } }));
    assert.equal(wep?.spec.containerID, 'abc123');
  });

  it('has no addresses once the pod has finished, or CNI DEL cleared them during deletion', () => {
    assert.deepEqual(
      podWorkloadEndpoint(podA({}, {}, { podIP: '192.168.0.1', phase: 'Succeeded' }))?.spec.ipNetworks,
      [],
    );
    assert.deepEqual(
      podWorkloadEndpoint(podA({}, {}, { podIP: '192.168.0.1', phase: 'Failed' }))?.spec.ipNetworks,
      [],
    );
    // conversion_test.go "should treat running pod with empty podIP with a deletion timestamp as finished".
    const deleting = podA(
      { deletionTimestamp: '2026-12-07T06:00:00Z', annotations: { 'cni.projectcalico.org/podIP': '' } },
      {},
      { podIP: '192.168.0.1', phase: 'Running' },
    );
    assert.deepEqual(podWorkloadEndpoint(deleting)?.spec.ipNetworks, []);
    const stillRunning = podA(
      { deletionTimestamp: '2026-12-07T06:00:00Z' },
      {},
      { podIP: '192.168.0.1', phase: 'Running' },
    );
    assert.deepEqual(podWorkloadEndpoint(stillRunning)?.spec.ipNetworks, ['192.168.0.1/32']);
  });

  it('is no endpoint when unscheduled or host-networked (IsValidCalicoWorkloadEndpoint)', () => {
    const unscheduled = podA();
    delete unscheduled.spec.nodeName;
    assert.equal(podWorkloadEndpoint(unscheduled), undefined);
    assert.equal(podWorkloadEndpoint(podA({}, { hostNetwork: true })), undefined);
    assert.deepEqual(derivedResources(unscheduled), [unscheduled]);
  });
});

describe('derived resources and the CNI patches', () => {
  it('gives each core object its own key and its derived objects', () => {
    const pod = podA();
    assert.deepEqual(
      derivedResources(pod).map((r) => `${r.kind}:${r.metadata.name}`),
      ['Pod:podA', 'WorkloadEndpoint:nodeA-k8s-podA-eth0'],
    );
    const ns: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'production' } };
    assert.deepEqual(
      derivedResources(ns).map((r) => `${r.kind}:${r.metadata.name}`),
      ['Namespace:production', 'Profile:kns.production'],
    );
  });

  it('keeps a Kubernetes NetworkPolicy as KubernetesNetworkPolicy, shown as knp.default.<name>', () => {
    const knp: K8sNetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny-all-ingress', namespace: 'production' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
    assert.deepEqual(derivedResources(knp), [knp]);
    const key = coreKey(knp);
    assert.deepEqual(key, {
      kind: 'KubernetesNetworkPolicy',
      namespace: 'production',
      name: 'deny-all-ingress',
    });
    assert.equal(policyDisplayName({ kind: 'knp', name: key.name }), 'knp.default.deny-all-ingress');
  });

  it('patches the pod with the first address, all addresses and the container ID (calcCNIAnnotations)', () => {
    const wep = podWorkloadEndpoint(
      podA(
        { annotations: { 'cni.projectcalico.org/containerID': 'c1' } },
        {},
        { podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }] },
      ),
    );
    assert.ok(wep !== undefined);
    assert.deepEqual(podIpAnnotations(wep), {
      'cni.projectcalico.org/podIP': '10.0.0.5/32',
      'cni.projectcalico.org/podIPs': '10.0.0.5/32,fd00::5/128',
      'cni.projectcalico.org/containerID': 'c1',
    });
    assert.deepEqual(podIpAnnotations({ ...wep, spec: { ...wep.spec, ipNetworks: [] } }), {});
    assert.deepEqual(podIpsClearedAnnotations(), {
      'cni.projectcalico.org/podIP': '',
      'cni.projectcalico.org/podIPs': '',
    });
  });
});
