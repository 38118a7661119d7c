#!/usr/bin/env node
/**
 * calico-node: the per-node agent (Felix), composition root. The command line is command.ts (Calico's flags);
 * this file starts the agent.
 *
 *   datastore ──syncer──► CalcGraph ──messages──► DataplaneLoop ──► managers ──► NftTable (nft)
 *                                    ▲  │                     (dataplane/create.ts) └──► ip route, VXLAN, sysctl
 *                                    │  └─configUpdate──► FelixConfigWatch (log level, servers, refresh, health)
 *                                    └── replay() on a dataplane failure (full resync; exit 1 if it keeps failing)
 *            └─syncer──► BgpController ──► BirdReloader ──► BIRD   (mode `node`, networking backend `bird`)
 *   status.json / endpoint-status files (cni/agent-status.ts), Prometheus metrics (9091), health (9099)
 *   the pod MTU file for the CNI plugin (mtu-file.ts, CALICO_MTU_FILE), from the configuration and the pools
 *   datastore health (datastore-health.ts): held-back invalid resources and reachability -> logs, metrics,
 *   status.json `datastore`, the DatastoreConnection health reporter
 *   CNI server (cni-server.ts): the `calico` plugin's commands in process, over <runDir>/cni.sock
 *   flow logs (flows/runtime.ts): NFLOG and conntrack readers, flows to calico-goldmane when configured
 *
 * Start order: datastore, node startup and BGP (mode `node`), dataplane, health and metrics servers, calc
 * graph and syncer, CNI server. Each step registers its undo as soon as it succeeded, so a step that fails
 * releases everything opened before it, in reverse; shutdown (SIGTERM/SIGINT) does the same. Kernel state
 * stays in place so policy is still enforced while the agent is down.
 *
 * The dataplane's and the CNI server's kernel tools (nft, ip, sysctl, nsenter) start from a small helper
 * process (dataplane/exec/spawner.ts): a process start from the agent itself blocks its event loop for milliseconds.
 */
import { realpathSync } from 'node:fs';
import { CalcGraph } from '../calc/graph.js';
import { AgentStatusWriter } from '../cni/agent-status.js';
import { SpawnerCommandRunner } from '../dataplane/exec/spawner.js';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { createNftablesDataplane, type NftablesDataplane } from '../dataplane/create.js';
import { IpLinkMonitor } from '../dataplane/exec/link-monitor.js';
import { createSyncer, openBackend } from '../datastore/index.js';
import type { Backend } from '../datastore/index.js';
import { realClock } from '../lib/async.js';
import { AsyncDisposableStore } from '../lib/disposable.js';
import { errorDetail, errorMessage } from '../lib/errors.js';
import { isMainModule } from '../lib/main-module.js';
import { buildInfo } from '../sys/build-info.js';
import { suppressIpServernameWarning } from '../lib/warnings.js';
import type { Agent, StartOptions } from './agent.js';
import { runCalicoNode } from './command.js';
import { type AgentConfig, configInputs } from './config.js';
import { loopPolicyView, startAgentCniServer } from './cni-server.js';
import { FelixConfigWatch, MIN_WATCHDOG_MS, REPORTER } from './felix-config-watch.js';
import { HealthAggregator } from './health.js';
import type { AgentLogger } from './log.js';
import { AgentMetrics } from './metrics.js';
import { DnsPolicyMetrics } from './dns-metrics.js';
import { PolicyMetrics } from './policy-metrics.js';
import { PolicyCounterReader } from '../dataplane/managers/policy-counters.js';
import { DnsPolicyRuntime } from './dns-policy.js';
import { KubeServiceResolver } from './dns-k8s-service.js';
import { FlowLogsMetrics } from './flows/metrics.js';
import { FlowLogsRuntime } from './flows/runtime.js';
import { KubeTransport } from '../datastore/kubernetes/transport.js';
import { MtuFileWriter } from './mtu-file.js';
import { loadNetworkConfig, type NetworkConfig } from './network-config.js';
import { type NodeNetworking, startNodeNetworking } from './node-networking.js';
import { DatastoreHealth } from './datastore-health.js';
import { AgentReporter } from './reporting.js';
import { AgentServers } from './servers.js';
import { loadStartupConfig } from './startup-config.js';

/** The kinds the agent watches. */
export const AGENT_KINDS = [
  'GlobalNetworkPolicy',
  'NetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'KubernetesNetworkPolicy',
  'AdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
  'ClusterNetworkPolicy',
  'Tier',
  'Profile',
  'Namespace',
  'ServiceAccount',
  'Pod',
  'WorkloadEndpoint',
  'HostEndpoint',
  'NetworkSet',
  'GlobalNetworkSet',
  'FelixConfiguration',
  // Cluster networking (routes, VTEPs, natOutgoing) and BGP.
  'Node',
  'IPPool',
  'IPAMBlock',
  'BlockAffinity',
  'BGPConfiguration',
  'BGPPeer',
  'BGPFilter',
] as const;

/** Felix's health interval: reporters report at least this often. */
const HEALTH_INTERVAL_MS = 10_000;
/** Felix's CalculationGraph reporter timeout. */
const CALC_GRAPH_TIMEOUT_MS = 30_000;

function wireDataplane(
  cfg: AgentConfig,
  net: NetworkConfig,
  reporter: AgentReporter,
  metrics: AgentMetrics,
  runner: CommandRunner,
  graph: CalcGraph,
  onFatal: (e: Error) => void,
  log: AgentLogger,
): NftablesDataplane {
  const dp: NftablesDataplane = createNftablesDataplane({
    runner,
    // Routes that wait for a workload interface are retried as soon as links change.
    kernelEvents: new IpLinkMonitor({
      onExit: (e) => {
        log.warn('link monitor (ip monitor link) ended; restarting', {
          code: e.code,
          signal: e.signal,
          ...(e.error !== undefined ? { error: errorMessage(e.error) } : {}),
          stderr: e.stderr,
          retryMs: e.retryMs,
        });
      },
    }),
    hostname: cfg.nodeName,
    birdProgramsNoEncap: net.backend === 'bird',
    refreshIntervalMs: cfg.initial.nftablesRefreshInterval,
    resyncSource: () => graph.replay(),
    warn: (msg, fields) => {
      log.warn(msg, fields);
    },
    hooks: {
      onApplied: async (info) => {
        metrics.applyTime.observe(info.durationMs / 1000);
        metrics.updateNft(dp.table.stats());
        if (info.first) metrics.initialResync.set(info.durationMs / 1000);
        await reporter.applied(info, dp.table.stats(), dp.workloadEndpoints.values());
      },
      onFailure: (f) => {
        metrics.applyFailures.inc();
        reporter.failed(f);
      },
      onFatal,
    },
  });
  return dp;
}

export async function startAgent(cfg: AgentConfig, opts: StartOptions): Promise<Agent> {
  const { log } = opts;
  const env = opts.env ?? process.env;
  const clock = opts.clock ?? realClock;
  const net = opts.net ?? loadNetworkConfig(env, cfg.runDir);
  const onFatal =
    opts.onFatal ??
    ((e: Error): void => {
      log.error('dataplane cannot be programmed; exiting for the supervisor to restart calico-node', {
        error: errorDetail(e),
      });
      process.exit(1);
    });
  await using store = new AsyncDisposableStore();
  const metrics = new AgentMetrics(cfg.nodeName);
  const health = new HealthAggregator({ log, clock });
  health.register(REPORTER.startup, { live: true, ready: true }, 0);
  health.register(REPORTER.calcGraph, { live: true, ready: true }, CALC_GRAPH_TIMEOUT_MS);
  health.register(REPORTER.dataplane, { live: true, ready: true }, MIN_WATCHDOG_MS);
  const reporter = new AgentReporter({
    nodeName: cfg.nodeName,
    status: new AgentStatusWriter(cfg.runDir),
    log,
    health,
  });
  // Bad stored values held back by the syncer, and datastore reachability: logs, metrics, status, readiness.
  health.register(REPORTER.datastore, { live: false, ready: true }, 0);
  const datastoreHealth = new DatastoreHealth({
    log,
    registry: metrics.registry,
    onChange: () => {
      const problems = datastoreHealth.readinessProblems();
      health.report(REPORTER.datastore, {
        live: true,
        ready: problems.length === 0,
        ...(problems.length > 0 ? { detail: problems.join('; ') } : {}),
      });
      reporter.datastoreChanged();
    },
  });
  reporter.datastore = () => datastoreHealth.status();
  if (cfg.unknownEnv.length > 0)
    log.warn('Ignoring unknown Felix environment variables', { names: cfg.unknownEnv });

  const backend: Backend = store.add(await openBackend(cfg.datastore), (b) => b.close());
  let networking: NodeNetworking | undefined;
  if (opts.mode !== 'felix') {
    const n = await startNodeNetworking({
      backend,
      runner: new NodeCommandRunner(),
      log,
      nodeName: cfg.nodeName,
      net,
      startup: opts.startup ?? loadStartupConfig(env, { name: cfg.nodeName, source: cfg.nodeNameSource }),
      nodenameFile: cfg.nodenameFile,
      calicoVersion: buildInfo().version,
    });
    networking = store.add(n, (x) => x.stop());
  }
  const runner = store.add(new SpawnerCommandRunner(), (r) => r.close());
  const graph = new CalcGraph(cfg.nodeName, configInputs(cfg));
  const dataplane = wireDataplane(cfg, net, reporter, metrics, runner, graph, onFatal, log);
  const loop = dataplane.loop;
  reporter.attach(loop);
  const policyMetrics = new PolicyMetrics(metrics.registry, { log });
  policyMetrics.attach(new PolicyCounterReader({ source: dataplane.table, clock }));
  const controller = new AbortController();
  store.defer(async () => {
    controller.abort();
    await loop.idle().catch(() => undefined);
  });
  const servers = store.add(new AgentServers({ health, metrics, log, clock }), (s) =>
    s[Symbol.asyncDispose](),
  );
  const watch = new FelixConfigWatch(cfg.initial, { log, servers, health, loop });
  await servers.start(cfg.initial);
  const mtuFile = store.add(new MtuFileWriter({ path: cfg.mtuFile, runner, log, onFatal }), (w) =>
    w.dispose(),
  );

  // DNS policy: the node-local DNS proxy, learned names and the kernel's domain sets. On the Kubernetes
  // datastore `k8s-service:` trusted servers are read from kube-apiserver.
  const services =
    cfg.datastore.datastoreType === 'kubernetes'
      ? store.add(
          new KubeServiceResolver({
            kube: KubeTransport.open(cfg.datastore.kubeconfig, env),
            log,
            onChange: () => {
              dnsPolicy.refreshServers();
            },
          }),
          (r) => {
            r.stop();
          },
        )
      : undefined;
  const dnsPolicy: DnsPolicyRuntime = store.add(
    new DnsPolicyRuntime({
      log,
      nodeName: cfg.nodeName,
      runDir: cfg.runDir,
      writer: dataplane.table,
      steering: dataplane.dnsSteering,
      kick: () => {
        loop.kick();
      },
      metrics: new DnsPolicyMetrics(metrics.registry),
      workloads: () => dataplane.workloadEndpoints.values(),
      ...(services !== undefined
        ? { resolveService: (ns: string, name: string) => services.resolve(ns, name) }
        : {}),
    }),
    (d) => d.stop(),
  );
  // Flow logs (flowLogsGoldmaneServer): NFLOG + conntrack readers, flows to calico-goldmane.
  const flowLogs = store.add(
    new FlowLogsRuntime({
      log,
      runner,
      metrics: new FlowLogsMetrics(metrics.registry),
      resolvedNames: dnsPolicy.cache,
    }),
    (f) => f.stop(),
  );
  const deliver = (msgs: ReturnType<CalcGraph['flush']>): void => {
    metrics.dataplaneBatch(msgs);
    watch.onMessages(msgs);
    dnsPolicy.onMessages(msgs);
    policyMetrics.onMessages(msgs);
    flowLogs.onMessages(msgs);
    mtuFile.onMessages(msgs);
    loop.onMessages(msgs);
  };
  let previous: Parameters<AgentMetrics['syncStatus']>[0] | undefined;
  const syncer = createSyncer(
    backend,
    {
      kinds: AGENT_KINDS,
      onError: (e) => {
        reporter.datastoreError(e);
        log.warn('datastore sync problem; retrying', { error: errorMessage(e) });
      },
    },
    {
      onDatastoreEvent: (e) => {
        datastoreHealth.onEvent(e);
      },
      onStatusUpdated: (s) => {
        metrics.syncStatus(s, previous);
        previous = s;
        if (s === 'InSync' && !reporter.inSync) {
          graph.onInSync();
          networking?.onInSync();
          log.info('datastore in sync');
        }
        reporter.syncStatus(s);
        datastoreHealth.onSyncStatus(s);
        deliver(graph.flush());
      },
      onUpdates: (updates) => {
        const t0 = performance.now();
        const resourceUpdates = updates.map((u) => ({
          key: u.key,
          value: u.type === 'set' ? u.value : null,
          revision: u.revision,
        }));
        graph.onUpdates(resourceUpdates);
        networking?.onUpdates(resourceUpdates);
        flowLogs.onUpdates(resourceUpdates);
        for (const u of updates) metrics.updatesProcessed.inc({ type: u.key.kind });
        const msgs = graph.flush();
        const ms = performance.now() - t0;
        metrics.calcUpdateTime.observe(ms / 1000);
        metrics.updateCalc(graph.stats());
        reporter.calcBatch(updates.length, msgs, ms);
        deliver(msgs);
      },
    },
  );
  loop.start(controller.signal);
  store.add(syncer, (s) => s.stop());
  syncer.start();
  const cniServer = await startAgentCniServer(
    env,
    {
      backend,
      datastore: cfg.datastore,
      nodeName: cfg.nodeName,
      runDir: cfg.runDir,
      policy: loopPolicyView(loop, () => dataplane.workloadEndpoints),
      runner,
    },
    log,
  );
  if (cniServer !== undefined) store.add(cniServer, (c) => c.close());
  const tick = (): void => {
    reporter.reportHealth();
    ticker = clock.setTimeout(tick, HEALTH_INTERVAL_MS, { unref: true });
  };
  let ticker = clock.setTimeout(tick, HEALTH_INTERVAL_MS, { unref: true });
  store.defer(() => {
    clock.clearTimeout(ticker);
  });
  health.report(REPORTER.startup, { live: true, ready: true });
  reporter.reportHealth();
  log.info('calico-node started', {
    node: cfg.nodeName,
    mode: opts.mode ?? 'node',
    datastore: cfg.datastore.datastoreType,
    runDir: cfg.runDir,
  });
  const owned = store.move();
  return {
    loop,
    graph,
    servers,
    health,
    [Symbol.asyncDispose]: () => owned[Symbol.asyncDispose](),
  };
}

if (isMainModule(import.meta.url, process.argv[1], realpathSync)) {
  // Before anything may open a TLS connection: stderr is the agent's JSON log stream.
  suppressIpServernameWarning();
  runCalicoNode(process.argv.slice(2), { startAgent }).then(
    (code) => {
      process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(`calico-node: ${errorMessage(e)}\n`);
      process.exit(1);
    },
  );
}
