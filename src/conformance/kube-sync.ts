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
 * and admitting one of two ports, alternately. `sync` writes a new token to the Namespace, then the client
 * Pod, then the policy with the other port (after every write of the state), and probes client -> each
 * server on that port until allowed. Any view an agent may still have mixes the previous sync's values and
 * the new ones per resource; only the all-new view admits the new port from the client (the previous
 * policy admits the other port; the new one wants the new token in both labels). So the connection is
 * allowed only once the server's agent has applied all three, and with them every earlier write to
 * namespaces, pods and NetworkPolicies (each watch delivers in order). The barrier's pods live at fixed addresses of their own pool (SYNC_POOL_IPS),
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
/** The two ports the barrier's policy admits alternately. */
export const SYNC_PORTS = [7070, 7071] as const;
const SYNC_PROBE_TIMEOUT_MS = 200;

/** The barrier pods' addresses: client first, then one server per node (at most 200 nodes). */
export function syncAddress(index: number): string {
  return `198.18.0.${index + 1}`;
}

/** The barrier's policy for `token`, admitting `port`. */
export function syncPolicy(token: string, port: number): KubeNetworkPolicy {
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
          ports: [{ protocol: 'TCP', port }],
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
    ports: [...SYNC_PORTS],
    protocols: ['TCP'],
    containerPorts: SYNC_PORTS.map((containerPort) => ({ containerPort, protocol: 'TCP' })),
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
   * Writes a new token and the other port (namespace, client pod, policy; the first call creates
   * everything) and waits until the client reaches every server on that port. The first call also proves
   * the barrier live: with a stale token on the client every server must deny it, else an unenforced
   * barrier would pass at once. Returns how long the waits took (ms).
   */
  async sync(options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {}): Promise<number> {
    const first = this.#counter === 0;
    const ms = await this.#next(options);
    if (!first) return ms;
    const token = `t${this.#counter}`;
    await this.#syncTo({ client: 'stale', policy: token, port: this.#port(), verdict: 'denied' }, options);
    return ms + (await this.#next(options));
  }

  #port(): number {
    return SYNC_PORTS[this.#counter % 2] ?? SYNC_PORTS[0];
  }

  #next(options: { readonly signal?: AbortSignal; readonly timeoutMs?: number }): Promise<number> {
    const token = `t${++this.#counter}`;
    return this.#syncTo({ client: token, policy: token, port: this.#port(), verdict: 'allowed' }, options);
  }

  async #syncTo(
    to: {
      readonly client: string;
      readonly policy: string;
      readonly port: number;
      readonly verdict: 'allowed' | 'denied';
    },
    options: { readonly signal?: AbortSignal; readonly timeoutMs?: number },
  ): Promise<number> {
    const signal = options.signal !== undefined ? { signal: options.signal } : {};
    await this.#objects.ensureNamespaces({ [SYNC_NAMESPACE]: { [SYNC_LABEL]: to.policy } }, signal);
    await this.#objects.setPods(syncPods(this.#nodes, to.client), signal);
    const refused = await this.#objects.setPolicies([syncPolicy(to.policy, to.port)], signal);
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
            port: to.port,
            timeoutMs: SYNC_PROBE_TIMEOUT_MS,
          });
          last = `${o.verdict}: ${o.detail}`;
          return o.verdict === to.verdict;
        },
        {
          timeoutMs: options.timeoutMs ?? 30_000,
          intervalMs: 10,
          what: `the sync barrier (client token ${to.client}, port ${to.port}) from ${client ?? ''} to ${server}: ${to.verdict}`,
          describe: () => last,
          ...signal,
        },
      );
    }
    return performance.now() - t0;
  }
}
