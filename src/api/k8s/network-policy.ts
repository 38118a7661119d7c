/**
 * Kubernetes NetworkPolicy (networking.k8s.io/v1; internal kind `KubernetesNetworkPolicy`), validated as
 * the Kubernetes API server does: policyTypes, ports and protocols, endPort, peers, ipBlock. The API
 * server's defaults are applied too, because calicoctl stands in for it on hosts without Kubernetes: an
 * absent `policyTypes` becomes [Ingress], plus Egress when egress rules exist, and a port without a
 * protocol gets TCP.
 */
import { parseCidr } from '../../lib/net/ip.js';
import type { KindCodec } from '../codec.js';
import { decodeEnvelopeMeta, decodeSpec } from '../codec.js';
import {
  type Decoder,
  type FieldSpec,
  int,
  type Issues,
  list,
  oneOf,
  opt,
  refine,
  req,
  show,
  str,
  struct,
  withSchema,
} from '../decoder.js';
import { INT_OR_STRING_SCHEMA } from '../json-schema.js';
import { K8S_NETWORKING_API_VERSION } from '../meta.js';
import { checkPortName, checkSubdomain } from '../names.js';
import { labelSelectorField } from './label-selector.js';
import type {
  IPBlock,
  K8sNetworkPolicy,
  K8sNetworkPolicySpec,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicyPeer,
  NetworkPolicyPort,
} from './types.js';

/** A CIDR as Kubernetes accepts it: address and prefix length both required. */
function checkK8sCidr(s: string): string | undefined {
  return s.includes('/') && parseCidr(s) !== undefined ? undefined : `invalid CIDR ${show(s)}`;
}

const cidrString: Decoder<string> = withSchema({ type: 'string' }, (v, path, issues) => {
  const s = str(v, path, issues);
  if (s === undefined) return undefined;
  const problem = checkK8sCidr(s);
  if (problem !== undefined) issues.add(path, problem);
  return s;
});

const ipBlock = refine(
  struct<IPBlock>({ cidr: req(cidrString), except: opt(list(cidrString)) }),
  (b, path, issues) => {
    const outer = checkK8sCidr(b.cidr) === undefined ? parseCidr(b.cidr) : undefined;
    if (outer === undefined) return;
    (b.except ?? []).forEach((e, i) => {
      const inner = checkK8sCidr(e) === undefined ? parseCidr(e) : undefined;
      if (inner === undefined) return;
      const inside =
        inner.family === outer.family &&
        (inner.network & ~((1n << BigInt((outer.family === 4 ? 32 : 128) - outer.prefix)) - 1n)) ===
          outer.network;
      if (!inside || inner.prefix <= outer.prefix) {
        issues.add(
          `${path}.except[${i}]`,
          `except entry ${show(e)} must be a strict subset of cidr ${show(b.cidr)}`,
        );
      }
    });
  },
);

const peer = refine(
  struct<NetworkPolicyPeer>({
    podSelector: opt(labelSelectorField),
    namespaceSelector: opt(labelSelectorField),
    ipBlock: opt(ipBlock),
  }),
  (p, path, issues) => {
    const kinds = [p.podSelector, p.namespaceSelector, p.ipBlock].filter((x) => x !== undefined).length;
    if (kinds === 0 && !issues.hasAt(path))
      issues.add(path, 'must specify a peer (podSelector, namespaceSelector or ipBlock)');
    if (kinds > 1 && p.ipBlock !== undefined)
      issues.add(path, 'may not specify both ipBlock and another peer');
  },
);

const portValue: Decoder<number | string> = withSchema(INT_OR_STRING_SCHEMA, (v, path, issues) => {
  if (typeof v === 'number') return int(1, 65535)(v, path, issues);
  if (typeof v === 'string') {
    const problem = checkPortName(v);
    if (problem === undefined) return v;
    issues.add(path, problem);
    return undefined;
  }
  issues.add(path, `invalid port ${show(v)} (must be a number or a port name)`);
  return undefined;
});

const port = refine(
  struct<NetworkPolicyPort>({
    protocol: opt(oneOf(['TCP', 'UDP', 'SCTP'], 'protocol')),
    port: opt(portValue),
    endPort: opt(int(1, 65535)),
  }),
  (p, path, issues) => {
    if (p.endPort === undefined || issues.hasAt(`${path}.port`)) return;
    if (p.port === undefined) {
      issues.add(`${path}.endPort`, `endPort ${p.endPort} may not be specified when port is not specified`);
    } else if (typeof p.port === 'string') {
      issues.add(
        `${path}.endPort`,
        `endPort ${p.endPort} may not be specified when port ${show(p.port)} is non-numeric`,
      );
    } else if (p.endPort < p.port) {
      issues.add(`${path}.endPort`, `endPort ${p.endPort} must be greater than or equal to port ${p.port}`);
    }
  },
);

const ingressRule = struct<NetworkPolicyIngressRule>({ ports: opt(list(port)), from: opt(list(peer)) });
const egressRule = struct<NetworkPolicyEgressRule>({ ports: opt(list(port)), to: opt(list(peer)) });

/** The KNP spec fields, shared with StagedKubernetesNetworkPolicy. */
export const k8sPolicySpecFields = {
  podSelector: opt(labelSelectorField),
  ingress: opt(list(ingressRule)),
  egress: opt(list(egressRule)),
  policyTypes: opt(list(oneOf(['Ingress', 'Egress'], 'policy type'), { maxItems: 2 })),
} satisfies { [K in keyof K8sNetworkPolicySpec]-?: FieldSpec<NonNullable<K8sNetworkPolicySpec[K]>> };

const specField = struct<K8sNetworkPolicySpec>(k8sPolicySpecFields);

export const kubernetesNetworkPolicyCodec: KindCodec<'KubernetesNetworkPolicy', K8sNetworkPolicy> = {
  kind: 'KubernetesNetworkPolicy',
  apiVersion: K8S_NETWORKING_API_VERSION,
  documentKind: 'NetworkPolicy',
  decode(doc, issues: Issues) {
    const metadata = decodeEnvelopeMeta(doc, issues, {
      kind: 'KubernetesNetworkPolicy',
      checkName: (n) => checkSubdomain(n),
      topLevel: ['spec', 'status'],
      strict: true,
    });
    const spec = decodeSpec(doc, issues, specField);
    if (metadata === undefined || spec === undefined) return undefined;
    return {
      apiVersion: K8S_NETWORKING_API_VERSION,
      kind: 'NetworkPolicy',
      metadata,
      spec: withApiServerDefaults(spec),
    };
  },
};

function defaultPorts(ports: NetworkPolicyPort[] | undefined): { ports?: NetworkPolicyPort[] } {
  return ports === undefined ? {} : { ports: ports.map((p) => ({ protocol: 'TCP', ...p })) };
}

/** SetDefaults_NetworkPolicy of the Kubernetes API server (pkg/apis/networking/v1/defaults.go). */
export function withApiServerDefaults(spec: K8sNetworkPolicySpec): K8sNetworkPolicySpec {
  const ingress = spec.ingress?.map((r) => ({ ...r, ...defaultPorts(r.ports) }));
  const egress = spec.egress?.map((r) => ({ ...r, ...defaultPorts(r.ports) }));
  const policyTypes: ('Ingress' | 'Egress')[] =
    spec.policyTypes !== undefined && spec.policyTypes.length > 0
      ? spec.policyTypes
      : (spec.egress ?? []).length > 0
        ? ['Ingress', 'Egress']
        : ['Ingress'];
  return {
    ...spec,
    ...(ingress !== undefined ? { ingress } : {}),
    ...(egress !== undefined ? { egress } : {}),
    policyTypes,
  };
}
