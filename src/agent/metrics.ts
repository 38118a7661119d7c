/**
 * Felix's Prometheus metrics (reference §6.1) on an injected registry, and the health endpoints
 * (`/liveness`, `/readiness` on 9099; readiness turns true only after the first apply following InSync).
 * Nothing registers at import time.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { Counter, Gauge, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import type { CalcStats } from '../calc/graph.js';
import type { NftTableStats } from '../dataplane/nftables/table.js';

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly gauges: Record<string, Gauge>;
  readonly applyTime: Summary;
  readonly applyFailures: Counter;
  readonly calcUpdateTime: Summary;
  readonly updatesProcessed: Counter<'type'>;
  readonly initialResync: Gauge;
  readonly resyncState: Gauge;
  private readonly nftCalls: Counter;
  private readonly nftErrors: Counter;
  private lastNft = { calls: 0, errors: 0 };

  constructor(hostname: string) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers: [r] });
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
    this.applyFailures = new Counter({
      name: 'felix_int_dataplane_failures',
      help: 'Number of times dataplane updates failed and will be retried.',
      registers: [r],
    });
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
    this.initialResync = new Gauge({
      name: 'felix_int_dataplane_initial_resync_time_seconds',
      help: 'Time in seconds for the first dataplane sync.',
      registers: [r],
    });
    this.nftCalls = new Counter({
      name: 'felix_nft_calls',
      help: 'Number of nft transactions and listings run.',
      registers: [r],
    });
    this.nftErrors = new Counter({
      name: 'felix_nft_errors',
      help: 'Number of nft calls that failed.',
      registers: [r],
    });
    this.resyncState = new Gauge({
      name: 'felix_resync_state',
      help: 'Current datastore sync state (1 wait, 2 resync, 3 in sync).',
      registers: [r],
    });
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
}

export interface HealthState {
  live(): boolean;
  ready(): boolean;
  /** The body of a not-ready answer: why (one reason per line). */
  readinessDetail?(): string;
}

function listen(server: Server, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function startHealthServer(host: string, port: number, state: HealthState): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const ok = path === '/liveness' ? state.live() : path === '/readiness' ? state.ready() : undefined;
    if (ok === undefined) {
      res.writeHead(404).end();
      return;
    }
    const detail = !ok && path === '/readiness' ? (state.readinessDetail?.() ?? '') : '';
    if (detail === '') res.writeHead(ok ? 204 : 503).end();
    else res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${detail}\n`);
  });
  return listen(server, host, port);
}

export function startMetricsServer(host: string, port: number, metrics: AgentMetrics): Promise<Server> {
  const server = createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  });
  return listen(server, host, port);
}
