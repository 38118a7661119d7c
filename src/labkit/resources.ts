/**
 * The datastore objects the lab writes on behalf of an orchestrator (pure): a pod's WorkloadEndpoint, the
 * way the CNI plugin would write it (reference §1.6, §7.2 step 8), the Kubernetes Namespace objects the
 * namespace profiles come from, and the sentinel Profile used to learn when an agent has caught up.
 */
import type { ContainerPort, Namespace, Pod } from '../api/k8s/types.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import type { GlobalNetworkSet, Profile, WorkloadEndpoint } from '../api/v3/misc.js';
import { parseIp, type IpFamily } from '../lib/net/ip.js';
import { podToWorkloadEndpoint, workloadInterfaceName } from '../model/k8s-resources.js';
import { CalicoError } from '../lib/errors.js';

/** A pod as the lab creates it (the conformance case pod shape). */
export interface LabPodSpec {
  readonly namespace: string;
  readonly name: string;
  /**
   * The pod's only address, used exactly (v4 gets a /32, v6 a /128). Absent: IPAM picks one (pods through
   * the CNI plugin, or plumbed pods in an agent-routed lab).
   */
  readonly ip?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Ports the pod's probe agent serves (TCP and UDP echo on each). */
  readonly ports?: readonly number[];
  /** Protocols the pod serves; informative (the agent serves TCP and UDP on every port). */
  readonly protocols?: readonly string[];
  /** Kubernetes container ports: named ports become WorkloadEndpoint ports. */
  readonly containerPorts?: readonly { name?: string; containerPort: number; protocol?: string }[];
}

/** The sentinel Profile: unreferenced by any endpoint, so it changes no verdict. */
export const SYNC_PROFILE_NAME = 'calico-lab-sync';
const SYNC_ANNOTATION = 'lab.calico-ts.dev/sync';

export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Parses `ns/pod` (the key cases and the CLI use). */
export function parsePodKey(key: string): { namespace: string; name: string } | undefined {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(key);
  return m ? { namespace: m[1]!, name: m[2]! } : undefined;
}

/** The address family of a pod IP; throws on anything but a plain address. */
export function podIpFamily(ip: string): IpFamily {
  const parsed = parseIp(ip);
  if (parsed === undefined) throw new CalicoError('CALICO_ERR_USAGE', `invalid pod IP "${ip}"`);
  return parsed.family;
}

export function hostInterfaceName(spec: Pick<LabPodSpec, 'namespace' | 'name'>): string {
  return workloadInterfaceName(spec.namespace, spec.name);
}

function containerPort(cp: { name?: string; containerPort: number; protocol?: string }): ContainerPort {
  const protocol = cp.protocol?.toUpperCase();
  return {
    containerPort: cp.containerPort,
    ...(cp.name !== undefined ? { name: cp.name } : {}),
    ...(protocol === 'TCP' || protocol === 'UDP' || protocol === 'SCTP' ? { protocol } : {}),
  };
}

/** The Kubernetes Pod the lab pod stands for (scheduled on `node`). */
export function labPod(
  node: string,
  spec: LabPodSpec,
  annotations: Readonly<Record<string, string>> = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: { ...(spec.labels ?? {}) },
      ...(Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
    },
    spec: {
      nodeName: node,
      serviceAccountName: 'default',
      containers: [{ name: 'c', ports: (spec.containerPorts ?? []).map(containerPort) }],
    },
    status:
      spec.ip === undefined
        ? { phase: 'Pending' }
        : { podIP: spec.ip, podIPs: [{ ip: spec.ip }], phase: 'Running' },
  };
}

/**
 * The WorkloadEndpoint the CNI plugin writes for the pod: name `<node>-k8s-<pod>-eth0`, pod labels plus the
 * `projectcalico.org/*` labels, profiles `kns.<ns>` and `ksa.<ns>.default`, named container ports.
 */
export function labWorkloadEndpoint(
  node: string,
  spec: LabPodSpec & { readonly ip: string },
): WorkloadEndpoint {
  podIpFamily(spec.ip);
  const wep = podToWorkloadEndpoint(labPod(node, spec));
  if (wep === undefined) throw new CalicoError('CALICO_ERR_BUG', 'a lab pod is never host-networked');
  return wep;
}

export function labNamespace(name: string, labels: Readonly<Record<string, string>> = {}): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...labels } } };
}

/**
 * The sentinel `sync` writes: on the Kubernetes datastore a GlobalNetworkSet (Profiles there come from
 * Namespaces and ServiceAccounts, and writes are refused), else the Profile below. It selects nothing.
 */
export function syncSentinel(token: string, kdd: boolean): Profile | GlobalNetworkSet {
  if (!kdd) return syncProfile(token);
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'GlobalNetworkSet',
    metadata: { name: SYNC_PROFILE_NAME, annotations: { [SYNC_ANNOTATION]: token } },
    spec: { nets: [] },
  };
}

/** The sentinel Profile with a fresh annotation value: writing it always creates a new revision. */
export function syncProfile(token: string): Profile {
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Profile',
    metadata: { name: SYNC_PROFILE_NAME, annotations: { [SYNC_ANNOTATION]: token } },
    spec: {},
  };
}
