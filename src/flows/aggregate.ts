/**
 * Connection records → flows in Goldmane's shape, aggregated per flow key over one flush interval (Felix's
 * flowlog aggregator at its default for Goldmane: names aggregated to GenerateName*, ports kept, labels
 * intersected, enforced and pending traces part of the key). Stats are summed; `num_connections_started` /
 * `_completed` count the connections that started / ended in the interval and `num_connections_live` those
 * active at any time in it (Felix's NumFlows). Pure.
 */
import type { NflogPrefix } from '../model/nflog-prefix.js';
import { GLOBAL_NAMESPACE, type FlowEndpoint } from './endpoints.js';
import type { FlowRecord } from './flow-table.js';
import type { Action, Flow, FlowKey, PolicyHit, Reporter } from './types.js';

/** Felix's ProtoToString (felix/collector/utils). */
const PROTO_NAMES: Readonly<Record<number, string>> = {
  1: 'icmp',
  4: 'ipip',
  6: 'tcp',
  17: 'udp',
  50: 'esp',
  58: 'icmp6',
  132: 'sctp',
};

export function protoName(protocol: number): string {
  return PROTO_NAMES[protocol] ?? String(protocol);
}

export interface FlowKeyContext {
  lookup(address: string): FlowEndpoint;
  /** The enforced trace of a record, from its NFLOG prefixes; `reporting` is the endpoint whose policy ran. */
  enforced(r: FlowRecord, reporting: FlowEndpoint): PolicyHit[];
  /** The pending trace (staged policies as if enforced); [] when pending evaluation is off. */
  pending(r: FlowRecord, src: FlowEndpoint, dst: FlowEndpoint): PolicyHit[];
}

/** The verdict a packet walk ended with. */
export function walkAction(prefixes: readonly NflogPrefix[]): Action {
  const last = prefixes[prefixes.length - 1];
  if (last === undefined) return 'ActionUnspecified';
  switch (last.kind) {
    case 'rule':
      return last.action;
    case 'endOfTier':
      return last.action;
    case 'noProfileMatch':
      return 'Deny';
  }
}

export function reporterOf(r: FlowRecord): Reporter {
  return r.direction === 'egress' ? 'Src' : 'Dst';
}

function flowKey(r: FlowRecord, src: FlowEndpoint, dst: FlowEndpoint, ctx: FlowKeyContext): FlowKey {
  const icmp = r.tuple.protocol === 1 || r.tuple.protocol === 58;
  return {
    source_name: src.name,
    source_namespace: src.namespace,
    source_type: src.type,
    dest_name: dst.name,
    dest_namespace: dst.namespace,
    dest_type: dst.type,
    dest_port: icmp ? 0 : r.tuple.dstPort,
    // Services are not resolved by this collector (no kube-proxy view): Felix's values for "no service".
    dest_service_name: GLOBAL_NAMESPACE,
    dest_service_namespace: GLOBAL_NAMESPACE,
    dest_service_port_name: GLOBAL_NAMESPACE,
    dest_service_port: 0,
    proto: protoName(r.tuple.protocol),
    reporter: reporterOf(r),
    action: walkAction(r.prefixes),
    policies: {
      enforced_policies: ctx.enforced(r, r.direction === 'egress' ? src : dst),
      pending_policies: ctx.pending(r, src, dst),
    },
  };
}

/** A stable string of a key: field order fixed by FlowKey's construction above. */
export function flowKeyId(k: FlowKey): string {
  return JSON.stringify(k);
}

function intersect(a: readonly string[], b: readonly string[]): string[] {
  const keep = new Set(b);
  return a.filter((l) => keep.has(l));
}

/** One flow per distinct key among `records`, over [startSec, endSec]. */
export function aggregateFlows(
  records: readonly FlowRecord[],
  ctx: FlowKeyContext,
  startSec: number,
  endSec: number,
): Flow[] {
  const byKey = new Map<string, Flow>();
  for (const r of records) {
    const src = ctx.lookup(r.tuple.src);
    const dst = ctx.lookup(r.tuple.dst);
    const Key = flowKey(r, src, dst, ctx);
    const id = flowKeyId(Key);
    const f = byKey.get(id);
    const started = r.started ? 1 : 0;
    const completed = r.completed ? 1 : 0;
    if (f === undefined) {
      byKey.set(id, {
        Key,
        start_time: startSec,
        end_time: endSec,
        source_labels: [...src.labels],
        dest_labels: [...dst.labels],
        packets_in: r.packetsIn,
        packets_out: r.packetsOut,
        bytes_in: r.bytesIn,
        bytes_out: r.bytesOut,
        num_connections_started: started,
        num_connections_completed: completed,
        num_connections_live: 1,
      });
      continue;
    }
    f.source_labels = intersect(f.source_labels, src.labels);
    f.dest_labels = intersect(f.dest_labels, dst.labels);
    f.packets_in += r.packetsIn;
    f.packets_out += r.packetsOut;
    f.bytes_in += r.bytesIn;
    f.bytes_out += r.bytesOut;
    f.num_connections_started += started;
    f.num_connections_completed += completed;
    f.num_connections_live += 1;
  }
  return [...byKey.values()];
}
