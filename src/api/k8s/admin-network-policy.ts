/**
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy (`policy.networking.k8s.io/v1alpha1`), validated as the
 * network-policy-api v0.1.7 experimental CRDs do: priority 0..1000, at most 100 ingress and 100 egress
 * rules, rule names of at most 100 characters, actions Allow/Deny/Pass (the baseline: Allow/Deny), 1..100
 * peers and ports per rule, exactly one field per subject, peer and port, networks (1..25 CIDRs, a set),
 * port protocols defaulted to TCP, and the BaselineAdminNetworkPolicy's one name, `default`.
 */
import { type Decoder, int, list, oneOf, opt, refine, req, struct, withDefault } from '../decoder.js';
import { K8S_POLICY_V1ALPHA1_API_VERSION } from '../meta.js';
import { checkPortName, checkSubdomain } from '../names.js';
import { checked } from '../decoder.js';
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
  AdminNetworkPolicy,
  AdminNetworkPolicySpec,
  AnpEgressRule,
  AnpIngressRule,
  AnpPort,
  AnpPortNumber,
  AnpPortRange,
  BaselineAdminNetworkPolicy,
  BaselineAdminNetworkPolicySpec,
} from './admin-types.js';

export const ANP_MAX_RULES = 100;
export const ANP_MAX_PRIORITY = 1000;
export const BANP_NAME = 'default';

const protocol = withDefault(oneOf(['TCP', 'UDP', 'SCTP'], 'protocol'), 'TCP' as const);
const portNum = int(1, 65535);

const port: Decoder<AnpPort> = refine(
  struct<AnpPort>({
    portNumber: opt(struct<AnpPortNumber>({ protocol, port: req(portNum) })),
    namedPort: opt(checked(checkPortName)),
    portRange: opt(struct<AnpPortRange>({ protocol, start: req(portNum), end: req(portNum) })),
  }),
  exactlyOne<AnpPort>(['portNumber', 'namedPort', 'portRange']),
);

const ports = list(port, { minItems: 1, maxItems: 100 });
const ruleName = maxLengthString(100);
const pods = namespacedPodField(true);
const ingressPeers = list(ingressPeerField(pods), { minItems: 1, maxItems: 100 });

function ingressRule<A extends string>(actions: readonly A[]): Decoder<AnpIngressRule<A>> {
  return struct<AnpIngressRule<A>>({
    name: opt(ruleName),
    action: req(oneOf(actions, 'action')),
    from: req(ingressPeers),
    ports: opt(ports),
  });
}

function egressRule<A extends string>(
  actions: readonly A[],
  domainNames: boolean,
): Decoder<AnpEgressRule<A>> {
  return refine(
    struct<AnpEgressRule<A>>({
      name: opt(ruleName),
      action: req(oneOf(actions, 'action')),
      to: req(list(egressPeerField(pods, domainNames), { minItems: 1, maxItems: 100 })),
      ports: opt(ports),
    }),
    (r, path, issues) => {
      checkNamedPortPeers(
        r.to,
        (r.ports ?? []).some((p) => p.namedPort !== undefined),
        path,
        issues,
      );
    },
  );
}

const ANP_ACTIONS = ['Allow', 'Deny', 'Pass'] as const;
const BANP_ACTIONS = ['Allow', 'Deny'] as const;

const anpSpec = struct<AdminNetworkPolicySpec>({
  priority: req(int(0, ANP_MAX_PRIORITY)),
  subject: req(subjectField(pods)),
  ingress: opt(list(ingressRule(ANP_ACTIONS), { maxItems: ANP_MAX_RULES })),
  egress: opt(list(egressRule(ANP_ACTIONS, true), { maxItems: ANP_MAX_RULES })),
});

const banpSpec = struct<BaselineAdminNetworkPolicySpec>({
  subject: req(subjectField(pods)),
  ingress: opt(list(ingressRule(BANP_ACTIONS), { maxItems: ANP_MAX_RULES })),
  egress: opt(list(egressRule(BANP_ACTIONS, false), { maxItems: ANP_MAX_RULES })),
});

export const adminNetworkPolicyCodec = policyApiCodec<
  'AdminNetworkPolicy',
  'AdminNetworkPolicy',
  typeof K8S_POLICY_V1ALPHA1_API_VERSION,
  AdminNetworkPolicySpec
>({
  kind: 'AdminNetworkPolicy',
  documentKind: 'AdminNetworkPolicy',
  apiVersion: K8S_POLICY_V1ALPHA1_API_VERSION,
  checkName: (n) => checkSubdomain(n),
  spec: anpSpec,
});

export const baselineAdminNetworkPolicyCodec = policyApiCodec<
  'BaselineAdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
  typeof K8S_POLICY_V1ALPHA1_API_VERSION,
  BaselineAdminNetworkPolicySpec
>({
  kind: 'BaselineAdminNetworkPolicy',
  documentKind: 'BaselineAdminNetworkPolicy',
  apiVersion: K8S_POLICY_V1ALPHA1_API_VERSION,
  // The CRD's CEL rule on the object.
  checkName: (n) =>
    n === BANP_NAME
      ? undefined
      : `Only one baseline admin network policy with metadata.name="default" can be created in the cluster (got "${n}")`,
  spec: banpSpec,
});

// The decoded shapes are the declared resource types.
export type { AdminNetworkPolicy, BaselineAdminNetworkPolicy };
