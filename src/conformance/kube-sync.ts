/**
 * The sync barrier of the Kubernetes driver: when has every calico-node programmed everything written so
 * far through the API? On the Kubernetes datastore an agent watches each API resource separately; order
 * holds per resource, not across them (docs/design/kubernetes-datastore.md), so an agent's
 * `appliedRevision` reaching a revision does not mean every earlier write of another resource is in force.
 * The barrier therefore asks the dataplane itself, through the three resources a case writes:
 *
 *   namespace calico-conformance-sync, labelled sync=<token>
 *     pod client (labelled sync=<token>)      pod server-<node> on each node (serves SYNC_PORT)
 *     NetworkPolicy sync-barrier: the servers admit TCP SYNC_PORT only from pods labelled sync=<token>
 *                                 in namespaces labelled sync=<token>
 *
 * `sync` writes a new token to the Namespace, then the client Pod, then the policy (after every write of
 * the state), and probes client -> each server until allowed. A connection is allowed only once the server's
 * agent has applied all three, and so every earlier write to namespaces, pods and NetworkPolicies (each
 * watch delivers in order). The barrier's pods live at fixed addresses of their own pool (SYNC_POOL_IPS),
 * outside the cases' addresses; case policies never select them (they select pods of their own namespaces)
 * and case probes never involve them.
 */
import { waitFor } from '../lib/async.js';
import type { ProbeOutcome } from '../labkit/probe-protocol.js';
import type { CasePod } from './cases.js';
import { podObject, type KubeNetworkPolicy } from './kube-objects.js';
import type { KubeCaseObjects, WantedPod } from './kube-state.js';

export const SYNC_NAMESPACE = 'calico-conformance-sync';
export const SYNC_LABEL = 'sync';
export const SYNC_PORT = 7070;
const SYNC_PROBE_TIMEOUT_MS = 300;

/** The barrier pods' addresses: client first, then one server per node (at most 200 nodes). */
export function syncAddress(index: number): string {
  return `198.18.0.${index + 1}`;
}

/** The barrier's policy for `token`. */
export function syncPolicy(token: string): KubeNetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'sync-barrier', namespace: SYNC_NAMESPACE },
    spec: {
      podSelector: { matchLabels: { role: 'server' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            {
              podSelector: { matchLabels: { [SYNC_LABEL]: token } },
              namespaceSelector: { matchLabels: { [SYNC_LABEL]: token } },
            },
          ],
          ports: [{ protocol: 'TCP', port: SYNC_PORT }],
        },
      ],
    },
  };
}

function syncPod(name: string, index: number, labels: Record<string, string>): CasePod {
  return {
    namespace: SYNC_NAMESPACE,
    name,
    labels,
    ip: syncAddress(index),
    ports: [SYNC_PORT],
    protocols: ['TCP'],
    containerPorts: [{ containerPort: SYNC_PORT, protocol: 'TCP' }],
  };
}

/** The barrier's pods for `token`: the client on the first node, a server on each node. */
export function syncPods(nodes: readonly string[], token: string): WantedPod[] {
  const first = nodes[0];
  if (first === undefined) return [];
  const pods: { pod: CasePod; node: string }[] = [
    { pod: syncPod('client', 0, { role: 'client', [SYNC_LABEL]: token }), node: first },
    ...nodes.map((node, i) => ({ pod: syncPod(`server-${node}`, i + 1, { role: 'server' }), node })),
  ];
  return pods.map(({ pod, node }) => ({ object: podObject(pod, { node, served: [] }), ip: pod.ip }));
}

export type SyncProbe = (
  from: string,
  to: { readonly to: string; readonly protocol: 'tcp'; readonly port: number; readonly timeoutMs: number },
) => Promise<ProbeOutcome>;

export class SyncBarrier {
  readonly #objects: KubeCaseObjects;
  readonly #nodes: readonly string[];
  readonly #probe: SyncProbe;
  #counter = 0;

  /** `objects`: a reconciler of its own (the barrier's namespace is not a case's). */
  constructor(objects: KubeCaseObjects, nodes: readonly string[], probe: SyncProbe) {
    this.#objects = objects;
    this.#nodes = nodes;
    this.#probe = probe;
  }

  /** The addresses the barrier's pods need a pool for. */
  addresses(): string[] {
    return syncPods(this.#nodes, 't').map((p) => p.ip);
  }

  /** The barrier's pod keys (`namespace/name`), which the prober must know. */
  podKeys(): string[] {
    return syncPods(this.#nodes, 't').map((p) => `${SYNC_NAMESPACE}/${p.object.metadata.name}`);
  }

  /**
   * Writes a new token (namespace, client pod, policy; the first call creates everything) and waits until
   * the client reaches every server. Returns how long the wait took (ms).
   */
  async sync(options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {}): Promise<number> {
    const token = `t${++this.#counter}`;
    const signal = options.signal !== undefined ? { signal: options.signal } : {};
    await this.#objects.ensureNamespaces({ [SYNC_NAMESPACE]: { [SYNC_LABEL]: token } }, signal);
    await this.#objects.setPods(syncPods(this.#nodes, token), signal);
    const refused = await this.#objects.setPolicies([syncPolicy(token)], signal);
    if (refused.length > 0) throw new Error(`the sync barrier's policy was refused: ${refused.join('; ')}`);
    const t0 = performance.now();
    const [client, ...servers] = this.podKeys();
    let last = '';
    for (const server of servers) {
      await waitFor(
        async () => {
          const o = await this.#probe(client ?? '', {
            to: server,
            protocol: 'tcp',
            port: SYNC_PORT,
            timeoutMs: SYNC_PROBE_TIMEOUT_MS,
          });
          last = `${o.verdict}: ${o.detail}`;
          return o.verdict === 'allowed';
        },
        {
          timeoutMs: options.timeoutMs ?? 30_000,
          intervalMs: 10,
          what: `the sync barrier (token ${token}) from ${client ?? ''} to ${server}`,
          describe: () => last,
          ...signal,
        },
      );
    }
    return performance.now() - t0;
  }
}
