/**
 * Per-policy and per-rule packet and byte counters on the agent's registry (port 9091), read from the
 * `counter` of every nft rule that logs a policy verdict to NFLOG (rendered only while flow logs are on:
 * `flowLogsGoldmaneServer` set or `flowLogsLocalReporter: Enabled`):
 *
 *   felix_policy_rule_packets_total, felix_policy_rule_bytes_total
 *       {tier, kind, namespace, policy, rule_index, rule_direction, action}
 *   felix_policy_denied_packets_total, felix_policy_denied_bytes_total {tier, kind, namespace, policy}
 *
 * Labels per kind of rule are in policy-metrics-series.ts. What they count: the packets that reached the
 * rule and matched it. Policy chains see only packets of connections that are not yet established (the
 * first packet of an allowed connection, its unanswered retransmissions, and every denied packet), so an
 * allow rule counts new connections (and their first packets' bytes), not traffic volume; a deny counts
 * every dropped packet. The kernel's counters are read when Prometheus scrapes (at most one listing a
 * second, shared by the four metrics); they never go backwards when rules are re-rendered, and the series
 * of a policy or rule that is no longer programmed are dropped.
 */
import { Counter, type Registry } from 'prom-client';
import type { DataplaneMessage } from '../calc/messages.js';
import type { PolicyCounterReader, PolicyCounterReading } from '../dataplane/managers/policy-counters.js';
import { MonotonicTotals, type CountPair } from '../dataplane/managers/policy-counters-totals.js';
import { flowLogsEnabled } from '../dataplane/rules/config.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from './log.js';
import { POLICY_LABELS, PolicySeriesResolver, RULE_LABELS, seriesLabels } from './policy-metrics-series.js';

/** The metric names this module exposes (the Grafana dashboard's test checks its queries against them). */
export const POLICY_METRIC_NAMES = [
  'felix_policy_rule_packets_total',
  'felix_policy_rule_bytes_total',
  'felix_policy_denied_packets_total',
  'felix_policy_denied_bytes_total',
] as const;

const EMPTY: PolicyCounterReading = { at: 0, rules: [] };

export class PolicyMetrics {
  readonly #log: Logger;
  readonly #resolver = new PolicySeriesResolver();
  readonly #totals = new MonotonicTotals();
  readonly #exposed = new Map<string, CountPair>();
  readonly #rulePackets: Counter<(typeof RULE_LABELS)[number]>;
  readonly #ruleBytes: Counter<(typeof RULE_LABELS)[number]>;
  readonly #deniedPackets: Counter<(typeof POLICY_LABELS)[number]>;
  readonly #deniedBytes: Counter<(typeof POLICY_LABELS)[number]>;
  #reader: PolicyCounterReader | undefined;
  #enabled = false;
  #lastReading: PolicyCounterReading | undefined;
  #refreshing: Promise<void> | undefined;
  #failing = false;

  constructor(registry: Registry, o: { readonly log: Logger }) {
    this.#log = o.log;
    const refresh = (): Promise<void> => this.#refresh();
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
      new Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          await refresh();
        },
      });
    this.#rulePackets = counter(
      'felix_policy_rule_packets_total',
      'Packets that matched a policy or profile rule (or fell to the end of a tier): first packets of new connections and every denied packet.',
      RULE_LABELS,
    );
    this.#ruleBytes = counter(
      'felix_policy_rule_bytes_total',
      'Bytes of the packets counted by felix_policy_rule_packets_total.',
      RULE_LABELS,
    );
    this.#deniedPackets = counter(
      'felix_policy_denied_packets_total',
      'Packets denied by a policy or profile (its deny rules, or the end of a tier or of the profiles).',
      POLICY_LABELS,
    );
    this.#deniedBytes = counter(
      'felix_policy_denied_bytes_total',
      'Bytes of the packets counted by felix_policy_denied_packets_total.',
      POLICY_LABELS,
    );
  }

  /** The kernel's counters, once the dataplane exists. */
  attach(reader: PolicyCounterReader): void {
    this.#reader = reader;
  }

  /** The calc graph's output: active policies and profiles (labels, hashed prefixes) and the configuration. */
  onMessages(msgs: readonly DataplaneMessage[]): void {
    this.#resolver.onMessages(msgs);
    for (const m of msgs) if (m.kind === 'configUpdate') this.#enabled = flowLogsEnabled(m.config);
  }

  /** Counted rules whose prefix named no active policy (or was not Calico's), cumulative. */
  get unresolved(): number {
    return this.#resolver.unresolved;
  }

  #refresh(): Promise<void> {
    this.#refreshing ??= this.#update().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #update(): Promise<void> {
    let reading = EMPTY;
    if (this.#enabled && this.#reader !== undefined) {
      try {
        reading = await this.#reader.read();
        if (this.#failing) this.#log.info('policy counters readable again');
        this.#failing = false;
      } catch (e) {
        // Keep what was exposed; say so once per run of failures.
        if (!this.#failing)
          this.#log.warn('cannot read policy counters from nftables', { error: errorMessage(e) });
        this.#failing = true;
        return;
      }
    }
    if (reading === this.#lastReading) return;
    this.#lastReading = reading;
    const { totals, removed } = this.#totals.update(this.#resolver.samples(reading.rules));
    for (const key of removed) {
      const s = seriesLabels(key);
      if (s.kind === 'rule') {
        this.#rulePackets.remove(s.labels);
        this.#ruleBytes.remove(s.labels);
      } else {
        this.#deniedPackets.remove(s.labels);
        this.#deniedBytes.remove(s.labels);
      }
      this.#exposed.delete(key);
    }
    for (const [key, t] of totals) {
      const was = this.#exposed.get(key) ?? { packets: 0, bytes: 0 };
      const s = seriesLabels(key);
      const packets = t.packets - was.packets;
      const bytes = t.bytes - was.bytes;
      if (s.kind === 'rule') {
        this.#rulePackets.inc(s.labels, packets);
        this.#ruleBytes.inc(s.labels, bytes);
      } else {
        this.#deniedPackets.inc(s.labels, packets);
        this.#deniedBytes.inc(s.labels, bytes);
      }
      this.#exposed.set(key, t);
    }
  }
}
