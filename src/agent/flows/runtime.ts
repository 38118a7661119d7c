/**
 * Flow logs in calico-node (Felix's collector; docs/design/flow-logs.md, "collector"): on while
 * `flowLogsGoldmaneServer` is set.
 *
 *   tcpdump -i nflog:1 / nflog:2 (pcap) ──► NflogPcapStream ──┐
 *   conntrack -E (DESTROY)  ──────────────────────────────────┼──► FlowTable (per connection: NFLOG walk,
 *   conntrack -L (each flush: live counters) ─────────────────┘     conntrack counts, started/completed)
 *
 * Cost at high connection rates (docs/design/flow-logs.md, "cost"): a connection's start is its first NFLOG
 * record, so conntrack events are subscribed for DESTROY only (each event is built in the kernel and read
 * here). A flush never waits for conntrack: it sends what the table holds (a connection not yet listed
 * counts the packets NFLOG logged, and its entry's counters from there on), then starts the `conntrack -L`
 * (at most one at a time; a large table takes seconds to list) whose result the next flush uses. Flushes
 * keep a steady cadence, so a connection is visible within one interval plus the send.
 */
import type { DataplaneMessage } from '../../calc/messages.js';
import type { ResourceUpdate } from '../../calc/inputs.js';
import type { FelixConfig } from '../../api/v3/felix-config-params.js';
import type { CommandRunner } from '../../dataplane/exec/command-runner.js';
import { NflogPcapStream } from '../../dataplane/nflog.js';
import { aggregateFlows, type FlowKeyContext } from '../../flows/aggregate.js';
import { parseConntrackLine } from '../../flows/conntrack.js';
import { FlowTable, type FlowRecord } from '../../flows/flow-table.js';
import { traceFromNflog, tracesFromDecision } from '../../flows/policy-hits.js';
import type { Flow, PolicyHit } from '../../flows/types.js';
import { realClock, type Clock, type TimerHandle } from '../../lib/async.js';
import { errorMessage } from '../../lib/errors.js';
import { parseIp } from '../../lib/net/ip.js';
import {
  NFLOG_GROUP_INBOUND,
  NFLOG_GROUP_OUTBOUND,
  nflogGroup,
  type NflogPrefix,
} from '../../model/nflog-prefix.js';
import type { AgentLogger } from '../log.js';
import { FlowDataplaneView } from './dataplane-view.js';
import { GoldmaneFlowSender } from './goldmane-sender.js';
import type { FlowLogsMetrics } from './metrics.js';
import { FlowModelView, type ModelViews } from './model-view.js';
import type { ResolvedNames } from '../../model/dns-cache.js';
import { SupervisedProcess, type ReaderExit } from './supervised.js';

export interface FlowLogsSettings {
  /** calico-goldmane's `host:port`. */
  readonly server: string;
  readonly flushMs: number;
  /** `flowLogsPolicyEvaluationMode: Continuous`: pending traces are evaluated. */
  readonly pending: boolean;
}

/** The settings of a configuration; undefined when flow logs are off (no Goldmane server). */
export function flowLogsSettings(c: FelixConfig): FlowLogsSettings | undefined {
  const server = (c.flowLogsGoldmaneServer ?? '').trim();
  if (server === '') return undefined;
  return {
    server,
    flushMs: Math.max(1000, c.flowLogsFlushInterval),
    pending: c.flowLogsPolicyEvaluationMode === 'Continuous',
  };
}

/** The least time between the end of one flush and the start of the next. */
const MIN_FLUSH_GAP_MS = 100;

/** Connections whose pending trace is kept (more than the flow table's default bound of live ones). */
const PENDING_CACHE_MAX = 200_000;

export interface FlowLogsDeps {
  readonly log: AgentLogger;
  readonly runner: CommandRunner;
  readonly metrics: FlowLogsMetrics;
  readonly clock?: Clock;
  /** Wall-clock milliseconds (flow start and end times). */
  readonly now?: () => number;
  readonly tcpdump?: string;
  readonly conntrack?: string;
  readonly maxConnections?: number;
  /**
   * DNS policy's learned names (the node's DNS cache), so pending traces decide domain rules as the dataplane
   * does; absent: domain rules match nothing in pending traces.
   */
  readonly resolvedNames?: ResolvedNames;
}

export interface FlowLogsStatus {
  readonly enabled: boolean;
  readonly settings?: FlowLogsSettings;
  readonly connections: number;
  readonly flushes: number;
  /** Flows handed to the sender since start. */
  readonly flowsReported: number;
  readonly sender?: ReturnType<GoldmaneFlowSender['stats']>;
  readonly readerStarts: number;
}

interface Running {
  readonly table: FlowTable;
  readonly readers: SupervisedProcess[];
  sender: GoldmaneFlowSender;
  timer: TimerHandle | undefined;
  intervalStartMs: number;
  /** Accounting turned on in this namespace (retried at each flush until it is). */
  accounting: boolean;
  flushing: Promise<void>;
  /** The `conntrack -L` running now, if any (applied to the table when it ends). */
  listing: Promise<void> | undefined;
}

export class FlowLogsRuntime {
  readonly #d: FlowLogsDeps;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #dataplane = new FlowDataplaneView();
  readonly #model: FlowModelView;
  readonly #pendingByConnection = new Map<string, PolicyHit[]>();
  #settings: FlowLogsSettings | undefined;
  #run: Running | undefined;
  #flushes = 0;
  #reported = 0;
  #droppedWarned = 0;

  constructor(deps: FlowLogsDeps) {
    this.#model = new FlowModelView(deps.resolvedNames);
    this.#d = deps;
    this.#clock = deps.clock ?? realClock;
    this.#now = deps.now ?? Date.now;
    deps.metrics.attach(() => this.#run?.table.stats().connections ?? 0);
  }

  /** The syncer's resource updates (the model: endpoints, network sets, staged policies). */
  onUpdates(updates: readonly ResourceUpdate[]): void {
    this.#model.onUpdates(updates);
  }

  onMessages(msgs: readonly DataplaneMessage[]): void {
    this.#dataplane.onMessages(msgs);
    for (const m of msgs) if (m.kind === 'configUpdate') this.#configure(flowLogsSettings(m.config));
  }

  status(): FlowLogsStatus {
    const r = this.#run;
    return {
      enabled: r !== undefined,
      ...(this.#settings !== undefined ? { settings: this.#settings } : {}),
      connections: r?.table.stats().connections ?? 0,
      flushes: this.#flushes,
      flowsReported: this.#reported,
      ...(r !== undefined ? { sender: r.sender.stats() } : {}),
      readerStarts: r?.readers.reduce((n, p) => n + p.starts, 0) ?? 0,
    };
  }

  /** Flushes now (tests, and the last flush before a stop). */
  async flush(): Promise<void> {
    const r = this.#run;
    if (r === undefined) return;
    r.flushing = r.flushing.then(() => this.#flush(r));
    await r.flushing;
  }

  /** Resolves when the conntrack listing running now (if any) has been applied (tests). */
  async listed(): Promise<void> {
    await this.#run?.listing;
  }

  async stop(): Promise<void> {
    await this.#stopRunning();
  }

  #configure(s: FlowLogsSettings | undefined): void {
    const before = this.#settings;
    this.#settings = s;
    if (s === undefined) {
      if (before !== undefined) this.#d.log.info('flow logs off: collector stopped');
      void this.#stopRunning();
      return;
    }
    const r = this.#run;
    if (r === undefined) {
      this.#start(s);
      return;
    }
    if (before?.server !== s.server) {
      r.sender.close();
      r.sender = this.#sender(s.server);
    }
    if (before?.flushMs !== s.flushMs) this.#schedule(r, s.flushMs);
  }

  #sender(server: string): GoldmaneFlowSender {
    return new GoldmaneFlowSender({
      server,
      clock: this.#clock,
      onDisconnect: (error, retryMs) => {
        this.#d.log.warn('flow logs: Goldmane stream failed; reconnecting', { server, error, retryMs });
      },
    });
  }

  #start(s: FlowLogsSettings): void {
    this.#model.activate();
    const table = new FlowTable(
      {
        parsePrefix: (t) => this.#dataplane.parsePrefix(t),
        ...(this.#d.maxConnections !== undefined ? { maxConnections: this.#d.maxConnections } : {}),
      },
      this.#now(),
    );
    const onExit = (e: ReaderExit): void => {
      this.#d.log.warn('flow logs: reader ended; restarting', { ...e });
    };
    const readers = [NFLOG_GROUP_INBOUND, NFLOG_GROUP_OUTBOUND].map((group) => {
      let stream = new NflogPcapStream();
      const label = { groupNum: String(group) };
      return new SupervisedProcess({
        command: this.#d.tcpdump ?? 'tcpdump',
        args: ['-i', `nflog:${group}`, '-w', '-', '-U', '--immediate-mode', '-s', '0'],
        onStart: () => {
          stream = new NflogPcapStream();
        },
        onData: (chunk) => {
          const now = this.#now();
          for (const rec of stream.push(chunk)) {
            this.#d.metrics.logsReceived.inc(label);
            if (!table.onPacketLog(rec, now)) this.#d.metrics.parseErrors.inc(label);
          }
        },
        onExit,
        clock: this.#clock,
      });
    });
    let partial = '';
    readers.push(
      new SupervisedProcess({
        command: this.#d.conntrack ?? 'conntrack',
        args: ['-E', '-e', 'DESTROY', '-o', 'extended,id'],
        onStart: () => {
          partial = '';
        },
        onData: (chunk) => {
          const lines = (partial + chunk.toString('utf8')).split('\n');
          partial = (lines.pop() ?? '').slice(-4096);
          const now = this.#now();
          for (const l of lines) {
            const e = parseConntrackLine(l);
            if (e !== undefined) table.onConntrack(e, now);
          }
        },
        onExit,
        clock: this.#clock,
      }),
    );
    const r: Running = {
      table,
      readers,
      sender: this.#sender(s.server),
      timer: undefined,
      intervalStartMs: this.#now(),
      accounting: false,
      flushing: Promise.resolve(),
      listing: undefined,
    };
    this.#run = r;
    for (const p of readers) p.start();
    void this.#enableAccounting(r);
    this.#schedule(r, s.flushMs);
    this.#d.log.info('flow logs on: collector started', { ...s });
  }

  #schedule(r: Running, ms: number): void {
    this.#clock.clearTimeout(r.timer);
    r.timer = this.#clock.setTimeout(
      () => {
        r.timer = undefined;
        const tick = this.#now();
        void this.flush().finally(() => {
          if (this.#run !== r || r.timer !== undefined || this.#settings === undefined) return;
          // A steady cadence: the time the flush took comes off the wait for the next one.
          const took = Math.max(0, this.#now() - tick);
          this.#schedule(r, Math.max(MIN_FLUSH_GAP_MS, this.#settings.flushMs - took));
        });
      },
      ms,
      { unref: true },
    );
  }

  async #enableAccounting(r: Running): Promise<void> {
    try {
      const res = await this.#d.runner.run('sysctl', ['-q', '-w', 'net.netfilter.nf_conntrack_acct=1']);
      r.accounting = res.code === 0;
      if (!r.accounting)
        this.#d.log.warn('flow logs: cannot turn on conntrack accounting yet; retrying at the next flush', {
          stderr: res.stderr.trim(),
        });
    } catch (e) {
      this.#d.log.warn('flow logs: cannot turn on conntrack accounting', { error: errorMessage(e) });
    }
  }

  async #flush(r: Running): Promise<void> {
    if (this.#run !== r) return;
    if (!r.accounting) await this.#enableAccounting(r);
    const now = this.#now();
    const records = r.table.flush(now);
    const flows = this.#flows(records, r.intervalStartMs, now);
    r.intervalStartMs = now;
    for (const rec of records)
      this.#d.metrics.aggregatesFlushed.inc({ groupNum: String(nflogGroup(rec.direction)) });
    r.sender.push(flows);
    // The listing for the next flush (counters, ends whose DESTROY was missed); at most one at a time.
    r.listing ??= this.#list(r).finally(() => {
      r.listing = undefined;
    });
    this.#flushes++;
    this.#reported += flows.length;
    const dropped = r.sender.stats().dropped;
    if (dropped > this.#droppedWarned) {
      this.#d.log.warn('flow logs: Goldmane queue full; flows dropped', { dropped });
      this.#droppedWarned = dropped;
    }
  }

  /** One `conntrack -L`: live counters, and the end of connections whose DESTROY event was missed. */
  async #list(r: Running): Promise<void> {
    const listedAt = this.#now();
    try {
      const res = await this.#d.runner.run(this.#d.conntrack ?? 'conntrack', ['-L', '-o', 'extended,id'], {
        timeoutMs: 30_000,
      });
      if (res.code !== 0 || this.#run !== r) return;
      const entries = res.stdout.split('\n').flatMap((l) => parseConntrackLine(l) ?? []);
      r.table.onConntrackSnapshot(entries, listedAt, this.#now());
    } catch (e) {
      this.#d.log.warn('flow logs: conntrack -L failed', { error: errorMessage(e) });
    }
  }

  #flows(records: readonly FlowRecord[], startMs: number, endMs: number): Flow[] {
    if (records.length === 0) return [];
    const views = this.#model.views();
    const pending = this.#settings?.pending ?? false;
    // Connections of one flush that the evaluator cannot tell apart share one evaluation.
    const decided = new Map<string, PolicyHit[]>();
    const traced = new Map<string, PolicyHit[]>();
    const ctx: FlowKeyContext = {
      lookup: (a) => views.endpoints.lookup(a),
      enforced: (rec) => {
        // Connections of one endpoint and direction that walked the same rules share one trace.
        const ip = rec.direction === 'egress' ? rec.tuple.src : rec.tuple.dst;
        const k = `${rec.direction} ${ip} ${rec.prefixes.map(prefixId).join(',')}`;
        let hits = traced.get(k);
        if (hits === undefined) {
          hits = traceFromNflog(rec.prefixes, this.#dataplane.traceContext(ip, rec.direction));
          traced.set(k, hits);
        }
        return hits;
      },
      pending: (rec) => (pending ? this.#pendingOnce(views, rec, decided) : []),
    };
    return aggregateFlows(records, ctx, Math.floor(startMs / 1000), Math.floor(endMs / 1000));
  }

  /**
   * A connection's pending trace, evaluated once, when it is first reported, and kept until it completes: a
   * connection reported again in a later interval (its end, its counts) keeps the pending verdict of the
   * policies it met, beside the enforced trace the kernel logged then, instead of one from policies applied
   * since. Bounded: the cache is dropped whole if connections that never complete fill it.
   */
  #pendingOnce(views: ModelViews, rec: FlowRecord, decided: Map<string, PolicyHit[]>): PolicyHit[] {
    const t = rec.tuple;
    const k = `${rec.direction} ${t.protocol} ${t.src} ${t.srcPort} ${t.dst} ${t.dstPort}`;
    let hits = this.#pendingByConnection.get(k);
    if (hits === undefined) {
      if (this.#pendingByConnection.size >= PENDING_CACHE_MAX) this.#pendingByConnection.clear();
      const alike = views.sourcePorts ? k : `${rec.direction} ${t.protocol} ${t.src} ${t.dst} ${t.dstPort}`;
      hits = decided.get(alike);
      if (hits === undefined) {
        hits = pendingTrace(views, rec);
        decided.set(alike, hits);
      }
      this.#pendingByConnection.set(k, hits);
    }
    if (rec.completed) this.#pendingByConnection.delete(k);
    return hits;
  }

  async #stopRunning(): Promise<void> {
    const r = this.#run;
    if (r === undefined) return;
    this.#run = undefined;
    this.#clock.clearTimeout(r.timer);
    await Promise.all(r.readers.map((p) => p.stop()));
    await r.flushing.catch(() => undefined);
    await r.listing;
    r.sender.close();
    this.#pendingByConnection.clear();
    this.#model.release();
  }
}

const PREFIX_IDS = new WeakMap<NflogPrefix, number>();
let nextPrefixId = 0;

/** A number per prefix object (the dataplane view hands out one object per prefix text). */
function prefixId(p: NflogPrefix): number {
  let id = PREFIX_IDS.get(p);
  if (id === undefined) {
    id = nextPrefixId++;
    PREFIX_IDS.set(p, id);
  }
  return id;
}

/** The flow evaluated with staged policies as if enforced (Felix's pending rule trace). */
function pendingTrace(views: ModelViews, r: FlowRecord): PolicyHit[] {
  const src = parseIp(r.tuple.src);
  const dst = parseIp(r.tuple.dst);
  if (src === undefined || dst === undefined) return [];
  const decision = views.evaluator.decide({
    src: { ip: src, port: r.tuple.srcPort },
    dst: { ip: dst, port: r.tuple.dstPort },
    protocol: r.tuple.protocol,
  });
  return tracesFromDecision(decision, r.direction).pending;
}
