/**
 * The demo's flow logs: after each step, the flows that step's probes made, read back from the lab's
 * calico-goldmane, each with the policy that decided it; and, where a staged policy would decide otherwise, the
 * flows whose pending verdict differs from the enforced one.
 *
 * Which flows are the step's: Goldmane aggregates by flow key over the whole window, so the demo takes a
 * snapshot of every key's connection count before the step's probes and keeps the keys whose count grew. It
 * waits (bounded) until every probed cell has its flows: the source's report, and the destination's when the
 * source's policy let the connection leave (cellComplete).
 */
import type { Flow, PolicyHit } from '../flows/types.js';
import type { GoldmaneClient } from '../goldmane/client.js';
import { waitFor } from '../lib/async.js';

/** One probe of the step: from a pod key (`ns/name`) to a pod key or `outside`. */
export interface FlowCell {
  readonly from: string;
  readonly to: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
}

export type FlowSnapshot = ReadonlyMap<string, number>;

function keyText(f: Flow): string {
  return JSON.stringify(f.Key);
}

/** Every flow of the window by key, with its connection count. */
export async function snapshotFlows(client: GoldmaneClient): Promise<FlowSnapshot> {
  const r = await client.list({ page_size: 0 });
  return new Map(r.flows.flatMap((x) => (x.flow === null ? [] : [[keyText(x.flow), activity(x.flow)]])));
}

/** New connections (allowed or denied) the flow counted: what a step's probes add. */
function activity(f: Flow): number {
  return f.num_connections_started;
}

/** The flows whose counts grew since `before`. */
export async function flowsSince(client: GoldmaneClient, before: FlowSnapshot): Promise<Flow[]> {
  const r = await client.list({ page_size: 0 });
  return r.flows.flatMap((x) =>
    x.flow !== null && activity(x.flow) > (before.get(keyText(x.flow)) ?? 0) ? [x.flow] : [],
  );
}

function endName(namespace: string, name: string): string {
  return namespace === '' || namespace === '-' ? name : `${namespace}/${name}`;
}

/** A pod key or `outside` as the flow names it (the outside is a Network: `pub`/`pvt`). */
function names(f: Flow): { readonly src: string; readonly dst: string } {
  const k = f.Key;
  const src = k.source_type === 'Network' ? 'outside' : endName(k.source_namespace, k.source_name);
  const dst = k.dest_type === 'Network' ? 'outside' : endName(k.dest_namespace, k.dest_name);
  return { src, dst };
}

function matches(f: Flow, c: FlowCell): boolean {
  const n = names(f);
  return n.src === c.from && n.dst === c.to && f.Key.dest_port === c.port && f.Key.proto === c.protocol;
}

/**
 * Whether `flows` hold everything `cell` makes: the source's report, and the destination's if the source's
 * policy let it leave and the destination is a local endpoint that sees it (`proxied`: a DNS query to a trusted
 * server is answered through calico-node's DNS proxy, which asks the server itself).
 */
function cellComplete(flows: readonly Flow[], c: FlowCell, ends: CellEnds): boolean {
  const mine = flows.filter((f) => matches(f, c));
  const src = mine.filter((f) => f.Key.reporter === 'Src');
  if (ends.local(c.from) && src.length === 0) return false;
  if (src.some((f) => f.Key.action === 'Deny')) return true;
  if (!ends.local(c.to) || ends.proxied(c)) return true;
  return mine.some((f) => f.Key.reporter === 'Dst');
}

/** Which ends report flows: local endpoints; and which cells reach no ingress policy (proxied DNS). */
export interface CellEnds {
  readonly local: (key: string) => boolean;
  readonly proxied: (cell: FlowCell) => boolean;
}

/**
 * Waits (bounded) until the step's flows cover every cell, then returns them; on timeout returns what came,
 * and the cells still missing.
 */
export async function stepFlows(
  client: GoldmaneClient,
  before: FlowSnapshot,
  cells: readonly FlowCell[],
  ends: CellEnds,
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<{ readonly flows: Flow[]; readonly missing: FlowCell[] }> {
  let flows: Flow[] = [];
  const missing = (): FlowCell[] => cells.filter((c) => !cellComplete(flows, c, ends));
  await waitFor(
    async () => {
      flows = await flowsSince(client, before);
      return missing().length === 0;
    },
    {
      timeoutMs: options.timeoutMs,
      intervalMs: 250,
      what: 'the step flows in calico-goldmane',
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    },
  ).catch(() => undefined);
  return { flows, missing: missing() };
}

/**
 * `GlobalNetworkPolicy default-deny (tier default) rule 0`, `end of tier default (policy production/x)`: the
 * policy Felix names for a tier's end (its last policy that selected the endpoint), `profile kns.default rule 0`.
 */
export function describeHit(h: PolicyHit): string {
  const who = (x: PolicyHit): string => `${x.namespace === '' ? '' : `${x.namespace}/`}${x.name}`;
  if (h.kind === 'EndOfTier')
    return `end of tier ${h.tier}${h.trigger !== null ? ` (policy ${who(h.trigger)})` : ''}`;
  if (h.kind === 'Profile') return `profile ${h.name} rule ${h.rule_index}`;
  return `${h.kind} ${who(h)} (tier ${h.tier}) rule ${h.rule_index}`;
}

/** The hit that decided: the last of the trace (a trace ends where a verdict was reached). */
export function decidingHit(trace: readonly PolicyHit[]): PolicyHit | undefined {
  return trace.at(-1);
}

function pendingAction(f: Flow): string | undefined {
  const h = decidingHit(f.Key.policies.pending_policies);
  return h === undefined ? undefined : h.action;
}

interface CellFlows {
  readonly what: string;
  src?: Flow;
  dst?: Flow;
}

function cellKey(f: Flow): string {
  const n = names(f);
  return `${n.src} -> ${n.dst} ${f.Key.proto}/${f.Key.dest_port}`;
}

function decider(f: Flow | undefined): string {
  const hit = f === undefined ? undefined : decidingHit(f.Key.policies.enforced_policies);
  return hit === undefined ? '(no policy trace)' : describeHit(hit);
}

/** One line per connection: its verdict, where it was decided and by what. */
function cellLine(c: CellFlows): string {
  const head = c.what.padEnd(52);
  if (c.src?.Key.action === 'Deny') return `${head} DENY  at egress  by ${decider(c.src)}`;
  if (c.dst?.Key.action === 'Deny') return `${head} DENY  at ingress by ${decider(c.dst)}`;
  const sides = [
    ...(c.src !== undefined ? [`egress by ${decider(c.src)}`] : []),
    ...(c.dst !== undefined ? [`ingress by ${decider(c.dst)}`] : []),
  ];
  return `${head} allow ${sides.join('; ')}`;
}

/** The step's flows as printed lines (one per connection), plus the pending-verdict differences if any. */
export function renderStepFlows(flows: readonly Flow[], missing: readonly FlowCell[]): string[] {
  const cells = new Map<string, CellFlows>();
  for (const f of flows) {
    const what = cellKey(f);
    const c = cells.get(what) ?? { what };
    if (f.Key.reporter === 'Src') c.src = f;
    else c.dst = f;
    cells.set(what, c);
  }
  const out = [...cells.keys()].sort().map((k) => cellLine(cells.get(k)!));
  for (const c of missing) out.push(`${c.from} -> ${c.to} ${c.protocol}/${c.port}: no flow seen in time`);
  const differ = flows.filter((f) => {
    const p = pendingAction(f);
    return p !== undefined && p !== f.Key.action;
  });
  if (differ.length > 0) {
    out.push('', 'Staged policy: flows whose PENDING verdict differs from the enforced one:');
    for (const f of [...differ].sort((a, b) => cellKey(a).localeCompare(cellKey(b)))) {
      const hit = decidingHit(f.Key.policies.pending_policies);
      const side = f.Key.reporter === 'Src' ? 'egress' : 'ingress';
      out.push(
        `${cellKey(f).padEnd(52)} at ${side}: enforced ${f.Key.action.toUpperCase()}, ` +
          `pending ${(pendingAction(f) ?? '').toUpperCase()} by ${hit === undefined ? '?' : describeHit(hit)}`,
      );
    }
  }
  return out;
}
