import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  containerPorts,
  failedPodStatus,
  kubeMicroTime,
  kubeTime,
  nodeLease,
  nodeStatusPatch,
  runningPodStatus,
  type KubePod,
} from './status.js';

const pod: KubePod = {
  metadata: { name: 'web', namespace: 'default', uid: 'u1' },
  spec: {
    nodeName: 'n1',
    containers: [
      { name: 'a', image: 'img', ports: [{ containerPort: 8080 }, { containerPort: 53, protocol: 'UDP' }] },
      { name: 'b', ports: [{ containerPort: 8080 }, { containerPort: 0 }] },
    ],
  },
};
const at = new Date('2026-12-07T06:50:01.234Z');

describe('lab kubelet status', () => {
  test('containerPorts: every container, TCP and UDP, sorted, once each, invalid ones dropped', () => {
    assert.deepEqual(containerPorts(pod), [53, 8080]);
    assert.deepEqual(containerPorts({ metadata: pod.metadata }), []);
  });

  test('Kubernetes time formats: metav1.Time in seconds, MicroTime in microseconds', () => {
    assert.equal(kubeTime(at), '2026-12-07T06:50:01Z');
    assert.equal(kubeMicroTime(at), '2026-12-07T06:50:01.234000Z');
  });

  test('a running pod: phase, addresses, the five conditions True, one ready container status each', () => {
    const p = runningPodStatus(pod, {
      ip: '10.0.0.5',
      containerId: 'c0ffee',
      hostIp: '192.168.1.1',
      started: at,
    });
    const st = p['status'] as Record<string, unknown>;
    assert.equal(st['phase'], 'Running');
    assert.equal(st['podIP'], '10.0.0.5');
    assert.deepEqual(st['podIPs'], [{ ip: '10.0.0.5' }]);
    assert.deepEqual(st['hostIPs'], [{ ip: '192.168.1.1' }]);
    const conds = st['conditions'] as { type: string; status: string }[];
    assert.deepEqual(
      conds.map((c) => `${c.type}=${c.status}`),
      [
        'PodReadyToStartContainers=True',
        'Initialized=True',
        'Ready=True',
        'ContainersReady=True',
        'PodScheduled=True',
      ],
    );
    const cs = st['containerStatuses'] as {
      name: string;
      ready: boolean;
      containerID: string;
      image: string;
    }[];
    assert.deepEqual(
      cs.map((c) => [c.name, c.ready, c.containerID, c.image]),
      [
        ['a', true, 'lab://c0ffee', 'img'],
        ['b', true, 'lab://c0ffee', ''],
      ],
    );
  });

  test('a failed sandbox: Pending, Ready=False with the reason and the (bounded) message', () => {
    const st = failedPodStatus('x'.repeat(5000), at)['status'] as {
      phase: string;
      conditions: Record<string, string>[];
    };
    assert.equal(st.phase, 'Pending');
    const ready = st.conditions.find((c) => c['type'] === 'Ready')!;
    assert.equal(ready['status'], 'False');
    assert.equal(ready['reason'], 'SandboxSetupFailed');
    assert.equal(ready['message']!.length, 1000);
  });

  test('node heartbeat: Ready True, pressures False, capacity for the scheduler, InternalIP; the lease', () => {
    const st = nodeStatusPatch(at, new Date('2026-12-07T06:00:00Z'), '192.168.1.1')['status'] as {
      conditions: Record<string, string>[];
      allocatable: Record<string, string>;
      addresses: unknown;
    };
    assert.deepEqual(
      st.conditions.map((c) => `${c['type']}=${c['status']}`),
      ['MemoryPressure=False', 'DiskPressure=False', 'PIDPressure=False', 'Ready=True'],
    );
    assert.ok(st.conditions.every((c) => c['lastHeartbeatTime'] === '2026-12-07T06:50:01Z'));
    assert.ok(st.conditions.every((c) => c['lastTransitionTime'] === '2026-12-07T06:00:00Z'));
    assert.equal(st.allocatable['pods'], '110');
    assert.deepEqual(st.addresses, [{ type: 'InternalIP', address: '192.168.1.1' }]);
    assert.equal('addresses' in (nodeStatusPatch(at, at, undefined)['status'] as object), false);
    assert.deepEqual(nodeLease('n1', at), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'n1', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-12-07T06:50:01.234000Z' },
    });
  });
});
