/**
 * What LabCluster (cluster.ts) takes: its options, pod and probe options, and the timing every waiting
 * method accepts. Kept apart so that the modules LabCluster delegates to share them without importing it.
 */
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import type { LabDatastoreChoice } from './datastore.js';
import type { PodVia } from './pods.js';
import type { ProbeProtocol } from './probe-protocol.js';
import type { LabNetwork } from './topology.js';

/** Every lab namespace (and default run dir) starts with this. */
export const LAB_NETNS_PREFIX = 'calts-lab-';

export interface LabClusterOptions {
  readonly runner?: CommandRunner;
  /** Created when missing. Default: a fresh `calts-<pid>-…` directory in the temp dir. */
  readonly runDir?: string;
  /** The agent's entry script; `null`: nodes run no agent. Default `<repo>/dist/src/agent/main.js`. */
  readonly agentEntry?: string | null;
  /** Extra agent environment (FELIX_* settings); wins over the networking mode's. */
  readonly agentEnv?: Readonly<Record<string, string>>;
  /** Who routes pods between nodes (topology.ts). Default `static`. */
  readonly network?: LabNetwork;
  /** Fabric racks (subnets); nodes go round-robin. Default 1. */
  readonly racks?: number;
  /**
   * Default `embedded`. `kubernetes`: the lab's control plane is started first and is the datastore of
   * everything (agents, CNI plugins, calicoctl); pods are run by lab kubelets (`startKubelet`).
   */
  readonly datastore?: LabDatastoreChoice;
  /** kube-apiserver feature gates of a `kubernetes` lab's control plane (only on its first start). */
  readonly kubeFeatureGates?: Readonly<Record<string, boolean>>;
  /** Processes outlive this process (the CLI). */
  readonly detached?: boolean;
  /** Whose death makes the lab's namespaces stale. Default: this process. */
  readonly ownerPid?: number;
  /** Keep the run dir (logs, datastore) on dispose. */
  readonly keepRunDir?: boolean;
  readonly agentStartTimeoutMs?: number;
  readonly syncTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface AddPodOptions {
  readonly signal?: AbortSignal;
  /** Pods plumbed at once. Default 4. */
  readonly concurrency?: number;
  /** Through the CNI plugin or the lab's wiring. Default: the lab's wiring. */
  readonly via?: PodVia;
}

export interface LabProbe {
  /**
   * A pod key (`ns/name`), `outside`, an IP address, or a DNS name: looked up first from the pod through the
   * cluster DNS (its resolv.conf), then probed at the answer's first address.
   */
  readonly to: string;
  readonly protocol: ProbeProtocol;
  readonly port: number;
  readonly timeoutMs?: number;
  /**
   * UDP to a DNS server: send a query for this name instead of the echo payload; any answer is `allowed`
   * (the target serves DNS, not echo).
   */
  readonly dnsQuery?: string;
}

export type Timing = { readonly timeoutMs?: number; readonly signal?: AbortSignal };

/** Just the signal of `o`, for options objects that must not carry `signal: undefined`. */
export function sig(o: { readonly signal?: AbortSignal }): { signal?: AbortSignal } {
  return o.signal !== undefined ? { signal: o.signal } : {};
}
