/**
 * Felix's Prometheus metrics (reference §6.1) that apply to an nftables dataplane, on injected registries,
 * served at `/metrics` (Felix's port 9091). Nothing registers at import time. The runtime collectors are
 * split the way Felix's options split them: `process_*` (prometheusProcessMetricsEnabled) and the Node.js
 * runtime's `nodejs_*`, which stand where Felix's `go_*` stand (prometheusGoMetricsEnabled).
 *
 * Calc graph: felix_active_local_{endpoints,policies,selectors}, felix_cluster_num_{hosts,workload_endpoints,
 * host_endpoints,policies,profiles,tiers}, felix_calc_graph_update_time_seconds, _updates_processed{type},
 * _output_events, felix_resync_state, felix_resyncs_started. Dataplane: felix_int_dataplane_apply_time_seconds,
 * _initial_resync_time_seconds, _messages{type}, _msg_batch_size, _failures (the dataplane stream's),
 * felix_nft_{chains,rules,sets,maps}, felix_nft_calls, felix_nft_errors. Process: felix_host{host},
 * felix_logs_dropped, felix_log_errors. Registered on the same registry by their own modules: DNS policy's
 * felix_dns_* (dns-metrics.ts) and, from the nft counters of the NFLOG rules rendered while flow logs are on,
 * felix_policy_rule_{packets,bytes}_total{tier,kind,namespace,policy,rule_index,rule_direction,action} and
 * felix_policy_denied_{packets,bytes}_total{tier,kind,namespace,policy} (policy-metrics.ts).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { Counter, Gauge, type Metric, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import type { CalcStats } from '../calc/graph.js';
import type { DataplaneMessage } from '../calc/messages.js';
import type { NftTableStats } from '../dataplane/nftables/table.js';
import type { SyncStatus } from '../cni/agent-status.js';
import { listen } from './http.js';

const RESYNC_STATE: Readonly<Record<SyncStatus, number>> = {
  WaitForDatastore: 1,
  ResyncInProgress: 2,
  InSync: 3,
};

export class AgentMetrics {
  readonly registry = new Registry();
  /** process_* (prometheusProcessMetricsEnabled). */
  readonly processRegistry = new Registry();
  /** nodejs_* (prometheusGoMetricsEnabled: the runtime's own metrics). */
  readonly runtimeRegistry = new Registry();
  readonly applyTime: Summary;
  readonly applyFailures: Counter;
  readonly calcUpdateTime: Summary;
  readonly updatesProcessed: Counter<'type'>;
  readonly initialResync: Gauge;
  readonly logErrors: Counter;
  private readonly gauges: Record<string, Gauge>;
  private readonly resyncState: Gauge;
  private readonly resyncsStarted: Counter;
  private readonly outputEvents: Counter;
  private readonly dataplaneMessages: Counter<'type'>;
  private readonly batchSize: Summary;
  private readonly nftCalls: Counter;
  private readonly nftErrors: Counter;
  private lastNft = { calls: 0, errors: 0 };

  constructor(hostname: string) {
    const r = this.registry;
    this.splitRuntimeMetrics();
    const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers: [r] });
    const counter = (name: string, help: string): Counter => new Counter({ name, help, registers: [r] });
    this.gauges = {
      localEndpoints: gauge('felix_active_local_endpoints', 'Number of active endpoints on this host.'),
      localPolicies: gauge('felix_active_local_policies', 'Number of active policies on this host.'),
      localSelectors: gauge('felix_active_local_selectors', 'Number of active selectors on this host.'),
      hosts: gauge('felix_cluster_num_hosts', 'Total number of Calico hosts in the cluster.'),
      weps: gauge('felix_cluster_num_workload_endpoints', 'Total number of workload endpoints cluster-wide.'),
      heps: gauge('felix_cluster_num_host_endpoints', 'Total number of host endpoints cluster-wide.'),
      policies: gauge('felix_cluster_num_policies', 'Total number of policies in the cluster.'),
      profiles: gauge('felix_cluster_num_profiles', 'Total number of profiles in the cluster.'),
      tiers: gauge('felix_cluster_num_tiers', 'Total number of tiers in the cluster.'),
      nftChains: gauge('felix_nft_chains', 'Number of active nftables chains.'),
      nftRules: gauge('felix_nft_rules', 'Number of active nftables rules.'),
      nftSets: gauge('felix_nft_sets', 'Number of active nftables sets.'),
      nftMaps: gauge('felix_nft_maps', 'Number of active nftables maps.'),
    };
    new Gauge({
      name: 'felix_host',
      help: 'Configured Felix hostname (as a label), value fixed to 1.',
      labelNames: ['host'],
      registers: [r],
    }).set({ host: hostname }, 1);
    this.applyTime = new Summary({
      name: 'felix_int_dataplane_apply_time_seconds',
      help: 'Time in seconds for each incremental dataplane apply.',
      registers: [r],
    });
    this.applyFailures = counter(
      'felix_int_dataplane_failures',
      'Number of times dataplane updates failed and will be retried.',
    );
    this.calcUpdateTime = new Summary({
      name: 'felix_calc_graph_update_time_seconds',
      help: 'Seconds to update the calculation graph for each datastore OnUpdate call.',
      registers: [r],
    });
    this.updatesProcessed = new Counter({
      name: 'felix_calc_graph_updates_processed',
      help: 'Number of datastore updates processed by the calculation graph.',
      labelNames: ['type'],
      registers: [r],
    });
    this.outputEvents = counter(
      'felix_calc_graph_output_events',
      'Number of events emitted by the calculation graph.',
    );
    this.initialResync = gauge(
      'felix_int_dataplane_initial_resync_time_seconds',
      'Time in seconds for the first dataplane sync.',
    );
    this.dataplaneMessages = new Counter({
      name: 'felix_int_dataplane_messages',
      help: 'Number of dataplane messages by type.',
      labelNames: ['type'],
      registers: [r],
    });
    this.batchSize = new Summary({
      name: 'felix_int_dataplane_msg_batch_size',
      help: 'Number of messages processed in each batch.',
      registers: [r],
    });
    this.nftCalls = counter('felix_nft_calls', 'Number of nft transactions and listings run.');
    this.nftErrors = counter('felix_nft_errors', 'Number of nft calls that failed.');
    this.resyncState = gauge(
      'felix_resync_state',
      'Current datastore sync state (1 wait, 2 resync, 3 in sync).',
    );
    this.resyncsStarted = counter(
      'felix_resyncs_started',
      'Number of times Felix has started resyncing with the datastore.',
    );
    counter('felix_logs_dropped', 'Number of logs dropped because the output stream was blocked.');
    this.logErrors = counter('felix_log_errors', 'Number of errors encountered while logging.');
  }

  private splitRuntimeMetrics(): void {
    const all = new Registry();
    collectDefaultMetrics({ register: all });
    for (const m of all.getMetricsAsArray()) {
      // getMetricsAsArray returns the collectors themselves.
      const metric = m as unknown as Metric;
      (m.name.startsWith('process_') ? this.processRegistry : this.runtimeRegistry).registerMetric(metric);
    }
  }

  syncStatus(s: SyncStatus, previous: SyncStatus | undefined): void {
    this.resyncState.set(RESYNC_STATE[s]);
    if (s === 'ResyncInProgress' && previous !== 'ResyncInProgress') this.resyncsStarted.inc();
  }

  /** The calc graph's output for one batch, on its way to the dataplane. */
  dataplaneBatch(msgs: readonly DataplaneMessage[]): void {
    if (msgs.length === 0) return;
    this.outputEvents.inc(msgs.length);
    this.batchSize.observe(msgs.length);
    for (const m of msgs) this.dataplaneMessages.inc({ type: m.kind });
  }

  updateCalc(s: CalcStats): void {
    const g = this.gauges;
    g.localEndpoints?.set(s.activeLocalEndpoints);
    g.localPolicies?.set(s.activeLocalPolicies);
    g.localSelectors?.set(s.activeLocalSelectors);
    g.hosts?.set(s.clusterHosts);
    g.weps?.set(s.clusterWorkloadEndpoints);
    g.heps?.set(s.clusterHostEndpoints);
    g.policies?.set(s.clusterPolicies);
    g.profiles?.set(s.clusterProfiles);
    g.tiers?.set(s.clusterTiers);
  }

  updateNft(s: NftTableStats): void {
    const g = this.gauges;
    g.nftChains?.set(s.chains);
    g.nftRules?.set(s.rules);
    g.nftSets?.set(s.sets);
    g.nftMaps?.set(s.maps);
    this.nftCalls.inc(Math.max(0, s.nftCalls - this.lastNft.calls));
    this.nftErrors.inc(Math.max(0, s.nftErrors - this.lastNft.errors));
    this.lastNft = { calls: s.nftCalls, errors: s.nftErrors };
  }

  /** The exposition text, with the runtime collectors the configuration enables. */
  async text(opts: { readonly process: boolean; readonly runtime: boolean }): Promise<string> {
    const regs = [this.registry];
    if (opts.runtime) regs.push(this.runtimeRegistry);
    if (opts.process) regs.push(this.processRegistry);
    return Registry.merge(regs).metrics();
  }
}

export interface MetricsOptions {
  readonly process: () => boolean;
  readonly runtime: () => boolean;
}

export function startMetricsServer(
  host: string,
  port: number,
  metrics: AgentMetrics,
  opts: MetricsOptions,
): Promise<Server> {
  const server = createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    metrics.text({ process: opts.process(), runtime: opts.runtime() }).then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  });
  return listen(server, host, port);
}
