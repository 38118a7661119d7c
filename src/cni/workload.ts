/**
 * Who the pod is and what the plugin records for it (reference §1.6, §7.2 steps 1-2 and 8): the
 * WorkloadEndpoint identifiers and name (`<node>-k8s-<pod>-<ifname>`, or `<node>-cni-<containerID>-<ifname>`
 * outside Kubernetes), the host veth name, the Calico pod annotations, and the WorkloadEndpoint itself with
 * labels, profiles, service account and named ports taken from the stored Pod when there is one. Pure.
 */
import type { Namespace, Pod } from '../api/k8s/types.js';
import { checkSubdomain } from '../api/names.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import type { IPNAT, WorkloadEndpoint } from '../api/v3/misc.js';
import { parseCidr } from '../lib/net/ip.js';
import { err, ok, type Result } from '../lib/result.js';
import {
  LABEL_NAMESPACE,
  LABEL_ORCHESTRATOR,
  namespaceProfileName,
  workloadEndpointName,
} from '../model/ids.js';
import { podToWorkloadEndpoint, workloadInterfaceName } from '../model/k8s-resources.js';
import type { Workload } from './invocation.js';

export interface WorkloadIds {
  readonly orchestrator: 'k8s' | 'cni';
  readonly node: string;
  /** The WorkloadEndpoint's namespace (`default` outside Kubernetes). */
  readonly namespace: string;
  /** Pod name (k8s) or container ID (cni). */
  readonly workload: string;
  readonly endpoint: string;
  readonly wepName: string;
  readonly hostIf: string;
  readonly containerId: string;
}

export function workloadIds(node: string, w: Workload, containerId: string, ifname: string): WorkloadIds {
  if (w.kind === 'k8s') {
    return {
      orchestrator: 'k8s',
      node,
      namespace: w.namespace,
      workload: w.pod,
      endpoint: ifname,
      wepName: workloadEndpointName(node, 'k8s', w.pod, ifname),
      hostIf: workloadInterfaceName(w.namespace, w.pod),
      containerId,
    };
  }
  return {
    orchestrator: 'cni',
    node,
    namespace: 'default',
    workload: containerId,
    endpoint: ifname,
    wepName: workloadEndpointName(node, 'cni', containerId, ifname),
    // Calico's non-Kubernetes veth name: `cali` + the container ID's first 11 characters.
    hostIf: `cali${containerId.slice(0, 11)}`,
    containerId,
  };
}

/**
 * Why these identifiers cannot name a WorkloadEndpoint (Calico's validation would reject the write), or
 * undefined. Checked before IPAM so that a bad name costs nothing to undo.
 */
export function workloadIdsProblem(ids: WorkloadIds): string | undefined {
  const parts: [string, string][] = [
    ['node name', ids.node],
    ['namespace', ids.namespace],
    [ids.orchestrator === 'k8s' ? 'pod name' : 'container ID', ids.workload],
  ];
  for (const [what, value] of parts) {
    const p = checkSubdomain(value, what);
    if (p !== undefined) return p;
  }
  return checkSubdomain(ids.wepName, 'WorkloadEndpoint name');
}

/** The Calico annotations of a pod (pod values win over its namespace's). */
export interface PodNetworkRequest {
  readonly ipv4Pools?: readonly string[];
  readonly ipv6Pools?: readonly string[];
  /** Specific addresses to take from IPAM (`ipAddrs`). */
  readonly ipAddrs?: readonly string[];
  /** Addresses used without IPAM (`ipAddrsNoIpam`; needs `feature_control.ip_addrs_no_ipam`). */
  readonly ipAddrsNoIpam?: readonly string[];
  readonly floatingIps?: readonly string[];
  readonly hwAddr?: string;
  readonly allowedSourcePrefixes?: readonly string[];
}

const ANN = 'cni.projectcalico.org/';

function jsonList(ann: Readonly<Record<string, string>>, key: string): Result<string[] | undefined, string> {
  const text = ann[ANN + key];
  if (text === undefined || text === '') return ok(undefined);
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string')) return ok(v);
  } catch {
    // Reported below.
  }
  return err(`annotation ${ANN}${key} must be a JSON list of strings, got ${JSON.stringify(text)}`);
}

/** Reads the annotations; a malformed one is an error (Calico fails the ADD). */
export function podNetworkRequest(
  pod: Pod | undefined,
  ns: Namespace | undefined,
): Result<PodNetworkRequest, string> {
  const nsAnn = ns?.metadata.annotations ?? {};
  const podAnn = pod?.metadata.annotations ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, field, scopes] of [
    ['ipv4pools', 'ipv4Pools', [podAnn, nsAnn]],
    ['ipv6pools', 'ipv6Pools', [podAnn, nsAnn]],
    ['ipAddrs', 'ipAddrs', [podAnn]],
    ['ipAddrsNoIpam', 'ipAddrsNoIpam', [podAnn]],
    ['floatingIPs', 'floatingIps', [podAnn]],
    ['allowedSourcePrefixes', 'allowedSourcePrefixes', [podAnn]],
  ] as const) {
    for (const ann of scopes) {
      const v = jsonList(ann, key);
      if (!v.ok) return v;
      if (v.value !== undefined) {
        out[field] = v.value;
        break;
      }
    }
  }
  const hw = podAnn[`${ANN}hwAddr`];
  if (hw !== undefined && hw !== '') {
    if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(hw))
      return err(`annotation ${ANN}hwAddr: invalid MAC ${hw}`);
    out['hwAddr'] = hw.toLowerCase();
  }
  if (out['ipAddrs'] !== undefined && out['ipAddrsNoIpam'] !== undefined) {
    return err(`annotations ${ANN}ipAddrs and ${ANN}ipAddrsNoIpam cannot both be set`);
  }
  for (const field of ['ipAddrs', 'ipAddrsNoIpam', 'floatingIps'] as const) {
    for (const ip of (out[field] as string[] | undefined) ?? []) {
      const c = parseCidr(ip);
      if (c === undefined || ip.includes('/'))
        return err(`invalid IP address ${JSON.stringify(ip)} in ${field}`);
    }
  }
  return ok(out as PodNetworkRequest);
}

/** `ip` -> `ip/32` or `ip/128`; an `ip/prefix` keeps only the address. */
export function hostAddress(ip: string): { family: 4 | 6; text: string } | undefined {
  const c = parseCidr(ip);
  if (c === undefined) return undefined;
  const addr = ip.split('/')[0] ?? ip;
  return c.family === 4 ? { family: 4, text: `${addr}/32` } : { family: 6, text: `${addr}/128` };
}

export interface EndpointInputs {
  readonly ids: WorkloadIds;
  readonly pod?: Pod;
  readonly networkName: string;
  /** `ip/32`, `ip/128`. */
  readonly ipNetworks: readonly string[];
  readonly mac: string;
  readonly floatingIps?: readonly string[];
  readonly allowedSourcePrefixes?: readonly string[];
}

function ipNats(ipNetworks: readonly string[], floating: readonly string[]): IPNAT[] {
  const out: IPNAT[] = [];
  for (const ext of floating) {
    const fam = ext.includes(':') ? 6 : 4;
    const internal = ipNetworks.find((n) => (n.includes(':') ? 6 : 4) === fam);
    if (internal !== undefined) out.push({ internalIP: internal.split('/')[0] ?? internal, externalIP: ext });
  }
  return out;
}

export function buildWorkloadEndpoint(inp: EndpointInputs): WorkloadEndpoint {
  const { ids } = inp;
  const fromPod =
    inp.pod === undefined
      ? undefined
      : podToWorkloadEndpoint({ ...inp.pod, spec: { ...inp.pod.spec, nodeName: ids.node } });
  const labels: Record<string, string> = { ...(fromPod?.metadata.labels ?? {}) };
  labels[LABEL_NAMESPACE] = ids.namespace;
  labels[LABEL_ORCHESTRATOR] = ids.orchestrator;
  const profiles =
    ids.orchestrator === 'k8s'
      ? (fromPod?.spec.profiles ?? [namespaceProfileName(ids.namespace)])
      : [inp.networkName];
  const nats = ipNats(inp.ipNetworks, inp.floatingIps ?? []);
  const sa = fromPod?.spec.serviceAccountName;
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: { name: ids.wepName, namespace: ids.namespace, labels },
    spec: {
      orchestrator: ids.orchestrator,
      node: ids.node,
      ...(ids.orchestrator === 'k8s' ? { pod: ids.workload } : { workload: ids.workload }),
      endpoint: ids.endpoint,
      containerID: ids.containerId,
      ...(sa === undefined ? {} : { serviceAccountName: sa }),
      ipNetworks: [...inp.ipNetworks],
      ...(nats.length === 0 ? {} : { ipNATs: nats }),
      profiles,
      interfaceName: ids.hostIf,
      mac: inp.mac,
      ports: fromPod?.spec.ports ?? [],
      ...(inp.allowedSourcePrefixes === undefined || inp.allowedSourcePrefixes.length === 0
        ? {}
        : { allowSpoofedSourcePrefixes: [...inp.allowedSourcePrefixes] }),
    },
  };
}
