/**
 * What the calico-node benches share: two pods on one node (a client `bench-a` and a server `bench-b`), the
 * background policies of the latency bench, the lab's etcd in place of the embedded store.
 */
import { AgentHarness, namespaceObject } from '../src/agent/testing.js';
import type { TestPod } from '../src/agent/testing.js';
import { join } from 'node:path';
import { openBackend, type Resource } from '../src/datastore/index.js';
import { etcdRecord, startLabEtcd } from '../src/labkit/datastore.js';
import type { LabProcess } from '../src/labkit/process.js';

export const C = 'projectcalico.org/v3';

export async function podPair(h: AgentHarness): Promise<[TestPod, TestPod]> {
  const a = await h.plumbPod('bench', 'a', '10.70.0.1', { app: 'bench-a' });
  const b = await h.plumbPod('bench', 'b', '10.70.0.2', { app: 'bench-b' });
  await h.put(namespaceObject('bench'));
  await h.put(h.workloadEndpoint(a));
  await h.put(h.workloadEndpoint(b));
  return [a, b];
}

/**
 * Background policies, as in a cluster where each policy selects some workloads: 1 in 100 selects the probed
 * pod (active and rendered into its chain), the rest select workloads that are not on this node.
 */
export function backgroundPolicies(n: number): Resource[] {
  const out: Resource[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      apiVersion: C,
      kind: 'GlobalNetworkPolicy',
      metadata: { name: `bg-${i}` },
      spec: {
        order: 2000 + i,
        selector: i % 100 === 0 ? "app == 'bench-b'" : `app == 'other-${i % 500}'`,
        types: ['Ingress'],
        ingress: [
          {
            action: 'Deny',
            protocol: 'TCP',
            source: { nets: [`203.0.${(i >> 8) & 255}.${i & 255}/32`] },
            destination: { ports: [80] },
          },
        ],
      },
    } as Resource);
  }
  return out;
}

/**
 * Moves the harness onto a lab etcd started for it (in a namespace of its own, reached through its unix socket,
 * as the lab runs it): the bench's backend from now on, and the environment that points the agent at it. The
 * caller kills the etcd process when done.
 */
export async function useLabEtcd(
  h: AgentHarness,
): Promise<{ readonly env: Record<string, string>; readonly etcd: LabProcess; readonly endpoint: string }> {
  const ds = etcdRecord(join(h.dir, 'etcd'));
  const etcd = await startLabEtcd(ds, await h.scope.namespace(), { detached: false });
  await h.backend.close();
  h.backend = await openBackend({ datastoreType: 'etcdv3', etcd: { endpoints: [ds.endpoint] } });
  return { env: { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: ds.endpoint }, etcd, endpoint: ds.endpoint };
}
