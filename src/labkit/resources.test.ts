import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  hostInterfaceName,
  labNamespace,
  labWorkloadEndpoint,
  parsePodKey,
  podIpFamily,
  syncProfile,
  SYNC_PROFILE_NAME,
} from './resources.js';

describe('labWorkloadEndpoint', () => {
  test('is what the CNI plugin writes for a Kubernetes pod', () => {
    const wep = labWorkloadEndpoint('node-1', {
      namespace: 'x',
      name: 'pod-a',
      ip: '10.244.1.10',
      labels: { pod: 'a' },
      containerPorts: [
        { name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' },
        { name: 'serve-80-udp', containerPort: 80, protocol: 'UDP' },
        { containerPort: 81 },
      ],
    });
    assert.equal(wep.metadata.name, 'node--1-k8s-pod--a-eth0');
    assert.equal(wep.metadata.namespace, 'x');
    assert.deepEqual(wep.metadata.labels, {
      pod: 'a',
      'projectcalico.org/namespace': 'x',
      'projectcalico.org/orchestrator': 'k8s',
      'projectcalico.org/serviceaccount': 'default',
    });
    assert.deepEqual(wep.spec, {
      orchestrator: 'k8s',
      node: 'node-1',
      pod: 'pod-a',
      endpoint: 'eth0',
      serviceAccountName: 'default',
      ipNetworks: ['10.244.1.10/32'],
      profiles: ['kns.x', 'ksa.x.default'],
      interfaceName: hostInterfaceName({ namespace: 'x', name: 'pod-a' }),
      // Unnamed ports are not endpoint ports.
      ports: [
        { name: 'serve-80-tcp', protocol: 'TCP', port: 80 },
        { name: 'serve-80-udp', protocol: 'UDP', port: 80 },
      ],
    });
  });

  test('gives IPv6 pods a /128 and rejects non-addresses', () => {
    const wep = labWorkloadEndpoint('n', { namespace: 'y', name: 'b', ip: 'fd00::af4:10a' });
    assert.deepEqual(wep.spec.ipNetworks, ['fd00::af4:10a/128']);
    assert.throws(
      () => labWorkloadEndpoint('n', { namespace: 'y', name: 'b', ip: '10.0.0.1/32' }),
      /invalid pod IP/,
    );
    assert.equal(podIpFamily('10.0.0.1'), 4);
    assert.equal(podIpFamily('fd00::1'), 6);
  });

  test('host interface names follow the reference vectors', () => {
    assert.equal(hostInterfaceName({ namespace: 'default', name: 'podA' }), 'cali7f94ce7c295');
    assert.equal(hostInterfaceName({ namespace: 'default', name: 'podB' }), 'cali92cf1f5e9f6');
  });
});

describe('other objects', () => {
  test('namespaces carry their labels; the sentinel changes with its token', () => {
    assert.deepEqual(labNamespace('x', { ns: 'x' }), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'x', labels: { ns: 'x' } },
    });
    const a = syncProfile('1');
    const b = syncProfile('2');
    assert.equal(a.metadata.name, SYNC_PROFILE_NAME);
    assert.notDeepEqual(a.metadata.annotations, b.metadata.annotations);
    assert.deepEqual(a.spec, {});
  });

  test('pod keys', () => {
    assert.deepEqual(parsePodKey('x/a'), { namespace: 'x', name: 'a' });
    assert.equal(parsePodKey('x'), undefined);
    assert.equal(parsePodKey('x/a/b'), undefined);
  });
});
