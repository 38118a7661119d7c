import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSnapshot, type ModelInput } from '../model/snapshot.js';
import { FlowEndpointIndex } from './endpoints.js';

const C = 'projectcalico.org/v3';
const inputs = [
  {
    apiVersion: C,
    kind: 'WorkloadEndpoint',
    metadata: { name: 'node1-k8s-web--1-eth0', namespace: 'prod', labels: { app: 'web' } },
    spec: {
      node: 'node1',
      orchestrator: 'k8s',
      pod: 'web-1',
      endpoint: 'eth0',
      interfaceName: 'cali1',
      ipNetworks: ['10.65.0.2/32'],
    },
  },
  {
    apiVersion: C,
    kind: 'WorkloadEndpoint',
    metadata: { name: 'node1-k8s-db-eth0', namespace: 'prod', labels: { app: 'db' } },
    spec: {
      node: 'node1',
      orchestrator: 'k8s',
      pod: 'db',
      endpoint: 'eth0',
      interfaceName: 'cali2',
      ipNetworks: ['10.65.0.3/32'],
    },
  },
  {
    apiVersion: C,
    kind: 'HostEndpoint',
    metadata: { name: 'node1-eth0', labels: { role: 'node' } },
    spec: { node: 'node1', interfaceName: 'eth0', expectedIPs: ['192.0.2.10'] },
  },
  {
    apiVersion: C,
    kind: 'GlobalNetworkSet',
    metadata: { name: 'wide', labels: { k: 'w' } },
    spec: { nets: ['198.51.0.0/16'] },
  },
  {
    apiVersion: C,
    kind: 'NetworkSet',
    metadata: { name: 'narrow', namespace: 'prod' },
    spec: { nets: ['198.51.100.0/24'] },
  },
] as unknown as ModelInput[];

describe('FlowEndpointIndex', () => {
  const index = new FlowEndpointIndex(buildSnapshot(inputs), (ns, pod) =>
    ns === 'prod' && pod === 'web-1' ? 'web-' : undefined,
  );

  it('names workloads by GenerateName* or pod name, with their namespace and labels', () => {
    const web = index.lookup('10.65.0.2');
    assert.equal(web.type, 'WorkloadEndpoint');
    assert.equal(web.namespace, 'prod');
    assert.equal(web.name, 'web-*');
    assert.ok(web.labels.includes('app=web'));
    assert.deepEqual([...web.labels].sort(), web.labels);
    assert.equal(index.lookup('10.65.0.3').name, 'db');
  });

  it('aggregates a host endpoint to its node, in namespace -', () => {
    assert.deepEqual(index.lookup('192.0.2.10'), {
      type: 'HostEndpoint',
      namespace: '-',
      name: 'node1',
      labels: ['role=node'],
      endpoint: index.lookup('192.0.2.10').endpoint,
    });
  });

  it('picks the network set with the longest prefix; global sets are in namespace -', () => {
    assert.deepEqual(
      [index.lookup('198.51.100.7'), index.lookup('198.51.7.7')].map((e) => [e.type, e.namespace, e.name]),
      [
        ['NetworkSet', 'prod', 'narrow'],
        ['NetworkSet', '-', 'wide'],
      ],
    );
  });

  it('calls anything else pvt (RFC 1918) or pub, type Network', () => {
    assert.deepEqual(
      ['10.1.2.3', '172.20.0.1', '192.168.1.1', '8.8.8.8', '172.32.0.1', 'fd00::1'].map(
        (a) => index.lookup(a).name,
      ),
      ['pvt', 'pvt', 'pvt', 'pub', 'pub', 'pub'],
    );
    assert.equal(index.lookup('8.8.8.8').type, 'Network');
    assert.equal(index.lookup('8.8.8.8').namespace, '-');
  });
});
