import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOk, doc, expectIssue } from '../testing.js';
import type { CalicoNodeStatus, Node } from './bgp-types.js';

const node = (spec: unknown, extra: Record<string, unknown> = {}): unknown => ({
  ...(doc('Node', spec, { name: 'node1', labels: { rack: 'a' } }) as object),
  ...extra,
});

describe('Node', () => {
  it('decodes BGP, tunnel, address and orchestrator fields and keeps the status', () => {
    const n = decodeOk(
      node(
        {
          bgp: {
            asNumber: 64_513,
            ipv4Address: '10.0.0.1/24',
            ipv6Address: 'fd00::1/64',
            ipv4IPIPTunnelAddr: '10.244.0.1',
            routeReflectorClusterID: '224.0.0.1',
          },
          ipv4VXLANTunnelAddr: '10.244.0.2',
          vxlanTunnelMACAddr: '66:aa:bb:cc:dd:ee',
          ipv6VXLANTunnelAddr: 'fd00:1::2',
          vxlanTunnelMACAddrV6: '66:aa:bb:cc:dd:ef',
          orchRefs: [{ nodeName: 'node1', orchestrator: 'k8s' }],
          wireguard: { interfaceIPv4Address: '10.244.0.3' },
          addresses: [
            { address: '10.0.0.1/24', type: 'CalicoNodeIP' },
            { address: '203.0.113.1', type: 'ExternalIP' },
          ],
          interfaces: [{ name: 'eth0', addresses: ['10.0.0.1'] }],
        },
        {
          status: {
            wireguardPublicKey: 'jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=',
            podCIDRs: ['10.244.0.0/24'],
          },
        },
      ),
    ) as Node;
    assert.equal(n.spec.bgp?.ipv4Address, '10.0.0.1/24');
    assert.deepEqual(n.status?.podCIDRs, ['10.244.0.0/24']);
    assert.equal(n.metadata.labels?.['rack'], 'a');
  });

  it('rejects an empty bgp object', () => {
    expectIssue(node({ bgp: {} }), 'spec.bgp', 'empty');
  });

  it('checks address families and formats', () => {
    expectIssue(node({ bgp: { ipv4Address: 'fd00::1/64' } }), 'spec.bgp.ipv4Address', 'IPv4');
    expectIssue(node({ bgp: { ipv6Address: '10.0.0.1' } }), 'spec.bgp.ipv6Address', 'IPv6');
    expectIssue(
      node({ bgp: { routeReflectorClusterID: 'rr1' } }),
      'spec.bgp.routeReflectorClusterID',
      '"rr1"',
    );
    expectIssue(node({ bgp: { ipv4IPIPTunnelAddr: '10.0.0.0/24' } }), 'spec.bgp.ipv4IPIPTunnelAddr');
    expectIssue(node({ bgp: { asNumber: 'AS1' } }), 'spec.bgp.asNumber', '"AS1"');
    expectIssue(node({ ipv4VXLANTunnelAddr: 'fd00::1' }), 'spec.ipv4VXLANTunnelAddr');
    expectIssue(node({ ipv6VXLANTunnelAddr: '10.0.0.1' }), 'spec.ipv6VXLANTunnelAddr');
    expectIssue(node({ vxlanTunnelMACAddr: 'zz:zz' }), 'spec.vxlanTunnelMACAddr');
    expectIssue(
      node({ addresses: [{ address: '10.0.0.1', type: 'Public' }] }),
      'spec.addresses[0].type',
      '"Public"',
    );
    expectIssue(node({ addresses: [{ type: 'InternalIP' }] }), 'spec.addresses[0].address', 'required');
    expectIssue(node({ interfaces: [{ name: 'a/b' }] }), 'spec.interfaces[0].name');
    expectIssue(node({ orchRefs: [{ nodeName: 'x' }] }), 'spec.orchRefs[0].orchestrator', 'required');
    expectIssue(
      node({ wireguard: { interfaceIPv6Address: '10.0.0.1' } }),
      'spec.wireguard.interfaceIPv6Address',
    );
    expectIssue(node({}, { status: { wireguardPublicKey: 'short' } }), 'status.wireguardPublicKey');
  });
});

const nodeStatus = (spec: unknown, extra: Record<string, unknown> = {}): unknown => ({
  ...(doc('CalicoNodeStatus', spec, { name: 'status1' }) as object),
  ...extra,
});

describe('CalicoNodeStatus', () => {
  it('decodes spec and keeps a status written by Calico (unknown status fields dropped)', () => {
    const s = decodeOk(
      nodeStatus(
        { node: 'node1', classes: ['Agent', 'BGP', 'Routes'], updatePeriodSeconds: 10 },
        {
          status: {
            lastUpdated: '2024-01-01T00:00:00Z',
            agent: { birdV4: { state: 'Ready', version: 'v0.3.3', routerID: '10.0.0.1' } },
            bgp: {
              numberEstablishedV4: 1,
              numberNotEstablishedV4: 0,
              peersV4: [{ peerIP: '10.0.0.2', type: 'NodeMesh', state: 'Established', since: '09:00:00' }],
            },
            routes: {
              routesV4: [
                {
                  type: 'FIB',
                  destination: '10.244.1.0/26',
                  gateway: '10.0.0.2',
                  interface: 'eth0',
                  learnedFrom: { sourceType: 'NodeMesh', peerIP: '10.0.0.2' },
                },
              ],
            },
            futureField: 1,
          },
        },
      ),
    ) as CalicoNodeStatus;
    assert.equal(s.status?.bgp?.peersV4?.[0]?.state, 'Established');
    assert.equal('futureField' in (s.status ?? {}), false);
  });

  it('requires node and 1-3 unique classes; bounds updatePeriodSeconds', () => {
    expectIssue(nodeStatus({ classes: ['BGP'] }), 'spec.node', 'required');
    expectIssue(nodeStatus({ node: 'n', classes: [] }), 'spec.classes', 'too few');
    expectIssue(nodeStatus({ node: 'n' }), 'spec.classes', 'required');
    expectIssue(nodeStatus({ node: 'n', classes: ['BGP', 'BGP'] }), 'spec.classes[1]', 'duplicate');
    expectIssue(nodeStatus({ node: 'n', classes: ['Bird'] }), 'spec.classes[0]', '"Bird"');
    expectIssue(
      nodeStatus({ node: 'n', classes: ['BGP'], updatePeriodSeconds: 86_401 }),
      'spec.updatePeriodSeconds',
    );
    expectIssue(nodeStatus({ node: 'Bad_Node', classes: ['BGP'] }), 'spec.node');
  });
});
