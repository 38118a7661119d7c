/**
 * ClusterNetworkPolicy (`policy.networking.k8s.io/v1alpha2`), validated as the network-policy-api CRD on
 * its main branch does: tier Admin or Baseline, priority 0..1000, at most 25 ingress and 25 egress rules,
 * rule names of at most 100 characters, actions Accept/Deny/Pass, 1..25 peers and protocols per rule,
 * exactly one field per subject, peer, protocol and port, port ranges with start < end, networks (1..25
 * CIDRs, a set), and no named port beside networks/nodes/domainNames peers.
 */
import { checked, type Decoder, int, list, oneOf, opt, refine, req, show, struct } from '../decoder.js';
import { K8S_POLICY_V1ALPHA2_API_VERSION } from '../meta.js';
import { checkPortName, checkSubdomain } from '../names.js';
import {
  checkNamedPortPeers,
  egressPeerField,
  exactlyOne,
  ingressPeerField,
  maxLengthString,
  namespacedPodField,
  policyApiCodec,
  subjectField,
} from './admin-common.js';
import type {
  ClusterNetworkPolicySpec,
  CnpEgressRule,
  CnpIngressRule,
  CnpPort,
  CnpPortRange,
  CnpProtocol,
  CnpProtocolPort,
} from './admin-types.js';

export const CNP_MAX_RULES = 25;
export const CNP_MAX_PRIORITY = 1000;

const portNum = int(1, 65535);

const portRange = refine(
  struct<CnpPortRange>({ start: req(portNum), end: req(portNum) }),
  (r, path, issues) => {
    if (r.start >= r.end)
      issues.add(path, `Start port must be less than End port (start ${r.start}, end ${r.end})`);
  },
);

const port: Decoder<CnpPort> = refine(
  struct<CnpPort>({ number: opt(portNum), range: opt(portRange) }),
  exactlyOne<CnpPort>(['number', 'range']),
);

/** tcp/udp/sctp: MinProperties=1, so `destinationPort` must be there. */
const protocolPort: Decoder<CnpProtocolPort> = refine(
  struct<CnpProtocolPort>({ destinationPort: opt(port) }),
  (p, path, issues) => {
    if (p.destinationPort === undefined && !issues.hasAt(path))
      issues.add(path, `must have at least 1 property (destinationPort) ${show(p)}`);
  },
);

const protocol: Decoder<CnpProtocol> = refine(
  struct<CnpProtocol>({
    tcp: opt(protocolPort),
    udp: opt(protocolPort),
    sctp: opt(protocolPort),
    destinationNamedPort: opt(checked(checkPortName)),
  }),
  exactlyOne<CnpProtocol>(['tcp', 'udp', 'sctp', 'destinationNamedPort']),
);

const protocols = list(protocol, { minItems: 1, maxItems: 25 });
const ruleName = maxLengthString(100);
const pods = namespacedPodField(false);
const ACTIONS = ['Accept', 'Deny', 'Pass'] as const;

const ingressRule = struct<CnpIngressRule>({
  name: opt(ruleName),
  action: req(oneOf(ACTIONS, 'action')),
  from: req(list(ingressPeerField(pods), { minItems: 1, maxItems: 25 })),
  protocols: opt(protocols),
});

const egressRule = refine(
  struct<CnpEgressRule>({
    name: opt(ruleName),
    action: req(oneOf(ACTIONS, 'action')),
    to: req(list(egressPeerField(pods, true), { minItems: 1, maxItems: 25 })),
    protocols: opt(protocols),
  }),
  (r, path, issues) => {
    const named = (r.protocols ?? []).some((p) => p.destinationNamedPort !== undefined);
    checkNamedPortPeers(r.to, named, path, issues);
  },
);

const cnpSpec = struct<ClusterNetworkPolicySpec>({
  tier: req(oneOf(['Admin', 'Baseline'], 'tier')),
  priority: req(int(0, CNP_MAX_PRIORITY)),
  subject: req(subjectField(pods)),
  ingress: opt(list(ingressRule, { maxItems: CNP_MAX_RULES })),
  egress: opt(list(egressRule, { maxItems: CNP_MAX_RULES })),
});

export const clusterNetworkPolicyCodec = policyApiCodec<
  'ClusterNetworkPolicy',
  'ClusterNetworkPolicy',
  typeof K8S_POLICY_V1ALPHA2_API_VERSION,
  ClusterNetworkPolicySpec
>({
  kind: 'ClusterNetworkPolicy',
  documentKind: 'ClusterNetworkPolicy',
  apiVersion: K8S_POLICY_V1ALPHA2_API_VERSION,
  checkName: (n) => checkSubdomain(n),
  spec: cnpSpec,
});
