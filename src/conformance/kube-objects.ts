/**
 * The Kubernetes objects a NetworkPolicy case becomes when it runs through kube-apiserver (`--kubernetes`),
 * built purely: Namespaces with the case's labels, Pods bound to a lab node with the case's labels and
 * container ports and the case address in Calico's `cni.projectcalico.org/ipAddrs` annotation (calico-ipam
 * assigns exactly it), the case's NetworkPolicies as they are written, and Calico-kind policies (decoded as
 * user input is) for the Kubernetes datastore. Also the label merge patches that make an object's labels
 * exactly a state's, and the sync barrier's objects (kube-sync.ts).
 *
 * Pods keep the default termination grace period: with 0 the API server would remove a deleted Pod at once,
 * before its kubelet ran CNI DEL, and a new pod at the same address would find it still assigned. With a
 * grace period the kubelet tears the sandbox down first and then removes the Pod.
 *
 * Probed ports: the lab kubelet serves every containerPort of a pod (TCP and UDP alike). A probed port no
 * container port of the case declares is added, unnamed, to a second container `probe`: Calico's pod
 * conversion keeps only named (or host) ports, so an unnamed port changes no policy.
 */
import { decodeResource } from '../api/decode.js';
import { formatIssue } from '../lib/errors.js';
import type { Resource } from '../datastore/index.js';
import { IP_ADDRS_ANNOTATION } from '../labkit/cni.js';
import type { CasePod, CaseState } from './cases.js';

/** Every pod's image: the lab kubelet runs no image, the API server only requires one. */
export const CASE_POD_IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.53';

/** The label kube-apiserver puts on every Namespace (its name), whatever a client writes. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export type Labels = Readonly<Record<string, string>>;

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Labels;
    readonly annotations?: Labels;
  };
  readonly spec?: unknown;
}

/**
 * A Namespace with exactly `labels` as kube-apiserver will store it: its name label is the API server's, so
 * it is set here too (a case that gives it a different value cannot exist in a real cluster).
 */
export function namespaceObject(name: string, labels: Labels = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { ...labels, [NAMESPACE_NAME_LABEL]: name } },
  };
}

/**
 * The JSON merge patch that makes an object's labels exactly `want` (removed keys set to null), or
 * undefined when they are already.
 */
export function labelsPatch(
  have: Labels | undefined,
  want: Labels,
): { metadata: { labels: Record<string, string | null> } } | undefined {
  const labels: Record<string, string | null> = {};
  for (const k of Object.keys(have ?? {})) if (!(k in want)) labels[k] = null;
  for (const [k, v] of Object.entries(want)) if (have?.[k] !== v) labels[k] = v;
  return Object.keys(labels).length === 0 ? undefined : { metadata: { labels } };
}

interface ContainerPort {
  readonly containerPort: number;
  readonly name?: string;
  readonly protocol: string;
}

/** The case's container ports, the protocol defaulted as the API server defaults it. */
function casePorts(p: CasePod): ContainerPort[] {
  return p.containerPorts.map((cp) => ({
    containerPort: cp.containerPort,
    ...(cp.name !== undefined && cp.name !== '' ? { name: cp.name } : {}),
    protocol: (cp.protocol ?? 'TCP').toUpperCase(),
  }));
}

/** The ports served beside the case's container ports: every probed port none of them declares. */
export function extraServedPorts(p: CasePod, served: readonly number[]): number[] {
  const declared = new Set(p.containerPorts.map((cp) => cp.containerPort));
  return [...new Set(served)].filter((n) => !declared.has(n)).sort((a, b) => a - b);
}

/** The Pod of a case pod: bound to `node`, serving `served` ports, at the case address. */
export function podObject(
  p: CasePod,
  opts: { readonly node: string; readonly served: readonly number[] },
): KubeObject {
  const extra = extraServedPorts(p, opts.served);
  const containers = [
    { name: 'c', image: CASE_POD_IMAGE, ports: casePorts(p) },
    ...(extra.length > 0
      ? [
          {
            name: 'probe',
            image: CASE_POD_IMAGE,
            ports: extra.map((containerPort) => ({ containerPort, protocol: 'TCP' })),
          },
        ]
      : []),
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      labels: { ...p.labels },
      annotations: { [IP_ADDRS_ANNOTATION]: JSON.stringify([p.ip]) },
    },
    spec: {
      nodeName: opts.node,
      automountServiceAccountToken: false,
      containers,
    },
  };
}

/**
 * What must be equal for a running Pod to stand for a case pod (everything but its labels, which can be
 * patched: a Pod's spec is immutable and its address fixed at its start).
 */
export function podFingerprint(o: KubeObject): string {
  return JSON.stringify({
    ns: o.metadata.namespace,
    name: o.metadata.name,
    annotations: o.metadata.annotations,
    spec: o.spec,
  });
}

/** A networking.k8s.io NetworkPolicy of a case, kept as written. */
export interface KubeNetworkPolicy extends KubeObject {
  readonly metadata: KubeObject['metadata'] & { readonly namespace: string };
}

export interface StatePolicies {
  /** networking.k8s.io/v1 NetworkPolicies, created through the core API. */
  readonly kube: readonly KubeNetworkPolicy[];
  /** Calico-kind resources (projectcalico.org/v3), written through the Kubernetes datastore. */
  readonly calico: readonly Resource[];
  readonly problems: readonly string[];
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const DROPPED_METADATA = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields'];

/**
 * Splits a state's policies into Kubernetes NetworkPolicies (sent to the API server as written, minus
 * server-owned metadata) and Calico-kind resources (decoded and validated as calicoctl input is). A
 * NetworkPolicy without a name or namespace, or a Calico document that does not decode, is a problem naming
 * its index.
 */
export function splitStatePolicies(state: Pick<CaseState, 'policies'>): StatePolicies {
  const kube: KubeNetworkPolicy[] = [];
  const calico: Resource[] = [];
  const problems: string[] = [];
  state.policies.forEach((doc, i) => {
    if (isRecord(doc) && doc.apiVersion === 'networking.k8s.io/v1' && doc.kind === 'NetworkPolicy') {
      const md = isRecord(doc.metadata) ? doc.metadata : {};
      if (typeof md.name !== 'string' || typeof md.namespace !== 'string') {
        problems.push(`policies[${i}]: a NetworkPolicy needs metadata.name and metadata.namespace`);
        return;
      }
      const metadata = Object.fromEntries(
        Object.entries(md).filter(([k]) => !DROPPED_METADATA.includes(k)),
      ) as KubeNetworkPolicy['metadata'];
      kube.push({ ...(doc as unknown as KubeNetworkPolicy), metadata });
      return;
    }
    const r = decodeResource(doc);
    if (!r.ok) problems.push(`policies[${i}]: ${r.error.map(formatIssue).join('; ')}`);
    else calico.push(r.value);
  });
  return { kube, calico, problems };
}
