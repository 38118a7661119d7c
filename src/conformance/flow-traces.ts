/**
 * The kernel's policy traces against the reference evaluator's (issue 14): a DataplaneDriver around the
 * nftables driver (flow logs on in the node's agent) that captures, for each case state, the NFLOG groups
 * 1 (ingress) and 2 (egress) in the node's namespace (`tcpdump -i nflog:<group> -U -w -`, parsed by
 * dataplane/nflog.ts), reads each probed connection's prefixes back into a trace as Felix's collector does
 * (flows/policy-hits.ts traceFromNflog) and compares it with the evaluator's enforced trace for the same
 * connection (tracesFromDecision), per direction. A direction is compared when the evaluator says the packet
 * reaches it: the source's egress always, the destination's ingress when egress allowed it.
 *
 * The connection's first packet decides (a retransmission logs the same again). Records are matched to a
 * probe by addresses, protocol and destination port; the first source port seen is the probe's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseProtocol, protocolNumber } from '../api/numorstring.js';
import { parseNflogPcap, type NflogRecord } from '../dataplane/nflog.js';
import { hitToString, nflogTraceContext, traceFromNflog, tracesFromDecision } from '../flows/policy-hits.js';
import { LabProcess } from '../labkit/process.js';
import { waitFor } from '../lib/async.js';
import { parseIp } from '../lib/net/ip.js';
import { policyIdString } from '../model/ids.js';
import {
  hashedPrefixLookup,
  type HashedPrefixLookup,
  NFLOG_GROUP_INBOUND,
  NFLOG_GROUP_OUTBOUND,
  ownerNflogPrefixes,
  parseNflogPrefix,
  tierNflogPrefixes,
  type NflogPrefix,
} from '../model/nflog-prefix.js';
import { buildSnapshot, type ModelInput } from '../model/snapshot.js';
import { PolicyEvaluator } from '../policy/evaluator.js';
import type { Decision, Direction, DirectionTrace } from '../policy/trace.js';
import type { CasePod, CaseState, NetpolCase } from './cases.js';
import type { CellOutcome, DataplaneDriver, ProbeCell } from './driver.js';
import type { NftablesDriver } from './nftables-driver.js';
import { caseNamespaces, casePodToPod, decodeStatePolicies, modelNodes } from './sim.js';

/** One direction of one probed connection whose kernel trace differs from the evaluator's. */
export interface TraceMismatch {
  readonly caseId: string;
  readonly step: number;
  readonly cell: ProbeCell;
  readonly direction: Direction;
  readonly kernel: readonly string[];
  readonly evaluator: readonly string[];
}

export interface TraceTally {
  /** Directions compared (each probed connection gives one or two). */
  directions: number;
  /** Connections compared. */
  connections: number;
  /** Directions where the evaluator's pending trace differs from its enforced one. */
  pendingDiffers: number;
  /** Compared directions per kind of deciding step (rule, endOfTier, profile, ...), and with a Pass hit. */
  readonly decidedBy: Map<string, number>;
}

export function describeTraceMismatch(m: TraceMismatch): string {
  const c = m.cell;
  return (
    `${m.caseId} step ${m.step}: ${c.from} -> ${c.to} ${c.protocol}/${c.port} ${m.direction}\n` +
    `  kernel:    [${m.kernel.join(', ')}]\n  evaluator: [${m.evaluator.join(', ')}]`
  );
}

interface Capture {
  readonly group: number;
  readonly file: string;
  readonly log: string;
  readonly proc: LabProcess;
}

interface Pending {
  readonly caseId: string;
  readonly step: number;
  readonly evaluator: PolicyEvaluator;
  readonly pods: ReadonlyMap<string, CasePod>;
  readonly tierOf: ReadonlyMap<string, string>;
  /** Hashed prefixes (63 bytes: long policy ids) of the state's policies, profiles and tiers. */
  readonly hashed: HashedPrefixLookup;
  readonly captures: readonly Capture[];
  readonly cells: Map<string, ProbeCell>;
}

interface Expected {
  readonly cell: ProbeCell;
  readonly direction: Direction;
  readonly group: number;
  readonly key: string;
  readonly trace: DirectionTrace;
  readonly enforced: string[];
  readonly pending: string[];
}

function flowKey(src: string, dst: string, protocol: number, port: number): string {
  return `${src}|${dst}|${protocol}|${port}`;
}

/** Per connection (addresses, protocol, destination port): the prefixes of its first source port, in order. */
function firstConnectionPrefixes(records: readonly NflogRecord[]): Map<string, string[]> {
  const bySport = new Map<string, { sport: number; prefixes: string[] }>();
  for (const r of records) {
    if (r.src === undefined || r.dst === undefined || r.protocol === undefined || r.dstPort === undefined)
      continue;
    const key = flowKey(r.src, r.dst, r.protocol, r.dstPort);
    let e = bySport.get(key);
    if (e === undefined) {
      e = { sport: r.srcPort ?? -1, prefixes: [] };
      bySport.set(key, e);
    }
    if ((r.srcPort ?? -1) === e.sport) e.prefixes.push(r.prefix);
  }
  return new Map([...bySport].map(([k, v]) => [k, v.prefixes]));
}

function isVerdict(p: NflogPrefix | undefined): boolean {
  if (p === undefined) return false;
  return p.kind === 'noProfileMatch' || p.action === 'Allow' || p.action === 'Deny';
}

export interface FlowTraceDriverOptions {
  /** Where the captures are written. */
  readonly workDir: string;
  readonly tcpdump: string;
  /** How long to wait for a state's connections to show in the captures. Default 10 s. */
  readonly settleMs?: number;
}

export class FlowTraceDriver implements DataplaneDriver {
  readonly name = 'nftables+flow-traces';
  readonly mismatches: TraceMismatch[] = [];
  readonly tally: TraceTally = { directions: 0, connections: 0, pendingDiffers: 0, decidedBy: new Map() };
  readonly #inner: NftablesDriver;
  readonly #o: FlowTraceDriverOptions;
  #case: NetpolCase | undefined;
  #step = 0;
  #pending: Pending | undefined;
  #seq = 0;

  constructor(inner: NftablesDriver, o: FlowTraceDriverOptions) {
    this.#inner = inner;
    this.#o = o;
  }

  async startCase(c: NetpolCase, opts: { signal: AbortSignal }): Promise<void> {
    this.#case = c;
    this.#step = 0;
    await this.#inner.startCase(c, opts);
  }

  async applyState(state: CaseState, opts: { signal: AbortSignal }): Promise<readonly string[]> {
    await this.#finish(opts.signal);
    const { resources, nodes, problems } = decodeStatePolicies(state);
    if (problems.length > 0) return problems;
    const inputs: ModelInput[] = [
      ...caseNamespaces(state),
      ...state.pods.map(casePodToPod),
      ...modelNodes(nodes),
      ...resources,
    ];
    const snapshot = buildSnapshot(inputs);
    const lab = await this.#inner.labCluster(opts.signal);
    const node = lab.nodes()[0];
    if (node === undefined) return ['the lab has no node'];
    const captures = await Promise.all(
      [NFLOG_GROUP_INBOUND, NFLOG_GROUP_OUTBOUND].map((g) => this.#capture(node.netns, g, opts.signal)),
    );
    this.#pending = {
      caseId: this.#case?.id ?? '?',
      step: this.#step++,
      evaluator: new PolicyEvaluator(snapshot),
      pods: new Map(state.pods.map((p) => [`${p.namespace}/${p.name}`, p])),
      tierOf: new Map(snapshot.policies.map((p) => [policyIdString(p.key), p.tier])),
      hashed: hashedPrefixLookup([
        ...snapshot.policies.flatMap((p) =>
          ownerNflogPrefixes('policy', policyIdString(p.key), p.inbound, p.outbound),
        ),
        ...[...snapshot.profiles.values()].flatMap((p) =>
          ownerNflogPrefixes('profile', p.name, p.inbound, p.outbound),
        ),
        ...[...new Set(snapshot.policies.map((p) => p.tier))].flatMap(tierNflogPrefixes),
      ]),
      captures,
      cells: new Map(),
    };
    return this.#inner.applyState(state, opts);
  }

  async #capture(netns: string, group: number, signal: AbortSignal): Promise<Capture> {
    const n = this.#seq++;
    const file = join(this.#o.workDir, `nflog-${n}-g${group}.pcap`);
    const log = join(this.#o.workDir, `nflog-${n}-g${group}.log`);
    const proc = LabProcess.spawn({
      netns,
      command: this.#o.tcpdump,
      args: ['-i', `nflog:${group}`, '-U', '-w', '-'],
      logFile: log,
      stdoutFile: file,
      detached: false,
    });
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('listening on'), {
      timeoutMs: 10_000,
      what: `tcpdump listening on nflog:${group}`,
      signal,
      describe: () => (existsSync(log) ? readFileSync(log, 'utf8') : 'no log'),
    });
    return { group, file, log, proc };
  }

  async probe(cells: readonly ProbeCell[], opts: { signal: AbortSignal }): Promise<readonly CellOutcome[]> {
    const outcomes = await this.#inner.probe(cells, opts);
    const p = this.#pending;
    outcomes.forEach((o, i) => {
      const c = cells[i];
      if (p === undefined || c === undefined || o.kind !== 'judged' || c.from === c.to) return;
      p.cells.set(`${c.from}|${c.to}|${c.protocol}|${c.port}`, c);
    });
    return outcomes;
  }

  async endCase(opts: { signal: AbortSignal }): Promise<void> {
    try {
      await this.#inner.endCase();
    } finally {
      await this.#finish(opts.signal);
    }
  }

  #decide(
    p: Pending,
    c: ProbeCell,
  ): { decision: Decision; src: string; dst: string; protocol: number } | undefined {
    const from = p.pods.get(c.from);
    const to = p.pods.get(c.to);
    const proto = parseProtocol(c.protocol);
    const protocol = proto.ok ? protocolNumber(proto.value) : undefined;
    const srcIp = from !== undefined ? parseIp(from.ip) : undefined;
    const dstIp = to !== undefined ? parseIp(to.ip) : undefined;
    if (from === undefined || to === undefined || srcIp === undefined || dstIp === undefined)
      return undefined;
    if (protocol === undefined) return undefined;
    const decision = p.evaluator.decide({ src: { ip: srcIp }, dst: { ip: dstIp, port: c.port }, protocol });
    return { decision, src: from.ip, dst: to.ip, protocol };
  }

  #expected(p: Pending): Expected[] {
    const out: Expected[] = [];
    for (const cell of p.cells.values()) {
      const d = this.#decide(p, cell);
      if (d === undefined) continue;
      const key = flowKey(d.src, d.dst, d.protocol, cell.port);
      const dirs: [Direction, number, DirectionTrace | undefined][] = [
        ['egress', NFLOG_GROUP_OUTBOUND, d.decision.egress],
      ];
      if ((d.decision.egress?.verdict ?? 'Allow') === 'Allow')
        dirs.push(['ingress', NFLOG_GROUP_INBOUND, d.decision.ingress]);
      for (const [direction, group, trace] of dirs) {
        if (trace === undefined) continue;
        const t = tracesFromDecision(d.decision, direction);
        out.push({
          cell,
          direction,
          group,
          key,
          trace,
          enforced: t.enforced.map(hitToString),
          pending: t.pending.map(hitToString),
        });
      }
    }
    return out;
  }

  #read(p: Pending): Map<number, Map<string, string[]>> {
    const out = new Map<number, Map<string, string[]>>();
    for (const c of p.captures) {
      const bytes = existsSync(c.file) ? readFileSync(c.file) : Buffer.alloc(0);
      out.set(c.group, firstConnectionPrefixes(bytes.length < 24 ? [] : parseNflogPcap(bytes)));
    }
    return out;
  }

  /** Compares the state's connections once their verdicts are all in the captures; stops the captures. */
  async #finish(signal: AbortSignal): Promise<void> {
    const p = this.#pending;
    this.#pending = undefined;
    if (p === undefined) return;
    try {
      const expected = this.#expected(p);
      const complete = (seen: Map<number, Map<string, string[]>>): boolean =>
        expected.every((e) =>
          (seen.get(e.group)?.get(e.key) ?? []).some((text) => isVerdict(parseNflogPrefix(text, p.hashed))),
        );
      let seen = this.#read(p);
      if (!complete(seen)) {
        await waitFor(
          () => {
            seen = this.#read(p);
            return complete(seen);
          },
          { timeoutMs: this.#o.settleMs ?? 10_000, what: 'NFLOG records of every probed connection', signal },
        ).catch(() => undefined); // what is missing shows as a mismatch below
      }
      this.tally.connections += p.cells.size;
      for (const e of expected) this.#compare(p, e, seen.get(e.group)?.get(e.key) ?? []);
    } finally {
      await Promise.all(p.captures.map((c) => c.proc.stop(2000)));
    }
  }

  #compare(p: Pending, e: Expected, texts: readonly string[]): void {
    const prefixes: NflogPrefix[] = [];
    const unparsed: string[] = [];
    for (const t of texts) {
      const parsed = parseNflogPrefix(t, p.hashed);
      if (parsed === undefined) unparsed.push(`unparsed prefix ${t}`);
      else prefixes.push(parsed);
    }
    const tiers = e.trace.path.flatMap((ev) =>
      ev.kind === 'tier' && ev.stage === 'normal' ? [{ name: ev.tier, policyIds: ev.policyIds }] : [],
    );
    const base = nflogTraceContext(tiers);
    const kernel = traceFromNflog(prefixes, {
      tierOf: (id) => p.tierOf.get(id),
      endOfTierTrigger: (tier) => base.endOfTierTrigger(tier),
    })
      .map(hitToString)
      .concat(unparsed);
    this.tally.directions++;
    const by = e.trace.decidedBy.kind + (e.enforced.some((h) => h.includes('|pass|')) ? '+pass' : '');
    this.tally.decidedBy.set(by, (this.tally.decidedBy.get(by) ?? 0) + 1);
    if (e.pending.join() !== e.enforced.join()) this.tally.pendingDiffers++;
    if (kernel.join() !== e.enforced.join())
      this.mismatches.push({
        caseId: p.caseId,
        step: p.step,
        cell: e.cell,
        direction: e.direction,
        kernel,
        evaluator: e.enforced,
      });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const p = this.#pending;
    this.#pending = undefined;
    if (p !== undefined) await Promise.all(p.captures.map((c) => c.proc.stop(2000)));
    await this.#inner[Symbol.asyncDispose]();
  }
}
