/**
 * Kubernetes Namespace, ServiceAccount and Pod -> Calico Profile and WorkloadEndpoint, as libcalico-go's KDD
 * converters do (reference §1.6, §1.7): namespaces and service accounts become `kns.`/`ksa.` profiles whose
 * labels (`pcns.`/`pcsa.` prefixed) endpoints inherit; pods become WorkloadEndpoints.
 */
import { createHash } from 'node:crypto';
import type { Namespace, Pod, ServiceAccount } from '../api/k8s/types.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import type { Profile, WorkloadEndpoint, WorkloadEndpointPort } from '../api/v3/misc.js';
import type { Protocol } from '../api/numorstring.js';
import {
  LABEL_NAME,
  LABEL_NAMESPACE,
  LABEL_ORCHESTRATOR,
  LABEL_SERVICE_ACCOUNT,
  NAMESPACE_LABEL_PREFIX,
  SERVICE_ACCOUNT_LABEL_PREFIX,
  namespaceProfileName,
  serviceAccountProfileName,
  workloadEndpointName,
} from './ids.js';

export function namespaceToProfile(ns: Namespace): Profile {
  const labelsToApply: Record<string, string> = {};
  for (const [k, v] of Object.entries(ns.metadata.labels ?? {}))
    labelsToApply[NAMESPACE_LABEL_PREFIX + k] = v;
  labelsToApply[NAMESPACE_LABEL_PREFIX + LABEL_NAME] = ns.metadata.name;
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Profile',
    metadata: { name: namespaceProfileName(ns.metadata.name) },
    spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }], labelsToApply },
  };
}

export function serviceAccountToProfile(sa: ServiceAccount): Profile {
  const labelsToApply: Record<string, string> = {};
  for (const [k, v] of Object.entries(sa.metadata.labels ?? {}))
    labelsToApply[SERVICE_ACCOUNT_LABEL_PREFIX + k] = v;
  labelsToApply[SERVICE_ACCOUNT_LABEL_PREFIX + LABEL_NAME] = sa.metadata.name;
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Profile',
    metadata: { name: serviceAccountProfileName(sa.metadata.namespace ?? 'default', sa.metadata.name) },
    spec: { labelsToApply },
  };
}

/** The `default` service account every Kubernetes namespace has, listed or not. */
export function defaultServiceAccount(namespace: string): ServiceAccount {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } };
}

/** Host-side interface name: `cali` + the first 11 hex digits of SHA-1(`<namespace>.<pod>`). */
export function workloadInterfaceName(namespace: string, pod: string, prefix = 'cali'): string {
  return prefix + createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11);
}

export const DEFAULT_NODE_NAME = 'node';

function podIps(pod: Pod): string[] {
  const st = pod.status;
  if (st?.podIPs !== undefined && st.podIPs.length > 0) return st.podIPs.map((p) => p.ip);
  if (st?.podIP !== undefined && st.podIP !== '') return [st.podIP];
  const ann = pod.metadata.annotations ?? {};
  const plural = ann['cni.projectcalico.org/podIPs'];
  if (plural !== undefined && plural !== '') return plural.split(',');
  const single = ann['cni.projectcalico.org/podIP'];
  return single !== undefined && single !== '' ? [single] : [];
}

function asHostCidr(ip: string): string {
  if (ip.includes('/')) return ip;
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

/**
 * A container port's protocol (Kubernetes' default is TCP). libcalico-go writes these names lower case in the
 * endpoints it derives from pods; calico-ts keeps its Protocol type's names, which match the same packets.
 */
const POD_PORT_PROTOCOLS: Readonly<Record<string, Protocol>> = {
  '': 'TCP',
  TCP: 'TCP',
  UDP: 'UDP',
  SCTP: 'SCTP',
};

/**
 * The named ports and host ports of the pod's containers and init containers, as libcalico-go's pod conversion
 * (v3.32.1 `appendEndpointPorts`): a port counts with a name or a non-zero host port; a port of any other protocol
 * is left out.
 */
function podPorts(pod: Pod): WorkloadEndpointPort[] {
  const out: WorkloadEndpointPort[] = [];
  for (const c of [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])]) {
    for (const p of c.ports ?? []) {
      const hostPort = p.hostPort ?? 0;
      if (p.containerPort === 0 || ((p.name ?? '') === '' && hostPort === 0)) continue;
      const protocol = POD_PORT_PROTOCOLS[p.protocol ?? ''];
      if (protocol === undefined) continue;
      out.push({
        name: p.name ?? '',
        protocol,
        port: p.containerPort,
        ...(hostPort !== 0 ? { hostPort } : {}),
        ...(p.hostIP !== undefined ? { hostIP: p.hostIP } : {}),
      });
    }
  }
  return out;
}

/**
 * Pod -> WorkloadEndpoint. Returns undefined for host-networked pods (they are not Calico endpoints).
 * A pod without a service account gets `default`, as the Kubernetes API server would assign.
 */
export function podToWorkloadEndpoint(pod: Pod): WorkloadEndpoint | undefined {
  if (pod.spec.hostNetwork === true) return undefined;
  const ns = pod.metadata.namespace ?? 'default';
  const name = pod.metadata.name;
  const node = pod.spec.nodeName ?? DEFAULT_NODE_NAME;
  const sa = pod.spec.serviceAccountName ?? 'default';
  const labels: Record<string, string> = { ...(pod.metadata.labels ?? {}) };
  labels[LABEL_NAMESPACE] = ns;
  labels[LABEL_ORCHESTRATOR] = 'k8s';
  if (sa.length < 63) labels[LABEL_SERVICE_ACCOUNT] = sa;
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: { name: workloadEndpointName(node, 'k8s', name, 'eth0'), namespace: ns, labels },
    spec: {
      orchestrator: 'k8s',
      node,
      pod: name,
      endpoint: 'eth0',
      serviceAccountName: sa,
      ipNetworks: podIps(pod).map(asHostCidr),
      profiles: [namespaceProfileName(ns), serviceAccountProfileName(ns, sa)],
      interfaceName: workloadInterfaceName(ns, name),
      ports: podPorts(pod),
    },
  };
}
