#!/usr/bin/env node
/**
 * calico-node: the per-node agent (Felix), composition root.
 *
 *   datastore ──syncer──► CalcGraph ──messages──► DataplaneLoop ──► managers ──► NftTable (nft)
 *                                    ▲                           (dataplane/create.ts) └──► ip route, VXLAN, sysctl
 *                                    └── replay() on a dataplane failure (full resync; exit 1 if it keeps failing)
 *            └─syncer──► BgpController ──► BirdReloader ──► BIRD   (networking backend `bird`)
 *   status.json / endpoint-status files, Prometheus metrics (9091), health (9099)
 *   CNI server (cni-server.ts): the `calico` plugin's commands in process, over <runDir>/cni.sock
 *
 * Start order: config, datastore, node startup (node-startup.ts: addresses, Node, default pools, tunnel
 * addresses), metrics/health, dataplane, calc graph, BGP, syncer, CNI server. Shutdown (SIGTERM/SIGINT) in
 * reverse; kernel state stays in place so policy is still enforced while the agent is down.
 *
 * The dataplane's and the CNI server's kernel tools (nft, ip, sysctl, nsenter) start from a small helper
 * process (dataplane/exec/spawner.ts): a process start from the agent itself blocks its event loop for milliseconds.
 */
import type { Server } from 'node:http';
import { CalcGraph } from '../calc/graph.js';
import { SpawnerCommandRunner } from '../dataplane/exec/spawner.js';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { createNftablesDataplane, type NftablesDataplane } from '../dataplane/create.js';
import type { DataplaneLoop } from '../dataplane/loop.js';
import { createSyncer, openBackend } from '../datastore/index.js';
import type { Backend, Syncer } from '../datastore/index.js';
import { errorDetail, errorMessage } from '../lib/errors.js';
import { loadAgentConfig } from './config.js';
import type { AgentConfig } from './config.js';
import { createLogger } from './log.js';
import type { Logger } from './log.js';
import { loopPolicyView, startAgentCniServer } from './cni-server.js';
import { AgentMetrics, startHealthServer, startMetricsServer } from './metrics.js';
import { loadNetworkConfig } from './network-config.js';
import type { NetworkConfig } from './network-config.js';
import { startNodeNetworking } from './node-networking.js';
import { StatusWriter } from './status.js';

/** The kinds the agent watches. */
export const AGENT_KINDS = [
  'GlobalNetworkPolicy',
  'NetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'KubernetesNetworkPolicy',
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

export interface Agent extends AsyncDisposable {
  readonly loop: DataplaneLoop;
  readonly graph: CalcGraph;
}

function wireDataplane(
  cfg: AgentConfig,
  net: NetworkConfig,
  log: Logger,
  metrics: AgentMetrics,
  status: StatusWriter,
  state: { inSync: boolean },
  runner: CommandRunner,
  graph: CalcGraph,
  onFatal: (e: Error) => void,
): NftablesDataplane {
  const dp: NftablesDataplane = createNftablesDataplane({
    runner,
    hostname: cfg.nodeName,
    birdProgramsNoEncap: net.backend === 'bird',
    refreshIntervalMs: cfg.refreshIntervalMs,
    resyncSource: () => graph.replay(),
    hooks: {
      onApplied: async ({ revision, durationMs, first }) => {
        metrics.applyTime.observe(durationMs / 1000);
        metrics.updateNft(dp.table.stats());
        if (first) {
          metrics.initialResync.set(durationMs / 1000);
          log.info('dataplane in sync', { revision, ms: Math.round(durationMs) });
        }
        await status.writeEndpoints(dp.workloadEndpoints, revision);
        await status.writeStatus({
          pid: process.pid,
          nodeName: cfg.nodeName,
          inSync: state.inSync,
          dataplaneInSync: dp.loop.dataplaneInSync,
          appliedRevision: revision,
          lastApplyError: null,
          updatedAt: new Date().toISOString(),
        });
      },
      onFailure: (f) => {
        metrics.applyFailures.inc();
        const what = f.next === 'retry' ? 'will retry' : f.next === 'resync' ? 'will resync' : 'giving up';
        log.error(`dataplane ${f.phase} failed; ${what}`, {
          ...(f.manager !== undefined ? { manager: f.manager } : {}),
          consecutive: f.consecutive,
          error: errorDetail(f.error),
        });
        void status
          .writeStatus({
            pid: process.pid,
            nodeName: cfg.nodeName,
            inSync: state.inSync,
            dataplaneInSync: dp.loop.dataplaneInSync,
            appliedRevision: dp.loop.appliedRevision,
            lastApplyError: errorDetail(f.error),
            updatedAt: new Date().toISOString(),
          })
          .catch((err: unknown) => {
            log.error('writing status failed', { error: errorMessage(err) });
          });
      },
      onFatal,
    },
  });
  return dp;
}

async function startServers(
  cfg: AgentConfig,
  metrics: AgentMetrics,
  loop: DataplaneLoop,
  state: { inSync: boolean },
): Promise<Server[]> {
  const servers: Server[] = [];
  if (cfg.healthEnabled) {
    servers.push(
      await startHealthServer(cfg.healthHost, cfg.healthPort, {
        live: () => !loop.status().fatal,
        ready: () => state.inSync && loop.ready,
      }),
    );
  }
  if (cfg.metricsEnabled) servers.push(await startMetricsServer(cfg.metricsHost, cfg.metricsPort, metrics));
  return servers;
}

/**
 * `onFatal`: the dataplane could not be brought back after failing (the kernel keeps its last state); the
 * process should exit non-zero so that its supervisor restarts it. By default it exits at once.
 */
export async function startAgent(
  cfg: AgentConfig,
  log: Logger,
  net: NetworkConfig = loadNetworkConfig(process.env, cfg.runDir),
  onFatal: (e: Error) => void = (e) => {
    log.error('dataplane failed for good; exiting', { error: errorDetail(e) });
    process.exit(1);
  },
): Promise<Agent> {
  const controller = new AbortController();
  const metrics = new AgentMetrics(cfg.nodeName);
  const status = new StatusWriter(cfg.runDir);
  const state = { inSync: false };
  const backend: Backend = await openBackend(cfg.datastore);
  const networking = await startNodeNetworking({
    backend,
    runner: new NodeCommandRunner(),
    log,
    nodeName: cfg.nodeName,
    net,
    env: process.env,
  });
  const runner = new SpawnerCommandRunner();
  const graph = new CalcGraph(cfg.nodeName, { ...cfg.felixEnv, ...net.felixEnv });
  const dataplane = wireDataplane(cfg, net, log, metrics, status, state, runner, graph, onFatal);
  const loop = dataplane.loop;
  const servers = await startServers(cfg, metrics, loop, state);
  const syncer: Syncer = createSyncer(
    backend,
    {
      kinds: AGENT_KINDS,
      onError: (e) => {
        log.warn('datastore sync problem; retrying', { error: errorMessage(e) });
      },
    },
    {
      onStatusUpdated: (s) => {
        metrics.resyncState.set(s === 'WaitForDatastore' ? 1 : s === 'ResyncInProgress' ? 2 : 3);
        if (s === 'InSync' && !state.inSync) {
          state.inSync = true;
          graph.onInSync();
          networking.onInSync();
          log.info('datastore in sync');
        }
        loop.onMessages(graph.flush());
      },
      onUpdates: (updates) => {
        const t0 = performance.now();
        const resourceUpdates = updates.map((u) => ({
          key: u.key,
          value: u.type === 'set' ? u.value : null,
          revision: u.revision,
        }));
        graph.onUpdates(resourceUpdates);
        networking.onUpdates(resourceUpdates);
        for (const u of updates) metrics.updatesProcessed.inc({ type: u.key.kind });
        const msgs = graph.flush();
        metrics.calcUpdateTime.observe((performance.now() - t0) / 1000);
        metrics.updateCalc(graph.stats());
        loop.onMessages(msgs);
      },
    },
  );
  loop.start(controller.signal);
  syncer.start();
  const cniServer = await startAgentCniServer(
    process.env,
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
  log.info('calico-node started', {
    node: cfg.nodeName,
    datastore: cfg.datastore.datastoreType,
    runDir: cfg.runDir,
  });
  return {
    loop,
    graph,
    async [Symbol.asyncDispose]() {
      await cniServer?.close();
      await syncer.stop();
      await networking.stop();
      controller.abort();
      await loop.idle().catch(() => undefined);
      await runner.close();
      for (const s of servers)
        await new Promise<void>((r) =>
          s.close(() => {
            r();
          }),
        );
      await backend.close();
    },
  };
}

async function main(): Promise<void> {
  const log = createLogger(process.env.FELIX_LOGSEVERITYSCREEN ?? 'info');
  let cfg: AgentConfig;
  let net: NetworkConfig;
  try {
    cfg = loadAgentConfig(process.env);
    net = loadNetworkConfig(process.env, cfg.runDir);
  } catch (e) {
    log.error('invalid configuration', { error: errorMessage(e) });
    process.exitCode = 2;
    return;
  }
  // The datastore watch and the dataplane timers do not hold the event loop open; the agent runs until a signal.
  const keepAlive = setInterval(() => undefined, 3_600_000);
  let agent: Agent | undefined = undefined;
  const fatal = (e: Error): void => {
    log.error('dataplane cannot be programmed; exiting for the supervisor to restart calico-node', {
      error: errorDetail(e),
    });
    clearInterval(keepAlive);
    const exit = (): never => process.exit(1);
    setTimeout(exit, 10_000).unref();
    void (agent?.[Symbol.asyncDispose]() ?? Promise.resolve()).then(exit, exit);
  };
  agent = await startAgent(cfg, log, net, fatal);
  const started = agent;
  const stop = (sig: string): void => {
    log.info('stopping', { signal: sig });
    clearInterval(keepAlive);
    started[Symbol.asyncDispose]().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error('shutdown failed', { error: errorMessage(e) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => {
    stop('SIGTERM');
  });
  process.once('SIGINT', () => {
    stop('SIGINT');
  });
}

const invokedDirectly = /\/agent\/main\.[jt]s$/.test(process.argv[1] ?? '');
if (invokedDirectly) {
  main().catch((e: unknown) => {
    process.stderr.write(`calico-node: ${errorMessage(e)}\n`);
    process.exit(1);
  });
}
