/**
 * Test fixtures for the KDD mapping: one realistic calico-ts resource of every kind stored as a custom resource,
 * as calicoctl, the IPAM allocator or calico-node write them.
 */
import type { Resource } from '../api.js';

const V3 = 'projectcalico.org/v3';

/** A sample spec and name per CRD kind (namespaced kinds get the namespace `production`). */
// prettier-ignore
export const CRD_SAMPLES: Readonly<Record<string, { readonly name: string; readonly spec: unknown }>> = {
  NetworkPolicy: { name: 'allow-web', spec: { tier: 'default', order: 100, selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }] } },
  GlobalNetworkPolicy: { name: 'allow-dns', spec: { order: 10, selector: 'all()', types: ['Egress'], egress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: [53] } }] } },
  StagedNetworkPolicy: { name: 'staged-web', spec: { stagedAction: 'Set', tier: 'default', selector: 'all()', types: ['Ingress'] } },
  StagedGlobalNetworkPolicy: { name: 'staged-dns', spec: { stagedAction: 'Set', selector: 'all()', types: ['Ingress'] } },
  StagedKubernetesNetworkPolicy: { name: 'staged-knp', spec: { stagedAction: 'Set', podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] } },
  Tier: { name: 'security', spec: { order: 100, defaultAction: 'Deny' } },
  GlobalNetworkSet: { name: 'external', spec: { nets: ['198.51.100.0/24'] } },
  NetworkSet: { name: 'partners', spec: { nets: ['192.0.2.0/24'] } },
  HostEndpoint: { name: 'node-1-eth0', spec: { node: 'node-1', interfaceName: 'eth0', expectedIPs: ['10.0.0.1'] } },
  IPPool: { name: 'default-ipv4-ippool', spec: { cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Always', natOutgoing: true, nodeSelector: 'all()' } },
  IPReservation: { name: 'reserved', spec: { reservedCIDRs: ['10.244.0.0/30'] } },
  BGPConfiguration: { name: 'default', spec: { asNumber: 64512, nodeToNodeMeshEnabled: true } },
  BGPPeer: { name: 'tor', spec: { peerIP: '10.0.0.254', asNumber: 64513 } },
  BGPFilter: { name: 'export-pods', spec: { exportV4: [{ action: 'Accept', matchOperator: 'In', cidr: '10.244.0.0/16' }] } },
  FelixConfiguration: { name: 'default', spec: { logSeverityScreen: 'Info', reportingInterval: '0s' } },
  KubeControllersConfiguration: { name: 'default', spec: { controllers: { node: { reconcilerPeriod: '5m' } } } },
  ClusterInformation: { name: 'default', spec: { clusterGUID: '5e0a6a3c1c7f4e0e9b1c2d3e4f506172', clusterType: 'k8s,bgp,kdd', calicoVersion: 'v3.32.1', datastoreReady: true } },
  CalicoNodeStatus: { name: 'node-1-status', spec: { node: 'node-1', classes: ['Agent', 'BGP'], updatePeriodSeconds: 10 } },
  IPAMConfiguration: { name: 'default', spec: { strictAffinity: false, autoAllocateBlocks: true } },
  IPAMBlock: { name: '10-244-0-0-26', spec: { cidr: '10.244.0.0/26', affinity: 'host:node-1', allocations: [0, null, 1, ...Array<null>(61).fill(null)], unallocated: Array.from({ length: 61 }, (_, i) => i + 3), attributes: [{ handle_id: 'k8s-pod-network.0a1b2c', secondary: { namespace: 'production', node: 'node-1', pod: 'web-1' } }, { handle_id: 'vxlan-tunnel-addr-node-1', secondary: { node: 'node-1', type: 'vxlanTunnelAddress' }, alternate: { pod: 'web-0' } }], sequenceNumber: 3, sequenceNumberForAllocation: { '0': 1, '2': 2 }, deleted: false } },
  BlockAffinity: { name: 'node-1-10-244-0-0-26', spec: { state: 'confirmed', node: 'node-1', type: 'host', cidr: '10.244.0.0/26', deleted: false } },
  IPAMHandle: { name: 'k8s-pod-network.0A1B2C', spec: { handleID: 'k8s-pod-network.0A1B2C', block: { '10.244.0.0/26': 1 }, deleted: false } },
};

/** The sample resource of `kind`, with `metadata` merged over the sample's name (and namespace). */
export function sample(
  kind: string,
  namespaced: boolean,
  metadata: Partial<Resource['metadata']> = {},
): Resource {
  const s = CRD_SAMPLES[kind];
  if (s === undefined) throw new Error(`no sample for ${kind}`);
  return {
    apiVersion: V3,
    kind,
    metadata: { name: s.name, ...(namespaced ? { namespace: 'production' } : {}), ...metadata },
    spec: structuredClone(s.spec),
  } as Resource;
}
