/**
 * The `sim` dataplane: every case state goes through the same path user input takes (decode and validate
 * each policy, convert Kubernetes objects, build the backend model) and every probe is decided by the
 * reference evaluator, which also explains the verdict. An admin network policy case's nodes are Calico
 * `Node` resources (labels, `spec.addresses`), which its `nodes` peers resolve against; a hostNetwork pod is
 * no endpoint (Calico makes none for it): a connection to it is its node's address, policed at the source only.
 */
import { decodeResource } from '../api/decode.js';
import type { Resource } from '../api/registry.js';
import { parseProtocol, protocolNumber } from '../api/numorstring.js';
import type { Namespace, Pod } from '../api/k8s/types.js';
import { formatIssue } from '../lib/errors.js';
import { parseIp } from '../lib/net/ip.js';
import type { ModelInput } from '../model/snapshot.js';
import { buildSnapshot, isModelInput } from '../model/snapshot.js';
import { PolicyEvaluator } from '../policy/evaluator.js';
import { summarizeDecision } from '../policy/format.js';
import type { CaseNode, CasePod, CaseState } from './cases.js';
import type { CellOutcome, DataplaneDriver, ProbeCell } from './driver.js';

export function casePodToPod(p: CasePod): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: { ...p.labels } },
    spec: {
      ...(p.nodeName !== undefined ? { nodeName: p.nodeName } : {}),
      ...(p.hostNetwork === true ? { hostNetwork: true } : {}),
      containers: [
        {
          name: 'c',
          ports: p.containerPorts.map((cp) => ({
            containerPort: cp.containerPort,
            ...(cp.name !== undefined ? { name: cp.name } : {}),
            ...(cp.protocol !== undefined ? { protocol: cp.protocol as 'TCP' | 'UDP' | 'SCTP' } : {}),
          })),
        },
      ],
    },
    status: { podIP: p.ip, podIPs: [{ ip: p.ip }] },
  };
}

export function caseNamespaces(state: CaseState): Namespace[] {
  return Object.entries(state.namespaces).map(([name, ns]) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { ...(ns.labels ?? {}) } },
  }));
}

/** A case node as Calico's `Node` resource: its labels, and each of its addresses as an `InternalIP`. */
export function caseNodeDocument(n: CaseNode): Record<string, unknown> {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name: n.name, labels: { ...n.labels } },
    spec: { addresses: n.ips.map((address) => ({ address, type: 'InternalIP' })) },
  };
}

export interface DecodedState {
  /** The policies (NetworkPolicies, then admin and cluster network policies) that feed the model. */
  readonly resources: ModelInput[];
  /** The case's nodes as decoded Calico `Node` resources. */
  readonly nodes: Resource[];
  readonly problems: string[];
}

/** Decodes a state's policies and nodes the way user input is decoded; every problem is reported. */
export function decodeStatePolicies(state: CaseState): DecodedState {
  const resources: ModelInput[] = [];
  const nodes: Resource[] = [];
  const problems: string[] = [];
  const decode = (doc: unknown, field: string): Resource | undefined => {
    const r = decodeResource(doc);
    if (!r.ok) problems.push(`${field}: ${r.error.map(formatIssue).join('; ')}`);
    return r.ok ? r.value : undefined;
  };
  const docs = [
    ...state.policies.map((doc, i) => ({ field: `policies[${i}]`, doc })),
    ...state.clusterPolicies,
  ];
  for (const { field, doc } of docs) {
    const r = decode(doc, field);
    if (r === undefined) continue;
    if (isModelInput(r)) resources.push(r);
  }
  state.nodes.forEach((n, i) => {
    const r = decode(caseNodeDocument(n), `nodes[${i}]`);
    if (r !== undefined) nodes.push(r);
  });
  return { resources, nodes, problems };
}

/** The nodes of a state that feed the model (Calico `Node` resources, when the model reads them). */
export function modelNodes(nodes: readonly Resource[]): ModelInput[] {
  return nodes.filter((n): n is Resource & ModelInput => isModelInput(n));
}

export class SimDriver implements DataplaneDriver {
  readonly name = 'sim';
  private evaluator: PolicyEvaluator | undefined;
  private pods = new Map<string, CasePod>();

  startCase(): Promise<void> {
    return Promise.resolve();
  }

  applyState(state: CaseState): Promise<readonly string[]> {
    const { resources, nodes, problems } = decodeStatePolicies(state);
    if (problems.length > 0) return Promise.resolve(problems);
    this.pods = new Map(state.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
    const inputs: ModelInput[] = [
      ...caseNamespaces(state),
      ...state.pods.map(casePodToPod),
      ...modelNodes(nodes),
      ...resources,
    ];
    this.evaluator = new PolicyEvaluator(buildSnapshot(inputs));
    return Promise.resolve([]);
  }

  probe(cells: readonly ProbeCell[]): Promise<readonly CellOutcome[]> {
    const ev = this.evaluator;
    return Promise.resolve(
      cells.map((cell): CellOutcome => {
        const from = this.pods.get(cell.from);
        const to = this.pods.get(cell.to);
        const parsedProto = parseProtocol(cell.protocol);
        const protocol = parsedProto.ok ? protocolNumber(parsedProto.value) : undefined;
        const srcIp = from !== undefined ? parseIp(from.ip) : undefined;
        const dstIp = to !== undefined ? parseIp(to.ip) : undefined;
        if (ev === undefined || srcIp === undefined || dstIp === undefined || protocol === undefined) {
          return {
            kind: 'skipped',
            reason: `unknown pod or protocol in ${cell.from} -> ${cell.to} ${cell.protocol}`,
          };
        }
        const d = ev.decide({ src: { ip: srcIp }, dst: { ip: dstIp, port: cell.port }, protocol });
        return { kind: 'judged', allowed: d.verdict === 'Allow', detail: summarizeDecision(d) };
      }),
    );
  }

  endCase(): Promise<void> {
    this.evaluator = undefined;
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}
