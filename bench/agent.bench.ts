/**
 * calico-node cold start on the real kernel (namespaces created here): 10,000 policies, 20,000 remote
 * endpoints and 100 local endpoints in the datastore before the agent starts; time to dataplane in sync and
 * the agent's peak RSS. Programming latency is in latency.bench.ts, per-packet cost in packet-cost.bench.ts.
 */
import { readFileSync } from 'node:fs';
import { AgentHarness, knp, namespaceObject } from '../src/agent/testing.js';
import type { Resource } from '../src/datastore/index.js';
import { C } from './agent-setup.js';
import type { BenchResult } from './result.js';

export async function benchColdStart(): Promise<BenchResult[]> {
  await using h = new AgentHarness();
  await h.setup();
  const objs: Resource[] = [];
  for (let n = 0; n < 100; n++) objs.push(namespaceObject(`ns-${n}`, { team: `t${n % 10}` }));
  for (let i = 0; i < 20_100; i++) {
    const node = i < 100 ? 'node1' : `node${2 + (i % 50)}`;
    const ns = `ns-${i % 100}`;
    objs.push({
      apiVersion: C,
      kind: 'WorkloadEndpoint',
      metadata: {
        name: `${node}-k8s-p${i}-eth0`,
        namespace: ns,
        labels: {
          app: `app-${i % 200}`,
          'projectcalico.org/namespace': ns,
          'projectcalico.org/orchestrator': 'k8s',
        },
      },
      spec: {
        orchestrator: 'k8s',
        node,
        pod: `p${i}`,
        endpoint: 'eth0',
        interfaceName: `cali${String(i).padStart(11, '0')}`,
        ipNetworks: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`],
        profiles: [`kns.${ns}`],
      },
    } as Resource);
  }
  for (let p = 0; p < 10_000; p++) {
    objs.push(
      knp(`ns-${p % 100}`, `np-${p}`, {
        podSelector: { matchLabels: { app: `app-${p % 200}` } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: { app: `app-${(p * 7) % 200}` } } },
              { namespaceSelector: { matchLabels: { team: `t${p % 10}` } } },
            ],
            ports: [{ port: 8080 }],
          },
        ],
      }),
    );
  }
  await h.backend.applyMany(objs);
  const t0 = performance.now();
  h.startAgent();
  const pid = await waitPid(h);
  let rssMb = 0;
  for (;;) {
    rssMb = Math.max(rssMb, readRss(pid));
    if (h.status()?.dataplaneInSync === true) break;
    if (performance.now() - t0 > 300_000) throw new Error('cold start did not finish in 300 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const ms = performance.now() - t0;
  rssMb = Math.max(rssMb, readRss(pid));
  return [
    {
      name: 'cold start to dataplane in sync (10,000 policies, 20,000 remote + 100 local endpoints)',
      value: Math.round(ms) / 1000,
      unit: 's',
    },
    { name: 'agent peak RSS during cold start', value: Math.round(rssMb), unit: 'MiB' },
  ];
}

async function waitPid(h: AgentHarness): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const pid = h.agentPid();
    if (pid !== undefined) return pid;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('agent did not start');
}

function readRss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) / 1024;
  } catch {
    return 0;
  }
}
