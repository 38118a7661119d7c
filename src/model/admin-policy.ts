/**
 * The network-policy-api kinds -> Calico GlobalNetworkPolicy specs, as libcalico-go converts them
 * (reference §3.7): ClusterNetworkPolicy as v3.32.1's conversion/clusternetworkpolicy.go; AdminNetworkPolicy
 * and BaselineAdminNetworkPolicy as v3.31's K8sAdminNetworkPolicyToCalico / K8sBaselineAdminNetworkPolicyToCalico,
 * placed in v3.32's tiers (calico-ts emulates v3.32.1, whose tiers are `kube-admin` and `kube-baseline`):
 *
 *   ANP  -> tier kube-admin,    order = priority, policy id kanp/<name>
 *   BANP -> tier kube-baseline, order = 1000 (as v3.31), policy id kbanp/<name>
 *   CNP  -> tier kube-admin (Admin) or kube-baseline (Baseline), order = priority, policy id kcnp/<name>
 *
 * Subject: namespaces -> namespaceSelector + the orchestrator term; pods -> namespaceSelector + pod selector.
 * Rules: one per protocol (sorted) per peer, ports merged as for KNP, rule name in the `name` annotation;
 * actions Allow/Accept -> Allow, Deny, Pass. Types: Ingress/Egress only when there are such rules.
 * A rule that does not convert becomes `Deny` (fail closed) for Deny/Pass and is dropped for Allow.
 *
 * Extensions over Calico (which refuses these peers as unconvertible): a named port keeps its name with no
 * protocol (v3.32's CNP form, also for v1alpha1, whose v3.31 conversion ignored it), and a `nodes` peer is
 * resolved to `nets`: the addresses of the Nodes its label selector matches now (`NodeAddressBook`); a peer
 * that matches no node yields no rule (an empty `nets` would match everything). The converter re-runs this
 * when Nodes change (converter.ts). `domainNames` peers stay unconvertible, as in Calico.
 */
import type {
  AdminNetworkPolicy,
  AdminPolicyEgressPeer,
  AdminPolicyIngressPeer,
  AdminPolicySubject,
  AnpPort,
  BaselineAdminNetworkPolicy,
  ClusterNetworkPolicy,
  CnpProtocol,
  K8sProtocol,
} from '../api/k8s/admin-types.js';
import type { LabelSelector } from '../api/k8s/types.js';
import { parseSelector } from '../api/selector/index.js';
import { KUBE_ADMIN_TIER_NAME, KUBE_BASELINE_TIER_NAME } from '../api/tiers.js';
import type { EntityRule, PortValue, Rule } from '../api/v3/rule.js';
import { formatCidr, parseCidr } from '../lib/net/ip.js';
import type { PolicyKey } from './ids.js';
import { k8sSelectorToCalico, simplifyPorts } from './k8s-policy.js';

export type AdminPolicyResource = AdminNetworkPolicy | BaselineAdminNetworkPolicy | ClusterNetworkPolicy;

/** Baseline policies' order (v3.31 K8sBaselineAdminNetworkPolicyToCalico). */
export const BANP_ORDER = 1000;
/** The rule annotation holding the upstream rule's name (conversion/constants.go K8sCNPRuleNameLabel). */
export const ADMIN_RULE_NAME_ANNOTATION = 'name';

/** The Nodes a `nodes` peer can select: labels and addresses (bare IPs). */
export interface NodeAddressBook {
  /** The addresses of the nodes whose labels `selector` matches (sorted, unique, as /32 or /128 CIDRs). */
  nodeNets(selector: LabelSelector): string[];
}

/** The GNP-like form of one converted policy. */
export interface ConvertedAdminPolicy {
  readonly key: PolicyKey;
  readonly tier: string;
  readonly order: number;
  readonly selector: string;
  readonly namespaceSelector: string;
  readonly ingress: Rule[];
  readonly egress: Rule[];
}

type Action = 'Allow' | 'Deny' | 'Pass';

/** One port as the conversion sees it: protocol ('' = none, for named ports) and value. */
interface PortIn {
  readonly protocol: K8sProtocol | '';
  readonly port: { kind: 'range'; min: number; max: number } | { kind: 'named'; name: string } | undefined;
}

class Unconvertible extends Error {}

function anpPort(p: AnpPort): PortIn {
  if (p.portNumber !== undefined) {
    const n = p.portNumber.port;
    return { protocol: p.portNumber.protocol, port: { kind: 'range', min: n, max: n } };
  }
  if (p.portRange !== undefined) {
    const { start, end, protocol } = p.portRange;
    // numorstring.PortFromRange: a range whose start is above its end is an error.
    if (start > end) throw new Unconvertible(`port range ${start}-${end}`);
    return { protocol, port: { kind: 'range', min: start, max: end } };
  }
  if (p.namedPort !== undefined) return { protocol: '', port: { kind: 'named', name: p.namedPort } };
  return { protocol: '', port: undefined };
}

function cnpProtocol(p: CnpProtocol): PortIn {
  for (const [protocol, v] of [
    ['TCP', p.tcp],
    ['UDP', p.udp],
    ['SCTP', p.sctp],
  ] as const) {
    if (v === undefined) continue;
    const d = v.destinationPort;
    if (d?.number !== undefined) return { protocol, port: { kind: 'range', min: d.number, max: d.number } };
    if (d?.range !== undefined) {
      if (d.range.start > d.range.end) throw new Unconvertible(`port range ${d.range.start}-${d.range.end}`);
      return { protocol, port: { kind: 'range', min: d.range.start, max: d.range.end } };
    }
    return { protocol, port: undefined };
  }
  if (p.destinationNamedPort !== undefined) {
    return { protocol: '', port: { kind: 'named', name: p.destinationNamedPort } };
  }
  return { protocol: '', port: undefined };
}

/** unpackANPPorts / unpackCNPProtocols: per protocol (sorted) its ports, `null` meaning every port. */
function byProtocol(ports: readonly PortIn[] | undefined): [string, PortValue[] | null][] {
  let out = new Map<string, NonNullable<PortIn['port']>[] | null>();
  for (const p of ports !== undefined && ports.length > 0
    ? ports
    : [{ protocol: '', port: undefined } as PortIn]) {
    if (p.protocol === '' && p.port === undefined) {
      out = new Map([['', null]]);
      break;
    }
    if (p.port === undefined) out.set(p.protocol, null);
    else {
      const existing = out.get(p.protocol);
      if (existing === undefined) out.set(p.protocol, [p.port]);
      else if (existing !== null) existing.push(p.port);
    }
  }
  return [...out.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([proto, list]) => [
      proto,
      list === null
        ? null
        : simplifyPorts(list).map((x) =>
            x.kind === 'named' ? x.name : x.min === x.max ? x.min : `${x.min}:${x.max}`,
          ),
    ]);
}

function nsSel(s: LabelSelector): string {
  return k8sSelectorToCalico(s, 'namespace');
}

function podSel(s: LabelSelector | undefined): string {
  return k8sSelectorToCalico(s, 'pod');
}

function subjectSelectors(s: AdminPolicySubject): { selector: string; namespaceSelector: string } {
  if (s.namespaces !== undefined)
    return { selector: podSel(undefined), namespaceSelector: nsSel(s.namespaces) };
  if (s.pods !== undefined) {
    return { selector: podSel(s.pods.podSelector), namespaceSelector: nsSel(s.pods.namespaceSelector) };
  }
  throw new Unconvertible('no subject selector specified');
}

/** The entity of one peer; undefined when the peer matches nothing (a nodes peer without node addresses). */
function peerEntity(peer: AdminPolicyEgressPeer, nodes: NodeAddressBook): EntityRule | undefined {
  if (peer.namespaces !== undefined) return { namespaceSelector: nsSel(peer.namespaces) };
  if (peer.pods !== undefined) {
    return { selector: podSel(peer.pods.podSelector), namespaceSelector: nsSel(peer.pods.namespaceSelector) };
  }
  if (peer.networks !== undefined && peer.networks.length > 0) {
    const nets = peer.networks.map((n) => {
      const c = parseCidr(n);
      if (c === undefined) throw new Unconvertible(`invalid CIDR ${n}`);
      return formatCidr(c);
    });
    return { nets };
  }
  if (peer.nodes !== undefined) {
    const nets = nodes.nodeNets(peer.nodes);
    return nets.length > 0 ? { nets } : undefined;
  }
  throw new Unconvertible('none of the supported peer fields is set');
}

function convertRule(
  action: Action,
  name: string | undefined,
  ports: readonly PortIn[] | undefined,
  peers: readonly AdminPolicyEgressPeer[],
  ingress: boolean,
  nodes: NodeAddressBook,
): Rule[] {
  const rules: Rule[] = [];
  const metadata =
    name !== undefined && name !== ''
      ? { metadata: { annotations: { [ADMIN_RULE_NAME_ANNOTATION]: name } } }
      : {};
  for (const [proto, dstPorts] of byProtocol(ports)) {
    for (const peer of peers) {
      const entity = peerEntity(peer, nodes);
      if (entity === undefined) continue;
      const portsPart: EntityRule = dstPorts !== null && dstPorts.length > 0 ? { ports: dstPorts } : {};
      rules.push({
        ...metadata,
        action,
        ...(proto !== '' ? { protocol: proto as K8sProtocol } : {}),
        ...(ingress
          ? { source: entity, destination: portsPart }
          : { destination: { ...portsPart, ...entity } }),
      });
    }
  }
  return rules;
}

interface RuleIn {
  readonly action: Action;
  readonly name?: string | undefined;
  readonly ports: () => PortIn[] | undefined;
  readonly peers: readonly (AdminPolicyIngressPeer | AdminPolicyEgressPeer)[];
}

/** Every rule of one direction; a rule that does not convert fails closed (Deny) unless it allows. */
function convertRules(rules: readonly RuleIn[], ingress: boolean, nodes: NodeAddressBook): Rule[] {
  return rules.flatMap((r) => {
    try {
      return convertRule(r.action, r.name, r.ports(), r.peers, ingress, nodes);
    } catch (e) {
      if (!(e instanceof Unconvertible)) throw e;
      return r.action === 'Allow' ? [] : [{ action: 'Deny' as const }];
    }
  });
}

function anpRules(
  rules:
    | readonly {
        action: Action;
        name?: string;
        ports?: AnpPort[];
        from?: AdminPolicyIngressPeer[];
        to?: AdminPolicyEgressPeer[];
      }[]
    | undefined,
): RuleIn[] {
  return (rules ?? []).map((r) => ({
    action: r.action,
    name: r.name,
    ports: () => r.ports?.map(anpPort),
    peers: r.from ?? r.to ?? [],
  }));
}

function cnpRules(
  rules:
    | readonly {
        action: 'Accept' | 'Deny' | 'Pass';
        name?: string;
        protocols?: CnpProtocol[];
        from?: AdminPolicyIngressPeer[];
        to?: AdminPolicyEgressPeer[];
      }[]
    | undefined,
): RuleIn[] {
  return (rules ?? []).map((r) => ({
    action: r.action === 'Accept' ? 'Allow' : r.action,
    name: r.name,
    ports: () => r.protocols?.map(cnpProtocol),
    peers: r.from ?? r.to ?? [],
  }));
}

/** True when the policy has a `nodes` peer (its conversion depends on the Nodes). */
export function hasNodesPeer(r: AdminPolicyResource): boolean {
  return (r.spec.egress ?? []).some((rule) => rule.to.some((p) => p.nodes !== undefined));
}

/**
 * Converts one policy; undefined when Calico would tombstone it (no subject). `nodes` resolves `nodes` peers.
 */
export function convertAdminPolicy(
  r: AdminPolicyResource,
  nodes: NodeAddressBook,
): ConvertedAdminPolicy | undefined {
  let subject: { selector: string; namespaceSelector: string };
  try {
    subject = subjectSelectors(r.spec.subject);
  } catch (e) {
    if (e instanceof Unconvertible) return undefined;
    throw e;
  }
  const name = r.metadata.name;
  switch (r.kind) {
    case 'AdminNetworkPolicy':
      return {
        key: { kind: 'kanp', name },
        tier: KUBE_ADMIN_TIER_NAME,
        order: r.spec.priority,
        ...subject,
        ingress: convertRules(anpRules(r.spec.ingress), true, nodes),
        egress: convertRules(anpRules(r.spec.egress), false, nodes),
      };
    case 'BaselineAdminNetworkPolicy':
      return {
        key: { kind: 'kbanp', name },
        tier: KUBE_BASELINE_TIER_NAME,
        order: BANP_ORDER,
        ...subject,
        ingress: convertRules(anpRules(r.spec.ingress), true, nodes),
        egress: convertRules(anpRules(r.spec.egress), false, nodes),
      };
    case 'ClusterNetworkPolicy':
      return {
        key: { kind: 'kcnp', name },
        tier: r.spec.tier === 'Admin' ? KUBE_ADMIN_TIER_NAME : KUBE_BASELINE_TIER_NAME,
        order: r.spec.priority,
        ...subject,
        ingress: convertRules(cnpRules(r.spec.ingress), true, nodes),
        egress: convertRules(cnpRules(r.spec.egress), false, nodes),
      };
  }
}

/** A NodeAddressBook over a fixed set of nodes: name, labels and addresses (IPs or CIDRs; prefix dropped). */
export function nodeAddressBook(
  nodes: Iterable<{
    readonly labels: Readonly<Record<string, string>>;
    readonly addresses: readonly string[];
  }>,
): NodeAddressBook {
  const list = [...nodes];
  return {
    nodeNets(selector: LabelSelector): string[] {
      const parsed = parseSelector(k8sSelectorToCalico(selector, 'namespace'));
      if (!parsed.ok) return [];
      const out = new Set<string>();
      for (const n of list) {
        if (!parsed.value.matches(n.labels)) continue;
        for (const a of n.addresses) {
          const ip = a.split('/')[0] ?? '';
          const c = parseCidr(ip.includes(':') ? `${ip}/128` : `${ip}/32`);
          if (c !== undefined) out.add(formatCidr(c));
        }
      }
      return [...out].sort();
    },
  };
}
