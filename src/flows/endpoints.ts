/**
 * Who is at an address, as a flow log names it (felix/collector/types/endpoint: GetMetadata): a workload
 * endpoint (its namespace, its pod's GenerateName + `*` when the pod has one, else the pod's name), a host
 * endpoint (namespace `-`, aggregated to its node's name), a NetworkSet or GlobalNetworkSet holding the address
 * (the longest prefix wins; namespace `-` for a global one), else the network itself: `pvt` for RFC 1918
 * addresses, `pub` for the rest, namespace `-`. Pure, over a model snapshot.
 */
import { cidrContains, type IpAddr, parseIp } from '../lib/net/ip.js';
import type { ModelSnapshot } from '../model/snapshot.js';
import type { ModelEndpoint, ModelNetworkSet } from '../model/types.js';
import type { EndpointType } from './types.js';

/** Calico's "field not included" / global namespace. */
export const GLOBAL_NAMESPACE = '-';

export interface FlowEndpoint {
  readonly type: EndpointType;
  readonly namespace: string;
  /** The aggregated name (what the flow key holds). */
  readonly name: string;
  /** `key=value`, sorted. */
  readonly labels: readonly string[];
  /** The workload or host endpoint of the model, when the address is one. */
  readonly endpoint?: ModelEndpoint;
}

/** The pod's `metadata.generateName` (`web-7d9f5c-`), when it has one. */
export type GenerateNameOf = (namespace: string, pod: string) => string | undefined;

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => {
  const [ip, len] = c.split('/') as [string, string];
  const v = (parseIp(ip) as IpAddr).value;
  return { family: 4 as const, network: v, prefix: Number(len) };
});

function labelList(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .sort();
}

/** The endpoint's pod name: `display` is `<namespace>/<pod>` for workloads. */
function podName(ep: ModelEndpoint): string {
  const slash = ep.display.indexOf('/');
  return slash < 0 ? ep.display : ep.display.slice(slash + 1);
}

export function describeEndpoint(ep: ModelEndpoint, generateName: GenerateNameOf): FlowEndpoint {
  if (ep.key.kind === 'hep')
    return {
      type: 'HostEndpoint',
      namespace: GLOBAL_NAMESPACE,
      name: ep.node,
      labels: labelList(ep.labels),
      endpoint: ep,
    };
  const pod = podName(ep);
  const gn = generateName(ep.key.namespace, pod);
  return {
    type: 'WorkloadEndpoint',
    namespace: ep.key.namespace,
    name: gn !== undefined && gn !== '' ? `${gn}*` : pod,
    labels: labelList(ep.labels),
    endpoint: ep,
  };
}

function describeSet(s: ModelNetworkSet): FlowEndpoint {
  return {
    type: 'NetworkSet',
    namespace: s.key.namespace ?? GLOBAL_NAMESPACE,
    name: s.key.name,
    labels: labelList(s.labels),
  };
}

/** Address → flow endpoint, indexed once per model snapshot. */
export class FlowEndpointIndex {
  readonly #byIp = new Map<string, ModelEndpoint>();
  /** Every network set's CIDRs, longest prefix first. */
  readonly #nets: { readonly set: ModelNetworkSet; readonly cidr: ModelNetworkSet['nets'][number] }[];
  readonly #generateName: GenerateNameOf;

  constructor(snapshot: ModelSnapshot, generateName: GenerateNameOf = () => undefined) {
    this.#generateName = generateName;
    for (const ep of snapshot.endpoints) {
      for (const ip of ep.ips) {
        const k = `${ip.family}/${ip.value}`;
        // A workload wins over a host endpoint claiming the same address.
        const cur = this.#byIp.get(k);
        if (cur === undefined || (cur.key.kind === 'hep' && ep.key.kind === 'wep')) this.#byIp.set(k, ep);
      }
    }
    this.#nets = snapshot.networkSets
      .flatMap((set) => set.nets.map((cidr) => ({ set, cidr })))
      .sort((a, b) => b.cidr.prefix - a.cidr.prefix);
  }

  /** The model endpoint holding exactly this address. */
  endpointAt(ip: IpAddr): ModelEndpoint | undefined {
    return this.#byIp.get(`${ip.family}/${ip.value}`);
  }

  lookup(address: string): FlowEndpoint {
    const ip = parseIp(address);
    if (ip === undefined) return { type: 'Network', namespace: GLOBAL_NAMESPACE, name: 'pub', labels: [] };
    const ep = this.endpointAt(ip);
    if (ep !== undefined) return describeEndpoint(ep, this.#generateName);
    const net = this.#nets.find((n) => cidrContains(n.cidr, ip));
    if (net !== undefined) return describeSet(net.set);
    const pvt = ip.family === 4 && PRIVATE.some((c) => cidrContains(c, ip));
    return { type: 'Network', namespace: GLOBAL_NAMESPACE, name: pvt ? 'pvt' : 'pub', labels: [] };
  }
}
