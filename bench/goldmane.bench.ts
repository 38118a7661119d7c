/**
 * calico-goldmane: flow updates ingested per second through a real FlowCollector.Connect gRPC stream (one
 * reporter on loopback, each update answered by its FlowReceipt, up to WINDOW in flight), first for 100,000
 * distinct flow keys (each a new entry) then for 100,000 updates of keys already held (merged into their
 * window); the heap the aggregator holds for 100,000 distinct flows in its window (heap after a full GC, minus
 * the heap before the server started); and a Flows.List query over them (first page of 100, filtered).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Flow } from '../src/flows/types.js';
import { Aggregator } from '../src/goldmane/aggregator.js';
import { GoldmaneClient } from '../src/goldmane/client.js';
import { GoldmaneServer } from '../src/goldmane/server.js';
import type { BenchResult } from './result.js';

const FLOWS = 100_000;
const WINDOW = 2_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** A realistic distinct flow: pods of 50 namespaces, 2,000 client and 50 server names, ports, a 2-hit trace. */
function flow(i: number, now: number): Flow {
  const ns = `ns-${i % 50}`;
  return {
    Key: {
      source_name: `client-${i % 2000}-*`,
      source_namespace: ns,
      source_type: 'WorkloadEndpoint',
      dest_name: `server-${Math.floor(i / 2000)}-*`,
      dest_namespace: `ns-${Math.floor(i / 2000) % 50}`,
      dest_type: 'WorkloadEndpoint',
      dest_port: 8000 + (i % 7),
      dest_service_name: '',
      dest_service_namespace: '',
      dest_service_port_name: '',
      dest_service_port: 0,
      proto: 'tcp',
      reporter: i % 2 === 0 ? 'Src' : 'Dst',
      action: i % 5 === 0 ? 'Deny' : 'Allow',
      policies: {
        enforced_policies: [
          {
            kind: 'CalicoNetworkPolicy',
            namespace: ns,
            name: `policy-${i % 100}`,
            tier: 'default',
            action: i % 5 === 0 ? 'Deny' : 'Allow',
            policy_index: 0,
            rule_index: i % 3,
            trigger: null,
          },
        ],
        pending_policies: [],
      },
    },
    start_time: now,
    end_time: now + 5,
    source_labels: [`app=client-${i % 2000}`, 'team=shop'],
    dest_labels: [`app=server-${Math.floor(i / 2000)}`],
    packets_in: 10,
    packets_out: 8,
    bytes_in: 1_200,
    bytes_out: 900,
    num_connections_started: 1,
    num_connections_completed: 1,
    num_connections_live: 0,
  };
}

async function send(client: GoldmaneClient, flows: (i: number) => Flow, n: number): Promise<number> {
  const reporter = client.connectCollector();
  const t0 = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    inFlight.push(reporter.send(flows(i)));
    if (inFlight.length >= WINDOW) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - t0) / 1000;
  await reporter.close();
  return n / seconds;
}

export async function benchGoldmane(): Promise<BenchResult[]> {
  const before = heapAfterGc();
  // A wide bucket so that the whole run lands in one bucket whatever the machine's speed.
  const agg = new Aggregator({ bucketSeconds: 600 });
  const server = new GoldmaneServer(agg);
  const port = await server.listen('127.0.0.1', 0);
  const client = new GoldmaneClient(`127.0.0.1:${port}`);
  try {
    const now = Math.floor(Date.now() / 1000);
    const distinctRate = await send(client, (i) => flow(i, now), FLOWS);
    const held = (): number => agg.size;
    if (held() !== FLOWS) throw new Error(`goldmane bench: ${held()} flows held, expected ${FLOWS}`);
    // Later reports of the same keys (end_time differs, so none is a duplicate): merged, no new entries.
    const mergeRate = await send(client, (i) => ({ ...flow(i, now), end_time: now + 6 }), FLOWS);
    if (held() !== FLOWS) throw new Error(`goldmane bench: ${held()} flows after merging`);
    const heap = heapAfterGc() - before;
    const t0 = performance.now();
    const page = await client.list({
      page_size: 100,
      filter: { actions: ['Deny'], dest_namespaces: [{ value: 'ns-3', type: 'Exact' }] },
    });
    const listMs = performance.now() - t0;
    if (page.flows.length === 0) throw new Error('goldmane bench: the list query found nothing');
    return [
      {
        name: 'goldmane: flow updates ingested, 100,000 new keys (gRPC Connect)',
        value: distinctRate,
        unit: 'updates/s',
      },
      {
        name: 'goldmane: flow updates ingested, merged into held keys (gRPC Connect)',
        value: mergeRate,
        unit: 'updates/s',
      },
      { name: 'goldmane: heap per 100,000 distinct flows in the window', value: heap / 2 ** 20, unit: 'MiB' },
      { name: 'goldmane: Flows.List over 100,000 flows (filtered, page of 100)', value: listMs, unit: 'ms' },
    ];
  } finally {
    client.close();
    await server.close(1_000);
    agg.dispose();
  }
}
