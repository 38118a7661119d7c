/**
 * What the lab kubelet writes to the API server, built purely: the Pod status once its sandbox runs (phase
 * Running, podIP/podIPs, the conditions and container statuses `kubectl get pods` reads READY and STATUS
 * from), the Node status heartbeat (Ready condition, capacity so the scheduler's resource fit admits pods),
 * and the node Lease in kube-node-lease (the heartbeat the node lifecycle controller watches).
 */

/** The fields of a core/v1 Pod the kubelet reads. */
export interface KubePod {
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid: string;
    readonly resourceVersion?: string;
    readonly deletionTimestamp?: string;
  };
  readonly spec?: {
    readonly nodeName?: string;
    readonly hostNetwork?: boolean;
    readonly containers?: readonly {
      readonly name: string;
      readonly image?: string;
      readonly ports?: readonly { readonly containerPort: number; readonly protocol?: string }[];
    }[];
  };
  readonly status?: { readonly phase?: string; readonly podIP?: string };
}

/** The pod's identity as `namespace/name`. */
export function podName(p: KubePod): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}

/** Every containerPort of the pod (TCP and UDP alike: the probe agent echoes both), sorted, once each. */
export function containerPorts(p: KubePod): number[] {
  const ports = (p.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((x) => x.containerPort));
  return [...new Set(ports.filter((n) => Number.isInteger(n) && n > 0 && n < 65536))].sort((a, b) => a - b);
}

/** RFC 3339 seconds, as Kubernetes writes metav1.Time. */
export function kubeTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with microseconds, as Kubernetes writes metav1.MicroTime (a Lease's renewTime). */
export function kubeMicroTime(d: Date): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

/** The status merge patch of a pod whose sandbox runs at `ip` (containers "started" at `started`). */
export function runningPodStatus(
  p: KubePod,
  sandbox: {
    readonly ip: string;
    readonly containerId: string;
    readonly hostIp: string;
    readonly started: Date;
  },
): Record<string, unknown> {
  const at = kubeTime(sandbox.started);
  const condition = (type: string): Record<string, unknown> => ({
    type,
    status: 'True',
    lastTransitionTime: at,
  });
  return {
    status: {
      phase: 'Running',
      hostIP: sandbox.hostIp,
      hostIPs: [{ ip: sandbox.hostIp }],
      podIP: sandbox.ip,
      podIPs: [{ ip: sandbox.ip }],
      startTime: at,
      conditions: [
        'PodReadyToStartContainers',
        'Initialized',
        'Ready',
        'ContainersReady',
        'PodScheduled',
      ].map(condition),
      containerStatuses: (p.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        containerID: `lab://${sandbox.containerId}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: at } },
      })),
    },
  };
}

/** The status merge patch of a pod whose sandbox could not be set up (stays Pending, not Ready). */
export function failedPodStatus(message: string, at: Date): Record<string, unknown> {
  return {
    status: {
      phase: 'Pending',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: kubeTime(at) },
        {
          type: 'Ready',
          status: 'False',
          reason: 'SandboxSetupFailed',
          message: message.slice(0, 1000),
          lastTransitionTime: kubeTime(at),
        },
      ],
    },
  };
}

/** Capacity reported for every lab node (no real limits: enough that resource fit never refuses a pod). */
export const LAB_NODE_CAPACITY = { cpu: '8', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' };

/** The Node status merge patch of one heartbeat. */
export function nodeStatusPatch(now: Date, since: Date, nodeIp: string | undefined): Record<string, unknown> {
  const t = kubeTime(now);
  const cond = (type: string, status: string, reason: string, message: string): Record<string, unknown> => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: t,
    lastTransitionTime: kubeTime(since),
  });
  return {
    status: {
      capacity: LAB_NODE_CAPACITY,
      allocatable: LAB_NODE_CAPACITY,
      conditions: [
        cond(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        ),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      ...(nodeIp === undefined ? {} : { addresses: [{ type: 'InternalIP', address: nodeIp }] }),
      nodeInfo: { kubeletVersion: 'calico-lab', operatingSystem: 'linux' },
    },
  };
}

/** Seconds a node Lease is valid (kubelet's default). */
export const NODE_LEASE_SECONDS = 40;

/** The node's Lease in kube-node-lease, for server-side apply. */
export function nodeLease(node: string, now: Date): Record<string, unknown> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: node, namespace: 'kube-node-lease' },
    spec: { holderIdentity: node, leaseDurationSeconds: NODE_LEASE_SECONDS, renewTime: kubeMicroTime(now) },
  };
}
