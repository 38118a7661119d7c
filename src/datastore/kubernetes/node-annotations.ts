/**
 * Calico's Node in KDD is the Kubernetes Node plus `projectcalico.org/*` annotations (libcalico-go/lib/backend/
 * k8s/resources/node.go `K8sNodeToCalico`, `mergeCalicoNodeIntoK8sNode`). Reading: BGP addresses, AS number,
 * route-reflector id, tunnel addresses and MACs, WireGuard addresses and keys, interfaces come from the
 * annotations (a malformed value is left out, as Calico's validators do); labels are the Calico labels (the
 * `projectcalico.org/labels` annotation) overlaid with the Kubernetes labels, which are also stashed in
 * `projectcalico.org/kube-labels`; addresses are the BGP ones then the Node's InternalIP/ExternalIP; orchRefs
 * name the node for k8s; podCIDRs come from the Node's spec. Writing (Update only; Create and Delete are
 * refused, kinds.ts) sets or removes the same annotations on a copy of the Node. Pure.
 */
import type { ObjectMeta } from '../../api/meta.js';
import { parseAsNumber } from '../../api/v3/bgp-common.js';
import type { Node, NodeAddress, NodeInterface, NodeSpec, NodeStatus } from '../../api/v3/bgp-types.js';
import { CALICO_API_VERSION } from '../../api/meta.js';
import { checkMac } from '../../api/names.js';
import { parseCidr, parseIp } from '../../lib/net/ip.js';
import { goMap } from './go-json.js';

/** The parts of a Kubernetes core/v1 Node that Calico reads. */
export interface KubeNode {
  readonly apiVersion: 'v1';
  readonly kind: 'Node';
  readonly metadata: ObjectMeta;
  readonly spec?: { readonly podCIDR?: string; readonly podCIDRs?: readonly string[] };
  readonly status?: { readonly addresses?: readonly { readonly type: string; readonly address: string }[] };
}

const P = 'projectcalico.org/';
export const NODE_ANNOTATIONS = {
  ipv4Address: `${P}IPv4Address`,
  ipv6Address: `${P}IPv6Address`,
  asNumber: `${P}ASNumber`,
  routeReflectorClusterID: `${P}RouteReflectorClusterID`,
  ipv4IPIPTunnelAddr: `${P}IPv4IPIPTunnelAddr`,
  ipv4VXLANTunnelAddr: `${P}IPv4VXLANTunnelAddr`,
  vxlanTunnelMACAddr: `${P}VXLANTunnelMACAddr`,
  ipv6VXLANTunnelAddr: `${P}IPv6VXLANTunnelAddr`,
  vxlanTunnelMACAddrV6: `${P}VXLANTunnelMACAddrV6`,
  wireguardIPv4: `${P}IPv4WireguardInterfaceAddr`,
  wireguardIPv6: `${P}IPv6WireguardInterfaceAddr`,
  wireguardPublicKey: `${P}WireguardPublicKey`,
  wireguardPublicKeyV6: `${P}WireguardPublicKeyV6`,
  interfaces: `${P}Interfaces`,
  kubeLabels: `${P}kube-labels`,
  labels: `${P}labels`,
  annotations: `${P}annotations`,
} as const;
const A = NODE_ANNOTATIONS;

type Check = (s: string) => boolean;
const cidrOf =
  (family: 4 | 6): Check =>
  (s) =>
    parseCidr(s)?.family === family;
const ipOf =
  (family: 4 | 6): Check =>
  (s) =>
    parseIp(s)?.family === family;
const mac: Check = (s) => checkMac(s) === undefined;

function jsonMap(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
    return out;
  } catch {
    return undefined;
  }
}

function interfaces(text: string | undefined): NodeInterface[] | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  return v.flatMap((i: unknown): NodeInterface[] => {
    if (typeof i !== 'object' || i === null) return [];
    const { name, addresses } = i as { name?: unknown; addresses?: unknown };
    if (typeof name !== 'string') return [];
    const addrs = Array.isArray(addresses)
      ? addresses.filter((a): a is string => typeof a === 'string' && parseIp(a) !== undefined)
      : [];
    return [{ name, ...(addrs.length > 0 ? { addresses: addrs } : {}) }];
  });
}

function defined<T extends object>(o: T): T | undefined {
  return Object.values(o).some((v) => v !== undefined) ? o : undefined;
}

/** The calico-ts Node for a Kubernetes Node (node.go `K8sNodeToCalico`, calico-ipam mode). */
export function kubeNodeToCalico(k: KubeNode): Node {
  const ann = k.metadata.annotations ?? {};
  const get = (key: string, ok: Check): string | undefined => {
    const v = Object.hasOwn(ann, key) ? ann[key] : undefined;
    return v !== undefined && ok(v) ? v : undefined;
  };
  const asn = Object.hasOwn(ann, A.asNumber) ? parseAsNumber(ann[A.asNumber]) : undefined;
  const bgp = defined({
    ipv4Address: get(A.ipv4Address, cidrOf(4)),
    ipv6Address: get(A.ipv6Address, cidrOf(6)),
    routeReflectorClusterID: get(A.routeReflectorClusterID, ipOf(4)),
    asNumber: asn,
    ipv4IPIPTunnelAddr: get(A.ipv4IPIPTunnelAddr, ipOf(4)),
  });
  const wireguard = defined({
    interfaceIPv4Address: get(A.wireguardIPv4, ipOf(4)),
    interfaceIPv6Address: get(A.wireguardIPv6, ipOf(6)),
  });
  const addresses: NodeAddress[] = [];
  for (const a of [bgp?.ipv4Address, bgp?.ipv6Address])
    if (a !== undefined) addresses.push({ address: a, type: 'CalicoNodeIP' });
  for (const a of k.status?.addresses ?? []) {
    if (a.type === 'InternalIP' || a.type === 'ExternalIP')
      addresses.push({ address: a.address, type: a.type });
  }
  const ifaces = interfaces(Object.hasOwn(ann, A.interfaces) ? ann[A.interfaces] : undefined);
  const spec: NodeSpec = {
    ...(bgp === undefined ? {} : { bgp: strip(bgp) }),
    ...strip({
      ipv4VXLANTunnelAddr: get(A.ipv4VXLANTunnelAddr, ipOf(4)),
      vxlanTunnelMACAddr: get(A.vxlanTunnelMACAddr, mac),
      ipv6VXLANTunnelAddr: get(A.ipv6VXLANTunnelAddr, ipOf(6)),
      vxlanTunnelMACAddrV6: get(A.vxlanTunnelMACAddrV6, mac),
    }),
    orchRefs: [{ nodeName: k.metadata.name, orchestrator: 'k8s' }],
    ...(wireguard === undefined ? {} : { wireguard: strip(wireguard) }),
    ...(addresses.length > 0 ? { addresses } : {}),
    ...(ifaces === undefined ? {} : { interfaces: ifaces }),
  };
  const podCIDRs = k.spec?.podCIDRs ?? [];
  const status: NodeStatus = strip({
    wireguardPublicKey: nonEmpty(ann[A.wireguardPublicKey]),
    wireguardPublicKeyV6: nonEmpty(ann[A.wireguardPublicKeyV6]),
    podCIDRs: podCIDRs.length > 0 ? [...podCIDRs] : undefined,
  });
  const kubeLabels = k.metadata.labels ?? {};
  const labels = { ...jsonMap(ann[A.labels]), ...kubeLabels };
  const calicoAnnotations = {
    ...jsonMap(ann[A.annotations]),
    [A.kubeLabels]: JSON.stringify(goMap(kubeLabels)),
  };
  const { creationTimestamp, uid, resourceVersion } = k.metadata;
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Node',
    metadata: {
      name: k.metadata.name,
      ...strip({ creationTimestamp, uid, resourceVersion }),
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      annotations: calicoAnnotations,
    },
    spec,
    ...(Object.keys(status).length > 0 ? { status } : {}),
  };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === '' ? undefined : s;
}

/** `o` without its undefined fields, typed as optional fields (exactOptionalPropertyTypes). */
type Defined<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

function strip<T extends object>(o: T): Defined<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as Defined<T>;
}

/**
 * A copy of `kube` carrying `node`'s Calico fields in its annotations (node.go `mergeCalicoNodeIntoK8sNode`):
 * each field set or, when absent, its annotation removed. A label the Kubernetes Node has (recorded in
 * `projectcalico.org/kube-labels` on reading) is not stored as a Calico label: the Kubernetes value wins.
 */
export function mergeCalicoNodeIntoKube(node: Node, kube: KubeNode): KubeNode {
  const ann = new Map(Object.entries(kube.metadata.annotations ?? {}));
  const set = (key: string, v: string | number | undefined): void => {
    if (v === undefined || v === '') ann.delete(key);
    else ann.set(key, String(v));
  };
  const kubeLabels = jsonMap(node.metadata.annotations?.[A.kubeLabels]) ?? {};
  const calicoLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(node.metadata.labels ?? {}))
    if (!Object.hasOwn(kubeLabels, k)) calicoLabels[k] = v;
  const calicoAnnotations = Object.fromEntries(
    Object.entries(node.metadata.annotations ?? {}).filter(([k]) => k !== A.kubeLabels),
  );
  set(A.labels, Object.keys(calicoLabels).length > 0 ? JSON.stringify(calicoLabels) : undefined);
  set(
    A.annotations,
    Object.keys(calicoAnnotations).length > 0 ? JSON.stringify(calicoAnnotations) : undefined,
  );
  const s = node.spec;
  set(A.ipv4VXLANTunnelAddr, s.ipv4VXLANTunnelAddr);
  set(A.vxlanTunnelMACAddr, s.vxlanTunnelMACAddr);
  set(A.ipv6VXLANTunnelAddr, s.ipv6VXLANTunnelAddr);
  set(A.vxlanTunnelMACAddrV6, s.vxlanTunnelMACAddrV6);
  set(A.ipv4Address, s.bgp?.ipv4Address);
  set(A.ipv4IPIPTunnelAddr, s.bgp?.ipv4IPIPTunnelAddr);
  set(A.ipv6Address, s.bgp?.ipv6Address);
  set(A.asNumber, s.bgp?.asNumber);
  set(A.routeReflectorClusterID, s.bgp?.routeReflectorClusterID);
  set(A.wireguardIPv4, s.wireguard?.interfaceIPv4Address);
  set(A.wireguardIPv6, s.wireguard?.interfaceIPv6Address);
  set(A.wireguardPublicKey, node.status?.wireguardPublicKey);
  set(A.wireguardPublicKeyV6, node.status?.wireguardPublicKeyV6);
  set(A.interfaces, s.interfaces === undefined ? undefined : JSON.stringify(s.interfaces));
  return { ...kube, metadata: { ...kube.metadata, annotations: Object.fromEntries(ann) } };
}
