/**
 * The flow collector's metrics on the agent's registry (port 9091), named as Felix's NFLOG reader and
 * collector name theirs (felix/nfnetlink/nflog_linux.go, felix/collector/collector.go): per NFLOG group the
 * logs received, the prefixes that could not be read and the per-connection aggregates flushed; the number
 * of connections the collector tracks.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export class FlowLogsMetrics {
  readonly logsReceived: Counter<'groupNum'>;
  readonly parseErrors: Counter<'groupNum'>;
  readonly aggregatesFlushed: Counter<'groupNum'>;
  #tracked: () => number = () => 0;

  constructor(registry: Registry) {
    const registers = [registry];
    this.logsReceived = new Counter({
      name: 'felix_nflog_logs_received',
      help: 'Total number of individual NFLOG messages received broken down by group.',
      labelNames: ['groupNum'],
      registers,
    });
    this.parseErrors = new Counter({
      name: 'felix_nflog_parse_errors',
      help: 'Total number of errors encountered when parsing NFLOG messages.',
      labelNames: ['groupNum'],
      registers,
    });
    this.aggregatesFlushed = new Counter({
      name: 'felix_nflog_aggregates_flushed',
      help: 'Total number of NFLOG aggregates flushed to the flow logs collector.',
      labelNames: ['groupNum'],
      registers,
    });
    const tracked = (): number => this.#tracked();
    new Gauge({
      name: 'felix_collector_epstats',
      help: 'Total number of entries currently residing in the endpoint statistics cache.',
      registers,
      collect() {
        this.set(tracked());
      },
    });
  }

  /** Where the tracked-connection count is read at scrape time. */
  attach(tracked: () => number): void {
    this.#tracked = tracked;
  }
}
