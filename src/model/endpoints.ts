/** Endpoint, network-set, profile and tier update processors: v3 resources -> backend model values. */
import { parseProtocol, protocolNumber } from '../api/numorstring.js';
import type {
  EndpointPort,
  GlobalNetworkSet,
  HostEndpoint,
  NetworkSet,
  Profile,
  Tier,
  WorkloadEndpoint,
  WorkloadEndpointPort,
} from '../api/v3/misc.js';
import { parseCidr, parseIp } from '../lib/net/ip.js';
import type { Cidr, IpAddr } from '../lib/net/ip.js';
import { LABEL_NAMESPACE, namespaceProfileName } from './ids.js';
import { canonicalDomains, toModelRules } from './rules.js';
import type { ModelEndpoint, ModelNamedPort, ModelNetworkSet, ModelProfile, ModelTier } from './types.js';

function portsOf(ports: readonly (EndpointPort | WorkloadEndpointPort)[] | undefined): ModelNamedPort[] {
  const out: ModelNamedPort[] = [];
  for (const p of ports ?? []) {
    const proto = parseProtocol(p.protocol);
    if (p.name !== undefined && p.name !== '' && proto.ok)
      out.push({ name: p.name, protocol: protocolNumber(proto.value), port: p.port });
  }
  return out;
}

function addrOfNetwork(n: string): IpAddr | undefined {
  const c = parseCidr(n);
  return c === undefined ? undefined : { family: c.family, value: c.address };
}

export function workloadEndpointToModel(wep: WorkloadEndpoint): ModelEndpoint {
  const ns = wep.metadata.namespace ?? 'default';
  const labels: Record<string, string> = { ...(wep.metadata.labels ?? {}) };
  labels[LABEL_NAMESPACE] ??= ns;
  const ips = (wep.spec.ipNetworks ?? []).map(addrOfNetwork).filter((x): x is IpAddr => x !== undefined);
  return {
    key: { kind: 'wep', namespace: ns, name: wep.metadata.name },
    node: wep.spec.node ?? '',
    interfaceName: wep.spec.interfaceName ?? '',
    labels,
    profiles: wep.spec.profiles ?? [],
    ips,
    ports: portsOf(wep.spec.ports),
    display: wep.spec.pod !== undefined ? `${ns}/${wep.spec.pod}` : `${ns}/${wep.metadata.name}`,
  };
}

export function hostEndpointToModel(hep: HostEndpoint): ModelEndpoint {
  const ips = (hep.spec.expectedIPs ?? []).map(parseIp).filter((x): x is IpAddr => x !== undefined);
  return {
    key: { kind: 'hep', name: hep.metadata.name },
    node: hep.spec.node ?? '',
    interfaceName: hep.spec.interfaceName ?? '',
    labels: { ...(hep.metadata.labels ?? {}) },
    profiles: hep.spec.profiles ?? [],
    ips,
    ports: portsOf(hep.spec.ports),
    display: `hostendpoint ${hep.metadata.name}`,
  };
}

function netsOf(nets: readonly string[] | undefined): Cidr[] {
  const out: Cidr[] = [];
  for (const n of nets ?? []) {
    const c = parseCidr(n);
    if (c !== undefined) out.push({ family: c.family, network: c.network, prefix: c.prefix });
  }
  return out;
}

export function networkSetToModel(set: NetworkSet | GlobalNetworkSet): ModelNetworkSet {
  if (set.kind === 'NetworkSet') {
    const ns = set.metadata.namespace ?? 'default';
    return {
      key: { namespace: ns, name: set.metadata.name },
      labels: { ...(set.metadata.labels ?? {}), [LABEL_NAMESPACE]: ns },
      profiles: [namespaceProfileName(ns)],
      nets: netsOf(set.spec.nets),
      ...domainsOf(set),
    };
  }
  return {
    key: { name: set.metadata.name },
    labels: { ...(set.metadata.labels ?? {}) },
    profiles: [],
    nets: netsOf(set.spec.nets),
    ...domainsOf(set),
  };
}

function domainsOf(set: NetworkSet | GlobalNetworkSet): { allowedEgressDomains?: string[] } {
  const d = canonicalDomains(set.spec.allowedEgressDomains);
  return d.length > 0 ? { allowedEgressDomains: d } : {};
}

export function profileToModel(p: Profile): ModelProfile {
  return {
    name: p.metadata.name,
    inbound: toModelRules(p.spec.ingress, ''),
    outbound: toModelRules(p.spec.egress, ''),
    labelsToApply: { ...(p.spec.labelsToApply ?? {}) },
  };
}

export function tierToModel(t: Tier): ModelTier {
  return {
    name: t.metadata.name,
    order: t.spec.order,
    defaultAction: t.spec.defaultAction === 'Pass' ? 'pass' : 'deny',
  };
}
