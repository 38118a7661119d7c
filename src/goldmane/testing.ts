/**
 * Test helpers for code that talks to calico-goldmane: flow records with every field filled in, and a real
 * aggregator + gRPC server on loopback (port 0) with a hand-moved clock, plus a client of it.
 *
 *   await using gm = await startTestGoldmane();
 *   await gm.report([testFlow({ source_name: 'a', action: 'Deny' })]);
 *   gm.rollover(2);   // the current bucket completes and is streamed
 */
import type { Flow, FlowKey, PolicyHit } from '../flows/types.js';
import { Aggregator } from './aggregator.js';
import { GoldmaneClient } from './client.js';
import { GoldmaneServer } from './server.js';

/** A bucket-aligned Unix time (15 s buckets). */
export const TEST_EPOCH = 1_700_000_010;

export function testHit(h: Partial<PolicyHit> = {}): PolicyHit {
  return {
    kind: 'GlobalNetworkPolicy',
    namespace: '',
    name: 'allow-all',
    tier: 'default',
    action: 'Allow',
    policy_index: 0,
    rule_index: 0,
    trigger: null,
    ...h,
  };
}

export type TestFlowFields = Partial<Omit<FlowKey, 'policies'>> &
  Partial<Omit<Flow, 'Key'>> & { enforced?: PolicyHit[]; pending?: PolicyHit[] };

export function testFlow(f: TestFlowFields = {}): Flow {
  const { enforced, pending, ...rest } = f;
  const key: FlowKey = {
    source_name: 'client-*',
    source_namespace: 'default',
    source_type: 'WorkloadEndpoint',
    dest_name: 'server-*',
    dest_namespace: 'default',
    dest_type: 'WorkloadEndpoint',
    dest_port: 80,
    dest_service_name: '',
    dest_service_namespace: '',
    dest_service_port_name: '',
    dest_service_port: 0,
    proto: 'tcp',
    reporter: 'Dst',
    action: 'Allow',
    policies: { enforced_policies: enforced ?? [testHit()], pending_policies: pending ?? [] },
  };
  const flow: Flow = {
    Key: key,
    start_time: TEST_EPOCH,
    end_time: TEST_EPOCH + 5,
    source_labels: ['app=client'],
    dest_labels: ['app=server'],
    packets_in: 1,
    packets_out: 1,
    bytes_in: 100,
    bytes_out: 100,
    num_connections_started: 1,
    num_connections_completed: 0,
    num_connections_live: 1,
  };
  for (const [k, v] of Object.entries(rest)) {
    if (k in key) (key as unknown as Record<string, unknown>)[k] = v;
    else (flow as unknown as Record<string, unknown>)[k] = v;
  }
  return flow;
}

export interface TestGoldmane extends AsyncDisposable {
  readonly aggregator: Aggregator;
  readonly server: GoldmaneServer;
  readonly client: GoldmaneClient;
  readonly address: string;
  /** The aggregator's clock, Unix seconds; `rollover` moves it. */
  now: number;
  /** Reports flows over one FlowCollector.Connect stream and waits for every receipt. */
  report(flows: readonly Flow[]): Promise<void>;
  /** Moves the clock by `n` buckets, rolling over at each. */
  rollover(n?: number): void;
}

export async function startTestGoldmane(opts: { bucketSeconds?: number } = {}): Promise<TestGoldmane> {
  const bucketSeconds = opts.bucketSeconds ?? 15;
  const state = { now: TEST_EPOCH + 1 };
  const aggregator = new Aggregator({ bucketSeconds, nowUnix: () => state.now });
  const server = new GoldmaneServer(aggregator);
  const port = await server.listen('127.0.0.1', 0);
  const address = `127.0.0.1:${port}`;
  const client = new GoldmaneClient(address);
  const gm: TestGoldmane = {
    aggregator,
    server,
    client,
    address,
    get now() {
      return state.now;
    },
    set now(v: number) {
      state.now = v;
    },
    async report(flows) {
      const c = client.connectCollector();
      await Promise.all(flows.map((f) => c.send(f)));
      await c.close();
    },
    rollover(n = 1) {
      for (let i = 0; i < n; i++) {
        state.now += bucketSeconds;
        aggregator.rollover();
      }
    },
    async [Symbol.asyncDispose]() {
      client.close();
      await server.close(1_000);
      aggregator.dispose();
    },
  };
  return gm;
}
