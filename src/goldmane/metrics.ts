/**
 * Goldmane's Prometheus metrics (reference §6.1, served when PROMETHEUS_PORT is set), on an injected registry:
 * goldmane_aggr_{received_flows_total, dropped_flows_total, num_unique_flows, flow_index_buffer_size,
 * flow_index_batch_size, flow_index_latency_ms, rollover_duration_ms, rollover_latency_ms, backfill_latency_ms},
 * goldmane_collector_{received_flows, flow_process_latency}{source}, goldmane_collector_num_clients,
 * goldmane_num_streams. Ingestion here is synchronous (no channel between the collector and the aggregator),
 * so the index buffer is always 0 and each batch is one flow; the names are kept for dashboards written for
 * Goldmane.
 */
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import type { Aggregator } from './aggregator.js';

export class GoldmaneMetrics {
  readonly registry = new Registry();
  readonly indexLatencyMs: Summary;
  readonly indexBatchSize: Summary;
  readonly rolloverDurationMs: Summary;
  readonly rolloverLatencyMs: Summary;
  readonly backfillLatencyMs: Summary;
  readonly collectorReceived: Counter<'source'>;
  readonly collectorLatency: Histogram<'source'>;
  readonly collectorClients: Gauge;
  readonly streams: Gauge;

  constructor(agg: Aggregator) {
    const registers = [this.registry];
    const summary = (name: string, help: string): Summary =>
      new Summary({ name, help, registers, percentiles: [0.5, 0.9, 0.99] });
    let lastReceived = 0;
    let lastDropped = 0;
    new Counter({
      name: 'goldmane_aggr_received_flows_total',
      help: 'Total number of flows received by Goldmane aggregator.',
      registers,
      collect() {
        this.inc(agg.received - lastReceived);
        lastReceived = agg.received;
      },
    });
    new Counter({
      name: 'goldmane_aggr_dropped_flows_total',
      help: 'Total number of flows dropped by the aggregator.',
      registers,
      collect() {
        this.inc(agg.dropped - lastDropped);
        lastDropped = agg.dropped;
      },
    });
    new Gauge({
      name: 'goldmane_aggr_num_unique_flows',
      help: 'Number of unique flows in the aggregator.',
      registers,
      collect() {
        this.set(agg.size);
      },
    });
    new Gauge({
      name: 'goldmane_aggr_flow_index_buffer_size',
      help: 'Current size of the flow index buffer.',
      registers,
    }).set(0);
    this.indexLatencyMs = summary(
      'goldmane_aggr_flow_index_latency_ms',
      'Summary measuring the time taken to index a flow.',
    );
    this.indexBatchSize = summary(
      'goldmane_aggr_flow_index_batch_size',
      'Measure the number of flows processed in a batch.',
    );
    this.rolloverLatencyMs = summary(
      'goldmane_aggr_rollover_latency_ms',
      'Summary of the time until the next rollover.',
    );
    this.rolloverDurationMs = summary(
      'goldmane_aggr_rollover_duration_ms',
      'Duration of the rollover process.',
    );
    this.backfillLatencyMs = summary(
      'goldmane_aggr_backfill_latency_ms',
      'Summary measuring the time taken to backfill a stream.',
    );
    this.collectorReceived = new Counter({
      name: 'goldmane_collector_received_flows',
      help: 'Total number of flows received by Goldmane aggregator.',
      labelNames: ['source'],
      registers,
    });
    this.collectorLatency = new Histogram({
      name: 'goldmane_collector_flow_process_latency',
      help: 'Histogram measuring the time taken to ingest a flow.',
      labelNames: ['source'],
      registers,
    });
    this.collectorClients = new Gauge({
      name: 'goldmane_collector_num_clients',
      help: 'Number of clients connected to the flow collector.',
      registers,
    });
    this.streams = new Gauge({ name: 'goldmane_num_streams', help: 'Number of active streams.', registers });
  }
}
