/**
 * `felix_dns_*` metrics of DNS policy (docs/design/dns-policy.md), on the agent's registry (port 9091). The
 * proxy's counters are read when Prometheus scrapes; the programming delay is observed per held answer.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DnsProxyStats } from '../dns/stats.js';

export class DnsPolicyMetrics {
  readonly #answers: Counter;
  readonly #delay: Histogram;
  readonly #failures: Counter;
  #stats: () => readonly DnsProxyStats[] = () => [];
  #programmed: () => number = () => 0;

  constructor(registry: Registry) {
    const r = [registry];
    this.#answers = new Counter({
      name: 'felix_dns_answers_seen_total',
      help: 'DNS answers from trusted servers seen by the DNS proxy.',
      registers: r,
    });
    this.#delay = new Histogram({
      name: 'felix_dns_programming_delay_seconds',
      help: 'How long DNS answers were held until the addresses they taught were programmed (DelayDNSResponse).',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    });
    this.#failures = new Counter({
      name: 'felix_dns_programming_failures_total',
      help: 'Batches of learned DNS addresses the kernel refused.',
      registers: r,
    });
    const stats = (): readonly DnsProxyStats[] => this.#stats();
    const programmed = (): number => this.#programmed();
    new Gauge({
      name: 'felix_dns_mappings_programmed',
      help: 'Addresses learned from DNS answers currently programmed in domain sets (over all sets).',
      registers: r,
      collect() {
        this.set(programmed());
      },
    });
    const fromStats = (name: string, help: string, read: (s: DnsProxyStats) => number, labels = {}): void => {
      let last = 0;
      new Counter({
        name,
        help,
        registers: r,
        collect() {
          const v = stats().reduce((n, s) => n + read(s), 0);
          if (v > last) this.inc(labels, v - last);
          last = v;
        },
      });
    };
    fromStats(
      'felix_dns_queries_total',
      'Workload DNS queries received by the DNS proxy.',
      (s) => s.counters.queriesUdp + s.counters.queriesTcp,
    );
    fromStats(
      'felix_dns_parse_errors_total',
      'DNS messages that did not parse (client queries dropped or FORMERR, upstream answers not learned).',
      (s) => s.counters.clientParseErrors + s.counters.upstreamParseErrors,
    );
    fromStats(
      'felix_dns_upstream_failures_total',
      'Queries answered SERVFAIL because the trusted server failed or timed out.',
      (s) => s.counters.upstreamTimeouts + s.counters.upstreamErrors,
    );
  }

  attach(stats: () => readonly DnsProxyStats[], programmed: () => number): void {
    this.#stats = stats;
    this.#programmed = programmed;
  }

  answerSeen(): void {
    this.#answers.inc();
  }

  programmingDelay(seconds: number): void {
    this.#delay.observe(seconds);
  }

  programmingFailed(): void {
    this.#failures.inc();
  }
}
