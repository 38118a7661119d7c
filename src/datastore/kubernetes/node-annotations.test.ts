import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeResource } from '../../api/decode.js';
import type { Node } from '../../api/v3/bgp-types.js';
import {
  type KubeNode,
  kubeNodeToCalico,
  mergeCalicoNodeIntoKube,
  NODE_ANNOTATIONS as A,
} from './node-annotations.js';

/** The Node of libcalico-go/lib/backend/k8s/resources/node_test.go "should parse a k8s Node to a Calico Node". */
function testNode(annotations: Record<string, string>, labels?: Record<string, string>): KubeNode {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: 'TestNode',
      resourceVersion: '1234',
      annotations,
      ...(labels === undefined ? {} : { labels }),
    },
    spec: { podCIDR: '10.0.0.1/24' },
    status: {
      addresses: [
        { type: 'InternalIP', address: '172.17.17.10' },
        { type: 'ExternalIP', address: '192.168.1.100' },
        { type: 'Hostname', address: '172-17-17-10' },
      ],
    },
  };
}

describe('Kubernetes Node -> Calico Node', () => {
  it("reads Calico's annotations (node_test.go)", () => {
    const n = kubeNodeToCalico(
      testNode({
        [A.ipv4Address]: '172.17.17.10',
        [A.asNumber]: '2546',
        [A.interfaces]:
          '[{"name":"eth1","addresses":["172.31.11.4"]},{"name":"eth0","addresses":["172.17.17.10","172.17.17.11"]}]',
      }),
    );
    assert.deepEqual(n, {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'TestNode', resourceVersion: '1234', annotations: { [A.kubeLabels]: '{}' } },
      spec: {
        bgp: { ipv4Address: '172.17.17.10', asNumber: 2546 },
        orchRefs: [{ nodeName: 'TestNode', orchestrator: 'k8s' }],
        addresses: [
          { address: '172.17.17.10', type: 'CalicoNodeIP' },
          { address: '172.17.17.10', type: 'InternalIP' },
          { address: '192.168.1.100', type: 'ExternalIP' },
        ],
        interfaces: [
          { name: 'eth1', addresses: ['172.31.11.4'] },
          { name: 'eth0', addresses: ['172.17.17.10', '172.17.17.11'] },
        ],
      },
    });
    // What calico-ts decodes (a real Node's name is lower case, unlike the Go test's).
    const lower = { ...n, metadata: { ...n.metadata, name: 'testnode' } };
    const decoded = decodeResource(lower);
    assert.ok(decoded.ok, JSON.stringify(decoded));
  });

  it('leaves out a malformed value, as Calico\'s validators do ("should ignore RR cluster ID ...")', () => {
    for (const bad of ['288.0.4.5', 'fd00::1']) {
      const n = kubeNodeToCalico(
        testNode({ [A.ipv4Address]: '172.17.17.10', [A.routeReflectorClusterID]: bad }),
      );
      assert.deepEqual(n.spec.bgp, { ipv4Address: '172.17.17.10' });
    }
    const n = kubeNodeToCalico(
      testNode({
        [A.routeReflectorClusterID]: '255.0.0.1',
        [A.vxlanTunnelMACAddr]: 'nope',
        [A.asNumber]: 'x',
      }),
    );
    assert.deepEqual(n.spec.bgp, { routeReflectorClusterID: '255.0.0.1' });
    assert.equal(n.spec.vxlanTunnelMACAddr, undefined);
  });

  it('reads tunnel addresses, WireGuard keys and pod CIDRs', () => {
    const k = testNode({
      [A.ipv4VXLANTunnelAddr]: '10.244.1.0',
      [A.vxlanTunnelMACAddr]: '66:d4:e2:3a:7b:01',
      [A.ipv4IPIPTunnelAddr]: '10.244.1.1',
      [A.wireguardPublicKey]: 'jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=',
    });
    const n = kubeNodeToCalico({ ...k, spec: { podCIDR: '10.0.0.0/24', podCIDRs: ['10.0.0.0/24'] } });
    assert.equal(n.spec.ipv4VXLANTunnelAddr, '10.244.1.0');
    assert.equal(n.spec.vxlanTunnelMACAddr, '66:d4:e2:3a:7b:01');
    assert.deepEqual(n.spec.bgp, { ipv4IPIPTunnelAddr: '10.244.1.1' });
    assert.deepEqual(n.status, {
      wireguardPublicKey: 'jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=',
      podCIDRs: ['10.0.0.0/24'],
    });
  });
});

describe('Calico Node -> Kubernetes Node annotations', () => {
  it('stores Calico labels, shadowed by the Kubernetes ones on reading (node_test.go "Should shadow labels correctly")', () => {
    const kl = { 'net.beta.kubernetes.io/role': 'control-plane', shadowed: 'k8s-value' };
    const kube: KubeNode = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'TestNode', labels: kl, annotations: {} },
    };
    const calico: Node = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'TestNode', labels: { label1: 'foo', label2: 'bar', shadowed: 'calico-value' } },
      spec: { orchRefs: [{ nodeName: 'TestNode', orchestrator: 'k8s' }] },
    };
    const merged = mergeCalicoNodeIntoKube(calico, kube);
    assert.deepEqual(merged.metadata.annotations, {
      'projectcalico.org/labels': '{"label1":"foo","label2":"bar","shadowed":"calico-value"}',
    });
    assert.deepEqual(merged.metadata.labels, kl);

    const back = kubeNodeToCalico(merged);
    assert.deepEqual(back.metadata.labels, { label1: 'foo', label2: 'bar', ...kl });
    assert.deepEqual(back.metadata.annotations, {
      [A.kubeLabels]: '{"net.beta.kubernetes.io/role":"control-plane","shadowed":"k8s-value"}',
    });
    // Writing it back drops the labels Kubernetes owns, the shadowed one included.
    assert.equal(
      mergeCalicoNodeIntoKube(back, merged).metadata.annotations?.['projectcalico.org/labels'],
      '{"label1":"foo","label2":"bar"}',
    );
  });

  it('sets and removes the BGP, VXLAN and WireGuard annotations ("Should merge Calico Nodes into K8s Nodes")', () => {
    const kube = testNode({ [A.ipv4Address]: '10.0.0.9/24', [A.ipv6Address]: 'fd00::9/64', other: 'kept' });
    const calico = kubeNodeToCalico(kube);
    const changed: Node = {
      ...calico,
      spec: {
        ...calico.spec,
        bgp: { ipv4Address: '10.0.0.1/24', asNumber: 64512 },
        ipv4VXLANTunnelAddr: '10.244.0.1',
      },
      status: { wireguardPublicKey: 'jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=' },
    };
    const ann = mergeCalicoNodeIntoKube(changed, kube).metadata.annotations ?? {};
    assert.equal(ann[A.ipv4Address], '10.0.0.1/24');
    assert.equal(ann[A.asNumber], '64512');
    assert.equal(ann[A.ipv4VXLANTunnelAddr], '10.244.0.1');
    assert.equal(ann[A.wireguardPublicKey], 'jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=');
    assert.equal(ann.other, 'kept');
    assert.ok(!Object.hasOwn(ann, A.ipv6Address));
    const reread = kubeNodeToCalico({ ...kube, metadata: { ...kube.metadata, annotations: ann } });
    assert.deepEqual(reread.spec.bgp, { ipv4Address: '10.0.0.1/24', asNumber: 64512 });
    const noBgp =
      mergeCalicoNodeIntoKube({ ...changed, spec: { orchRefs: [] } }, kube).metadata.annotations ?? {};
    assert.ok(!Object.hasOwn(noBgp, A.ipv4Address));
    assert.ok(!Object.hasOwn(noBgp, A.ipv4VXLANTunnelAddr));
  });
});
