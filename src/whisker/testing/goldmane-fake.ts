/**
 * A small in-test Goldmane Flows server (the viewer's tests only; the layer under test is the viewer, not the
 * aggregator): the real gRPC service definition (src/goldmane/api.proto) over a list of flows the test pushes.
 * List and FilterHints answer from the list; Stream backfills from `start_time_gte` and then sends each pushed
 * flow. Filters follow Goldmane's meaning (lists ORed within a field, fields ANDed; Fuzzy = contains).
 */
import * as grpc from '@grpc/grpc-js';
import type {
  Filter,
  FilterHintsRequest,
  FlowListRequest,
  FlowStreamRequest,
  StringMatch,
} from '../../goldmane/api-types.js';
import { goldmaneServices } from '../../goldmane/proto.js';
import type { Flow, PolicyHit } from '../../flows/types.js';

function matches(list: readonly StringMatch[], value: string): boolean {
  return (
    list.length === 0 || list.some((m) => (m.type === 'Fuzzy' ? value.includes(m.value) : value === m.value))
  );
}

function one(m: StringMatch | null, value: string): boolean {
  return m === null || m.value === '' || matches([m], value);
}

function verdict(hits: readonly PolicyHit[]): PolicyHit['action'] | undefined {
  return [...hits].reverse().find((h) => h.action !== 'Pass')?.action;
}

export function flowMatches(flow: Flow, f: Filter | null): boolean {
  if (f === null) return true;
  const k = flow.Key;
  const hits = [...k.policies.enforced_policies, ...k.policies.pending_policies];
  return (
    matches(f.source_names, k.source_name) &&
    matches(f.source_namespaces, k.source_namespace) &&
    matches(f.dest_names, k.dest_name) &&
    matches(f.dest_namespaces, k.dest_namespace) &&
    matches(f.protocols, k.proto) &&
    (f.dest_ports.length === 0 || f.dest_ports.some((p) => p.port === k.dest_port)) &&
    (f.actions.length === 0 || f.actions.includes(k.action)) &&
    (f.reporter === 'ReporterUnspecified' || f.reporter === k.reporter) &&
    (f.pending_actions.length === 0 ||
      f.pending_actions.includes(verdict(k.policies.pending_policies) ?? k.action)) &&
    (f.policies.length === 0 ||
      f.policies.some((p) =>
        hits.some(
          (h) =>
            (p.kind === 'KindUnspecified' || p.kind === h.kind) &&
            (p.action === 'ActionUnspecified' || p.action === h.action) &&
            one(p.tier, h.tier) &&
            one(p.namespace, h.namespace) &&
            one(p.name, h.name),
        ),
      ))
  );
}

export interface FakeGoldmane {
  /** `127.0.0.1:port`. */
  readonly address: string;
  /** Adds a flow: listed from now on and sent to every open stream it matches. */
  push(flow: Flow): void;
  /** Streams open now. */
  readonly streams: number;
  close(): Promise<void>;
}

function since(gte: number, nowSeconds: number): number {
  return gte < 0 ? nowSeconds + gte : gte === 0 ? nowSeconds : gte;
}

export async function startFakeGoldmane(initial: readonly Flow[] = []): Promise<FakeGoldmane> {
  const flows: Flow[] = [...initial];
  const streams = new Set<{
    filter: Filter | null;
    call: grpc.ServerWritableStream<FlowStreamRequest, unknown>;
  }>();
  let nextId = 1;
  const now = (): number => Math.floor(Date.now() / 1000);
  const server = new grpc.Server();
  server.addService(goldmaneServices().Flows.service, {
    List(call: grpc.ServerUnaryCall<FlowListRequest, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const r = call.request;
      const from = r.start_time_gte === 0 ? 0 : since(r.start_time_gte, now());
      const selected = flows.filter((f) => f.start_time >= from && flowMatches(f, r.filter));
      cb(null, {
        meta: { totalPages: selected.length > 0 ? 1 : 0, totalResults: selected.length },
        flows: selected.map((flow, i) => ({ id: i + 1, flow })),
      });
    },
    Stream(call: grpc.ServerWritableStream<FlowStreamRequest, unknown>) {
      const r = call.request;
      const from = since(r.start_time_gte, now());
      for (const flow of flows)
        if (flow.start_time >= from && flowMatches(flow, r.filter)) call.write({ id: nextId++, flow });
      const entry = { filter: r.filter, call };
      streams.add(entry);
      call.on('cancelled', () => streams.delete(entry));
      call.on('close', () => streams.delete(entry));
    },
    FilterHints(call: grpc.ServerUnaryCall<FilterHintsRequest, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const r = call.request;
      const values = new Set<string>();
      for (const f of flows.filter((x) => flowMatches(x, r.filter))) {
        const k = f.Key;
        const hits = k.policies.enforced_policies;
        switch (r.type) {
          case 'FilterTypeSourceName':
            values.add(k.source_name);
            break;
          case 'FilterTypeDestName':
            values.add(k.dest_name);
            break;
          case 'FilterTypeSourceNamespace':
            values.add(k.source_namespace);
            break;
          case 'FilterTypeDestNamespace':
            values.add(k.dest_namespace);
            break;
          case 'FilterTypePolicyName':
            for (const h of hits) values.add(h.name);
            break;
          case 'FilterTypePolicyTier':
            for (const h of hits) values.add(h.tier);
            break;
          case 'FilterTypePolicyKind':
            for (const h of hits) values.add(h.kind);
            break;
          case 'FilterTypePolicyNamespace':
            for (const h of hits) values.add(h.namespace);
            break;
          case 'FilterTypeUnspecified':
            cb({ code: grpc.status.INVALID_ARGUMENT, details: 'filter type unspecified' });
            return;
        }
      }
      const hints = [...values].sort().map((value) => ({ value }));
      cb(null, { meta: { totalPages: hints.length > 0 ? 1 : 0, totalResults: hints.length }, hints });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => {
      if (e !== null) reject(e);
      else resolve(p);
    });
  });
  return {
    address: `127.0.0.1:${port}`,
    push(flow) {
      flows.push(flow);
      for (const s of streams) if (flowMatches(flow, s.filter)) s.call.write({ id: nextId++, flow });
    },
    get streams() {
      return streams.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.call.end();
        server.tryShutdown(() => {
          resolve();
        });
        // Streams the clients keep open would hold tryShutdown: force it once they have been ended.
        setImmediate(() => {
          server.forceShutdown();
        });
      }),
  };
}
