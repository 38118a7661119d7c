/** Small builders for evaluator tests: typed resources without YAML. Test-only. */
import type { Namespace, Pod, ServiceAccount } from '../api/k8s/types.js';
import type {
  GlobalNetworkSet,
  HostEndpoint,
  HostEndpointSpec,
  NetworkSet,
  Profile,
  ProfileSpec,
  Tier,
} from '../api/v3/misc.js';
import type {
  GlobalNetworkPolicy,
  GlobalNetworkPolicySpec,
  NetworkPolicy,
  NetworkPolicySpec,
  StagedGlobalNetworkPolicy,
  StagedGlobalNetworkPolicySpec,
} from '../api/v3/policy.js';
import { parseIp } from '../lib/net/ip.js';
import type { ModelInput } from '../model/snapshot.js';
import { buildSnapshot } from '../model/snapshot.js';
import { PolicyEvaluator } from './evaluator.js';
import type { EvaluatorOptions } from './evaluator.js';
import type { Decision } from './trace.js';

const C = 'projectcalico.org/v3' as const;

export function ns(name: string, labels: Record<string, string> = {}): Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
  };
}

export function sa(namespace: string, name: string, labels: Record<string, string> = {}): ServiceAccount {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels } };
}

export function pod(
  namespace: string,
  name: string,
  ip: string,
  labels: Record<string, string> = {},
  extra: {
    serviceAccount?: string;
    ports?: { name: string; port: number; protocol?: 'TCP' | 'UDP' }[];
    node?: string;
  } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: {
      ...(extra.serviceAccount !== undefined ? { serviceAccountName: extra.serviceAccount } : {}),
      ...(extra.node !== undefined ? { nodeName: extra.node } : {}),
      containers: [
        {
          name: 'c',
          ports: (extra.ports ?? []).map((p) => ({
            name: p.name,
            containerPort: p.port,
            protocol: p.protocol ?? 'TCP',
          })),
        },
      ],
    },
    status: { podIP: ip },
  };
}

export function gnp(name: string, spec: GlobalNetworkPolicySpec): GlobalNetworkPolicy {
  return { apiVersion: C, kind: 'GlobalNetworkPolicy', metadata: { name }, spec };
}

export function sgnp(name: string, spec: StagedGlobalNetworkPolicySpec): StagedGlobalNetworkPolicy {
  return { apiVersion: C, kind: 'StagedGlobalNetworkPolicy', metadata: { name }, spec };
}

export function np(namespace: string, name: string, spec: NetworkPolicySpec): NetworkPolicy {
  return { apiVersion: C, kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

export function tier(name: string, order: number, defaultAction: 'Deny' | 'Pass' = 'Deny'): Tier {
  return { apiVersion: C, kind: 'Tier', metadata: { name }, spec: { order, defaultAction } };
}

export function hep(name: string, spec: HostEndpointSpec, labels: Record<string, string> = {}): HostEndpoint {
  return { apiVersion: C, kind: 'HostEndpoint', metadata: { name, labels }, spec };
}

export function gns(name: string, nets: string[], labels: Record<string, string>): GlobalNetworkSet {
  return { apiVersion: C, kind: 'GlobalNetworkSet', metadata: { name, labels }, spec: { nets } };
}

export function netset(
  namespace: string,
  name: string,
  nets: string[],
  labels: Record<string, string>,
): NetworkSet {
  return { apiVersion: C, kind: 'NetworkSet', metadata: { name, namespace, labels }, spec: { nets } };
}

export function profile(name: string, spec: ProfileSpec): Profile {
  return { apiVersion: C, kind: 'Profile', metadata: { name }, spec };
}

/** Decides `from -> to` by IP address. */
export function decider(inputs: ModelInput[], options?: EvaluatorOptions) {
  const ev = new PolicyEvaluator(buildSnapshot(inputs), options);
  return (
    from: string,
    to: string,
    protocol: number,
    port?: number,
    icmp?: { type: number; code?: number },
  ): Decision => {
    const src = parseIp(from);
    const dst = parseIp(to);
    if (src === undefined || dst === undefined) throw new Error('bad test address');
    return ev.decide({
      src: { ip: src },
      dst: { ip: dst, ...(port !== undefined ? { port } : {}) },
      protocol,
      ...(icmp !== undefined
        ? { icmpType: icmp.type, ...(icmp.code !== undefined ? { icmpCode: icmp.code } : {}) }
        : {}),
    });
  };
}

/** Decides `from -> to` (addresses), naming the host endpoints a node forwards it through, if any. */
export function forwardDecider(inputs: ModelInput[], options?: EvaluatorOptions) {
  const snapshot = buildSnapshot(inputs);
  const ev = new PolicyEvaluator(snapshot, options);
  const hepNamed = (name: string | undefined) => {
    if (name === undefined) return undefined;
    const ep = snapshot.endpoints.find((e) => e.key.kind === 'hep' && e.key.name === name);
    if (ep === undefined) throw new Error(`no host endpoint ${name}`);
    return ep;
  };
  return (c: {
    from: string;
    to: string;
    protocol: number;
    port?: number;
    srcPort?: number;
    via?: { in?: string; out?: string };
  }): Decision => {
    const src = parseIp(c.from);
    const dst = parseIp(c.to);
    if (src === undefined || dst === undefined) throw new Error('bad test address');
    const viaIn = hepNamed(c.via?.in);
    const viaOut = hepNamed(c.via?.out);
    return ev.decide({
      src: { ip: src, ...(c.srcPort !== undefined ? { port: c.srcPort } : {}) },
      dst: { ip: dst, ...(c.port !== undefined ? { port: c.port } : {}) },
      protocol: c.protocol,
      via: {
        ...(viaIn !== undefined ? { in: viaIn } : {}),
        ...(viaOut !== undefined ? { out: viaOut } : {}),
      },
    });
  };
}
