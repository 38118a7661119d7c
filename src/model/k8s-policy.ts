/**
 * Kubernetes networking.k8s.io/v1 NetworkPolicy -> Calico NetworkPolicy spec, exactly as libcalico-go's
 * K8sNetworkPolicyToCalico does it (reference §3.6): tier default, order 1000, orchestrator-prefixed pod
 * selectors, one Allow rule per (protocol x peer), ports merged into minimal ranges.
 */
import type {
  K8sNetworkPolicySpec,
  LabelSelector,
  NetworkPolicyPeer,
  NetworkPolicyPort,
} from '../api/k8s/types.js';
import type { NetworkPolicySpec } from '../api/v3/policy.js';
import type { EntityRule, PortValue, Rule } from '../api/v3/rule.js';
import { formatCidr, parseCidr } from '../lib/net/ip.js';
import { LABEL_ORCHESTRATOR } from './ids.js';

export const K8S_POLICY_ORDER = 1000;

/** k8sSelectorToCalico: `pod` selectors always start with the orchestrator term. */
export function k8sSelectorToCalico(s: LabelSelector | undefined, type: 'pod' | 'namespace'): string {
  const terms: string[] = type === 'pod' ? [`${LABEL_ORCHESTRATOR} == 'k8s'`] : [];
  if (s === undefined) return terms.join(' && ');
  const labels = s.matchLabels ?? {};
  const exprs = s.matchExpressions ?? [];
  if (type === 'namespace' && Object.keys(labels).length === 0 && exprs.length === 0) return 'all()';
  for (const k of Object.keys(labels).sort()) terms.push(`${k} == '${labels[k] ?? ''}'`);
  for (const e of exprs) {
    const values = (e.values ?? []).join("', '");
    switch (e.operator) {
      case 'In':
        terms.push(`${e.key} in { '${values}' }`);
        break;
      case 'NotIn':
        terms.push(`${e.key} not in { '${values}' }`);
        break;
      case 'Exists':
        terms.push(`has(${e.key})`);
        break;
      case 'DoesNotExist':
        terms.push(`! has(${e.key})`);
        break;
    }
  }
  return terms.join(' && ');
}

function maskedCidr(text: string): string | undefined {
  const c = parseCidr(text);
  return c === undefined ? undefined : formatCidr(c);
}

function peerFields(peer: NetworkPolicyPeer | undefined): EntityRule {
  if (peer === undefined) return {};
  if (peer.ipBlock !== undefined) {
    const net = maskedCidr(peer.ipBlock.cidr);
    if (net === undefined) return {};
    const notNets = (peer.ipBlock.except ?? []).map(maskedCidr).filter((x): x is string => x !== undefined);
    return { nets: [net], ...(notNets.length > 0 ? { notNets } : {}) };
  }
  const selector = k8sSelectorToCalico(peer.podSelector, 'pod');
  const namespaceSelector = k8sSelectorToCalico(peer.namespaceSelector, 'namespace');
  return {
    ...(selector !== '' ? { selector } : {}),
    ...(namespaceSelector !== '' ? { namespaceSelector } : {}),
  };
}

/** A parsed port: a numeric range or a name. */
type Port = { kind: 'range'; min: number; max: number } | { kind: 'named'; name: string };

function portOf(p: NetworkPolicyPort): Port | undefined {
  if (p.port === undefined) return undefined;
  if (typeof p.port === 'string' && !/^[0-9]+$/.test(p.port)) return { kind: 'named', name: p.port };
  const min = Number(p.port);
  return { kind: 'range', min, max: p.endPort ?? min };
}

/** SimplifyPorts: named ports pass through; numeric ports are merged into the fewest ranges. */
export function simplifyPorts(ports: readonly Port[]): Port[] {
  if (ports.length <= 1) return [...ports];
  const out: Port[] = [];
  const numeric: number[] = [];
  for (const p of ports) {
    if (p.kind === 'named') out.push(p);
    else for (let i = p.min; i <= p.max; i++) numeric.push(i);
  }
  if (numeric.length <= 1) return [...ports];
  numeric.sort((a, b) => a - b);
  let i = 0;
  while (i < numeric.length) {
    const first = numeric[i] ?? 0;
    let last = first;
    i++;
    while (i < numeric.length && (numeric[i] ?? 0) <= last + 1) {
      last = numeric[i] ?? last;
      i++;
    }
    out.push({ kind: 'range', min: first, max: last });
  }
  return out;
}

function portValue(p: Port): PortValue {
  if (p.kind === 'named') return p.name;
  return p.min === p.max ? p.min : `${p.min}:${p.max}`;
}

/** k8sRuleToCalico: one rule per protocol (sorted; '' = any) per peer. */
function convertRule(
  peers: readonly NetworkPolicyPeer[] | undefined,
  ports: readonly NetworkPolicyPort[] | undefined,
  ingress: boolean,
): Rule[] {
  const peerList: (NetworkPolicyPeer | undefined)[] =
    peers !== undefined && peers.length > 0 ? [...peers] : [undefined];
  let byProto = new Map<string, Port[] | null>();
  if (ports === undefined || ports.length === 0) {
    byProto.set('', null);
  } else {
    for (const p of ports) {
      const proto = p.protocol ?? 'TCP';
      const port = portOf(p);
      if (port === undefined) byProto.set(proto, null);
      else {
        const existing = byProto.get(proto);
        if (existing === undefined) byProto.set(proto, [port]);
        else if (existing !== null) existing.push(port);
      }
    }
  }
  byProto = new Map([...byProto.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const rules: Rule[] = [];
  for (const [proto, plist] of byProto) {
    const dstPorts = plist === null ? undefined : simplifyPorts(plist).map(portValue);
    for (const peer of peerList) {
      const entity = peerFields(peer);
      const portsPart: EntityRule = dstPorts !== undefined && dstPorts.length > 0 ? { ports: dstPorts } : {};
      const rule: Rule = {
        action: 'Allow',
        ...(proto !== '' ? { protocol: proto as 'TCP' | 'UDP' | 'SCTP' } : {}),
        ...(ingress
          ? { source: entity, destination: portsPart }
          : { destination: { ...portsPart, ...entity } }),
      };
      rules.push(rule);
    }
  }
  return rules;
}

/** Converts the spec of a Kubernetes NetworkPolicy (or StagedKubernetesNetworkPolicy) to a Calico NP spec. */
export function k8sNetworkPolicyToCalico(spec: K8sNetworkPolicySpec): NetworkPolicySpec {
  const ingress = (spec.ingress ?? []).flatMap((r) => convertRule(r.from, r.ports, true));
  const egress = (spec.egress ?? []).flatMap((r) => convertRule(r.to, r.ports, false));
  const types: ('Ingress' | 'Egress')[] = [];
  const given = spec.policyTypes ?? [];
  if (given.includes('Ingress')) types.push('Ingress');
  if (given.includes('Egress')) types.push('Egress');
  if (types.length === 0) types.push('Ingress');
  return {
    tier: 'default',
    order: K8S_POLICY_ORDER,
    selector: k8sSelectorToCalico(spec.podSelector ?? {}, 'pod'),
    ingress,
    egress,
    types,
  };
}
