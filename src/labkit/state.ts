/**
 * What a lab consists of, kept in `<run dir>/lab.json` after every change: enough for a later command (the
 * CLI runs one command per process) to find every namespace and process again, and for cleanup to remove
 * half-created things (a record is written before the thing it describes is created).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CalicoError } from '../lib/errors.js';
import type { IpFamily } from '../lib/net/ip.js';
import type { LabNetwork } from './topology.js';
import type { ControlPlaneRecord } from '../datastore/kubernetes/control-plane/control-plane.js';
import { FILE_MODE, writeFileAtomicSync } from '../sys/files.js';

export interface NodeRecord {
  readonly name: string;
  /** 1-based; picks the node's fabric addresses. */
  readonly index: number;
  /** The fabric rack (its subnet); absent: 1. */
  readonly rack?: number;
  readonly netns: string;
  /** CALICO_RUN_DIR of the node's agent. */
  readonly runDir: string;
  agentPid?: number;
  /** The capture of the node's `Log` rule packets (packet-log.ts); absent: the node has no packet log. */
  packetLogPid?: number;
  /** The node's lab kubelet (kube/kubelets.ts) in a Kubernetes-datastore lab. */
  kubeletPid?: number;
  /**
   * Addresses the node holds besides its fabric ones (on `lo`; the fabric routes them to the node), e.g. a
   * conformance case's node address, which its hostNetwork pods have (cluster-host-pods.ts).
   */
  hostAddresses?: string[];
}

export interface PodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  /** Empty until IPAM (or the CNI plugin) has given the pod its address. */
  ip: string;
  family: IpFamily;
  readonly netns: string;
  readonly hostIfname: string;
  mac?: string;
  labels: Record<string, string>;
  ports: number[];
  containerPorts: { name?: string; containerPort: number; protocol?: string }[];
  readonly socketPath: string;
  readonly logFile: string;
  probePid?: number;
  /** How the pod was wired: by the `calico` CNI plugin, or by the lab itself (absent: the lab). */
  readonly via?: 'cni' | 'plumb';
  /** The CNI container ID (`via: 'cni'`). */
  readonly containerId?: string;
  /** The IPAM handle of an address the lab assigned for a plumbed pod. */
  ipamHandle?: string;
}

/**
 * A hostNetwork pod: no namespace of its own, a probe agent in its node's namespace serving its ports on its
 * address (one of the node's `hostAddresses`) and probing from that address (cluster-host-pods.ts).
 */
export interface HostPodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly ip: string;
  readonly family: IpFamily;
  ports: number[];
  readonly socketPath: string;
  readonly logFile: string;
  probePid?: number;
}

/** The namespace that stands for the outside world (topology.ts), with a probe agent serving `ports`. */
export interface OutsideRecord {
  readonly netns: string;
  readonly ip: string;
  readonly ports: number[];
  readonly socketPath: string;
  readonly logFile: string;
  probePid?: number;
}

/**
 * The cluster DNS (cluster-dns.ts): dnsmasq inside the pod `pod`, serving the lab's zone (dns-zone.ts) with
 * `ttl`; its files are under `<run dir>/dns` (paths.ts `clusterDnsFiles`).
 */
export interface ClusterDnsRecord {
  /** The pod key, `kube-system/coredns`. */
  readonly pod: string;
  readonly ttl: number;
  pid?: number;
}

/**
 * The lab's datastore: the embedded SQLite file, a private etcd on a unix socket, or the lab's Kubernetes API
 * server (KDD: `kubernetes` holds the control plane; the kubeconfig is its admin kubeconfig).
 */
export type LabDatastoreRecord =
  | { readonly type: 'embedded' }
  | { readonly type: 'kubernetes'; readonly kubeconfig: string }
  | {
      readonly type: 'etcdv3';
      /** `unix:///…/etcd.sock:2379` (ETCD_ENDPOINTS for agents, CNI plugins and calicoctl). */
      readonly endpoint: string;
      /** etcd's working directory (data, sockets, log). */
      readonly dir: string;
      pid?: number;
    };

export interface LabState {
  readonly version: 1;
  /** Namespaces are named after this process: they become stale (sweepable) once it is gone. */
  readonly ownerPid: number;
  readonly runDir: string;
  /** The embedded datastore file (used when `datastore` is embedded or absent). */
  readonly datastorePath: string;
  /** Absent: embedded. */
  datastore?: LabDatastoreRecord;
  /** Absent: `static`. */
  readonly network?: LabNetwork;
  /** Absent: 1. */
  readonly racks?: number;
  fabricNs?: string;
  outside?: OutsideRecord;
  /** The cluster DNS; absent: the lab has none. */
  clusterDns?: ClusterDnsRecord;
  /** calico-goldmane (cluster-flows.ts): its pid and gRPC target; absent: the lab collects no flows. */
  goldmane?: { readonly pid: number; readonly server: string };
  /** Where `calico` and `calico-ipam` are installed for the lab's CNI invocations. */
  cniBinDir?: string;
  /** The agent entry script; absent: nodes run no agent. */
  readonly agentEntry?: string;
  readonly agentEnv: Record<string, string>;
  /** Processes outlive the process that started them (CLI). */
  readonly detached: boolean;
  /** A process of the CLI's that only holds the lab's namespaces alive (see netns.ts). */
  keeperPid?: number;
  /** The lab's Kubernetes control plane (`up --kubernetes`, kube/lab.ts); absent: none. */
  kubernetes?: ControlPlaneRecord;
  /** calico-apiserver beside the control plane (kube/apiserver.ts); absent: not started. */
  calicoApiServer?: {
    readonly pid: number;
    readonly port: number;
    /** The kube-apiserver it was started against. */
    readonly server: string;
  };
  readonly nodes: NodeRecord[];
  readonly pods: PodRecord[];
  /** hostNetwork pods; absent: none. */
  hostPods?: HostPodRecord[];
}

export const STATE_FILE = 'lab.json';

/** A new lab's state (nothing created yet). */
export function newLabState(o: {
  readonly ownerPid: number;
  readonly runDir: string;
  readonly network: LabNetwork;
  readonly racks: number;
  /** The agent entry script; null: no agents. */
  readonly entry: string | null;
  readonly detached: boolean;
}): LabState {
  return {
    version: 1,
    ownerPid: o.ownerPid,
    runDir: o.runDir,
    datastorePath: join(o.runDir, 'calico.db'),
    network: o.network,
    racks: o.racks,
    ...(o.entry !== null ? { agentEntry: o.entry } : {}),
    agentEnv: {},
    detached: o.detached,
    nodes: [],
    pods: [],
  };
}

export function statePath(runDir: string): string {
  return join(runDir, STATE_FILE);
}

/** Writes the state atomically (a reader never sees half a file). */
export function saveState(state: LabState): void {
  const path = statePath(state.runDir);
  writeFileAtomicSync(path, `${JSON.stringify(state, null, 2)}\n`, { mode: FILE_MODE });
}

export function loadState(runDir: string): LabState {
  let x: unknown;
  try {
    x = JSON.parse(readFileSync(statePath(runDir), 'utf8'));
  } catch (e) {
    throw new CalicoError('CALICO_ERR_USAGE', `no lab in ${runDir}: ${(e as Error).message}`);
  }
  if (
    typeof x !== 'object' ||
    x === null ||
    !('version' in x) ||
    x.version !== 1 ||
    !('nodes' in x) ||
    !Array.isArray(x.nodes) ||
    !('pods' in x) ||
    !Array.isArray(x.pods)
  )
    throw new CalicoError('CALICO_ERR_PARSE', `${statePath(runDir)} is not a lab state file`);
  return x as LabState;
}
