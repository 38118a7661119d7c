import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Namespace, Pod } from '../api/k8s/types.js';
import {
  buildWorkloadEndpoint,
  hostAddress,
  podNetworkRequest,
  workloadIds,
  workloadIdsProblem,
} from './workload.js';

const pod = (annotations: Record<string, string> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' }, annotations },
  spec: {
    serviceAccountName: 'frontend',
    containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9999 }] }],
  },
});

const ns = (annotations: Record<string, string> = {}): Namespace => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'shop', annotations },
});

describe('workload identifiers', () => {
  it('derives the host veth from SHA-1(ns.pod) (reference vector) and the WEP name with doubled dashes', () => {
    const ids = workloadIds('node-1', { kind: 'k8s', namespace: 'default', pod: 'podA' }, 'cid', 'eth0');
    assert.equal(ids.hostIf, 'cali7f94ce7c295');
    assert.equal(
      workloadIds('n', { kind: 'k8s', namespace: 'default', pod: 'podB' }, 'c', 'eth0').hostIf,
      'cali92cf1f5e9f6',
    );
    assert.equal(ids.wepName, 'node--1-k8s-podA-eth0');
    assert.equal(ids.namespace, 'default');
  });

  it('uses the container ID outside Kubernetes', () => {
    const ids = workloadIds('node-1', { kind: 'cni' }, 'abcdefa0123456', 'eth0');
    assert.equal(ids.wepName, 'node--1-cni-abcdefa0123456-eth0');
    assert.equal(ids.hostIf, 'caliabcdefa0123');
    assert.equal(ids.orchestrator, 'cni');
  });

  it('rejects identifiers that cannot name a WorkloadEndpoint', () => {
    assert.match(
      workloadIdsProblem(
        workloadIds('n', { kind: 'k8s', namespace: 'default', pod: 'Pod_A' }, 'c', 'eth0'),
      ) ?? '',
      /pod name/,
    );
    assert.equal(
      workloadIdsProblem(workloadIds('n', { kind: 'k8s', namespace: 'default', pod: 'pod-a' }, 'c', 'eth0')),
      undefined,
    );
  });
});

describe('pod annotations', () => {
  it('prefers the pod over its namespace for pools', () => {
    const r = podNetworkRequest(
      pod({ 'cni.projectcalico.org/ipv4pools': '["p1"]' }),
      ns({ 'cni.projectcalico.org/ipv4pools': '["nsp"]', 'cni.projectcalico.org/ipv6pools': '["v6"]' }),
    );
    assert.ok(r.ok);
    assert.deepEqual(r.value.ipv4Pools, ['p1']);
    assert.deepEqual(r.value.ipv6Pools, ['v6']);
  });

  it('reads ipAddrs, hwAddr, floating IPs and rejects bad values', () => {
    const r = podNetworkRequest(
      pod({
        'cni.projectcalico.org/ipAddrs': '["10.1.2.3"]',
        'cni.projectcalico.org/hwAddr': 'AA:BB:CC:DD:EE:FF',
        'cni.projectcalico.org/floatingIPs': '["1.2.3.4"]',
      }),
      undefined,
    );
    assert.ok(r.ok);
    assert.deepEqual(r.value.ipAddrs, ['10.1.2.3']);
    assert.equal(r.value.hwAddr, 'aa:bb:cc:dd:ee:ff');
    assert.equal(
      podNetworkRequest(pod({ 'cni.projectcalico.org/ipAddrs': 'not json' }), undefined).ok,
      false,
    );
    assert.equal(
      podNetworkRequest(pod({ 'cni.projectcalico.org/ipAddrs': '["10.0.0.0/8"]' }), undefined).ok,
      false,
    );
    assert.equal(
      podNetworkRequest(
        pod({
          'cni.projectcalico.org/ipAddrs': '["10.1.1.1"]',
          'cni.projectcalico.org/ipAddrsNoIpam': '["10.1.1.1"]',
        }),
        undefined,
      ).ok,
      false,
    );
  });

  it('narrows addresses to host prefixes', () => {
    assert.deepEqual(hostAddress('10.0.0.5/26'), { family: 4, text: '10.0.0.5/32' });
    assert.deepEqual(hostAddress('fd00::5'), { family: 6, text: 'fd00::5/128' });
    assert.equal(hostAddress('nope'), undefined);
  });
});

describe('WorkloadEndpoint', () => {
  it('carries the pod labels, service account, named ports and profiles', () => {
    const ids = workloadIds('node1', { kind: 'k8s', namespace: 'shop', pod: 'web-1' }, 'c1', 'eth0');
    const wep = buildWorkloadEndpoint({
      ids,
      pod: pod(),
      networkName: 'k8s-pod-network',
      ipNetworks: ['10.0.0.5/32'],
      mac: '0a:00:00:00:00:01',
    });
    assert.equal(wep.metadata.name, 'node1-k8s-web--1-eth0');
    assert.equal(wep.metadata.namespace, 'shop');
    assert.deepEqual(wep.metadata.labels, {
      app: 'web',
      'projectcalico.org/namespace': 'shop',
      'projectcalico.org/orchestrator': 'k8s',
      'projectcalico.org/serviceaccount': 'frontend',
    });
    assert.deepEqual(wep.spec.profiles, ['kns.shop', 'ksa.shop.frontend']);
    assert.deepEqual(wep.spec.ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
    assert.equal(wep.spec.serviceAccountName, 'frontend');
    assert.equal(wep.spec.containerID, 'c1');
    assert.equal(wep.spec.interfaceName, ids.hostIf);
    assert.equal(wep.spec.node, 'node1');
  });

  it('without a stored Pod gets only the Calico labels and the namespace profile', () => {
    const ids = workloadIds('node1', { kind: 'k8s', namespace: 'shop', pod: 'web-1' }, 'c1', 'eth0');
    const wep = buildWorkloadEndpoint({
      ids,
      networkName: 'net',
      ipNetworks: ['10.0.0.5/32'],
      mac: 'x',
      floatingIps: ['1.2.3.4'],
    });
    assert.deepEqual(wep.metadata.labels, {
      'projectcalico.org/namespace': 'shop',
      'projectcalico.org/orchestrator': 'k8s',
    });
    assert.deepEqual(wep.spec.profiles, ['kns.shop']);
    assert.deepEqual(wep.spec.ipNATs, [{ internalIP: '10.0.0.5', externalIP: '1.2.3.4' }]);
  });

  it('uses the network name as the profile outside Kubernetes', () => {
    const ids = workloadIds('node1', { kind: 'cni' }, 'c1', 'eth0');
    const wep = buildWorkloadEndpoint({ ids, networkName: 'mynet', ipNetworks: ['10.0.0.5/32'], mac: 'x' });
    assert.deepEqual(wep.spec.profiles, ['mynet']);
    assert.equal(wep.spec.workload, 'c1');
    assert.equal(wep.metadata.labels?.['projectcalico.org/orchestrator'], 'cni');
  });
});
