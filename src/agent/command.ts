/**
 * calico-node's command line (node/cmd/calico-node/main.go). Flags are parsed and the configuration read and
 * validated before anything touches the host: `-h`, `-v`, a probe or a bad flag opens no datastore and
 * creates no file, table or route.
 *
 *   (no flag)                     calico-ts: the whole node, as the calico/node container runs it (startup,
 *                                 then Felix and BIRD/confd) — Calico's binary prints its usage instead
 *   -felix                        Felix only (policy dataplane, status files, health, metrics, CNI server)
 *   -startup                      the start-up routine once (addresses, Node, default pools, tunnel addresses)
 *   -allocate-tunnel-addrs -allocate-tunnel-addrs-run-once   the tunnel addresses once
 *   -felix-live, -felix-ready, -bird-live, -bird-ready, -bird6-live, -bird6-ready [-threshold-time D]
 *                                 the probes (probes.ts); exit 0 or print why not and exit 1
 *   -v                            version
 *
 * The long-running modes take the network namespace first (instance-guard.ts): a second agent in the same
 * namespace exits 1 naming the first one's pid, before it touches anything.
 *
 * Calico's other flags are recognised and answered "not supported by calico-ts" (exit 1); flags that only
 * modify another (`-threshold-time`, `-best-effort`, `-confd-*`, ...) given alone get Calico's "No valid
 * options provided" and the usage. Exit codes: 0 done, 1 failure or bad flag (Go's flag package), 2 invalid
 * configuration.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { type Backend, openBackend } from '../datastore/index.js';
import { errorMessage } from '../lib/errors.js';
import { buildInfo } from '../sys/build-info.js';
import { type AgentConfig, loadAgentConfig } from './config.js';
import {
  type CalicoNodeFlag,
  type FlagValues,
  flagSet,
  parseFlags,
  thresholdMs,
  usageText,
} from './flags.js';
import { type AgentLogger, createLogger } from './log.js';
import type { Agent, StartOptions } from './agent.js';
import { loadNetworkConfig, type NetworkConfig } from './network-config.js';
import { runNodeStartup } from './node-startup.js';
import { acquireInstanceGuard, type InstanceGuard } from './instance-guard.js';
import { anyProbe, runProbes } from './probes.js';
import { loadStartupConfig, type StartupConfig } from './startup-config.js';
import { reconcileTunnelAddresses } from './tunnel-address.js';

export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface CommandDeps {
  readonly startAgent: (cfg: AgentConfig, opts: StartOptions) => Promise<Agent>;
  readonly io?: CommandIo;
  /** Resolves when the agent should stop (default: SIGTERM or SIGINT). */
  readonly stopSignal?: () => Promise<string>;
}

const PROCESS_IO: CommandIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
};

/** Only one of these at a time (Calico's "onlyOne" list). */
const EXCLUSIVE: readonly CalicoNodeFlag[] = ['v', 'felix', 'startup', 'confd', 'monitor-addresses'];

const UNSUPPORTED: readonly CalicoNodeFlag[] = [
  'bpf',
  'init',
  'shutdown',
  'monitor-addresses',
  'monitor-token',
  'complete-startup',
  'hostpath-init',
  'status-reporter',
  'show-status',
  'confd',
];

/** buildinfo.PrintVersion's three lines. */
export function versionText(): string {
  const info = buildInfo();
  const built = new Date(statSync(fileURLToPath(import.meta.url)).mtimeMs).toISOString();
  return `Version:      ${info.version}\nBuild date:   ${built}\nGit commit:   ${info.gitCommit}\n`;
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        resolve(sig);
      });
    }
  });
}

/** Returns the exit code; for the long-running modes, once the agent has stopped. */
export async function runCalicoNode(argv: readonly string[], deps: CommandDeps): Promise<number> {
  const io = deps.io ?? PROCESS_IO;
  const parsed = parseFlags(argv);
  if (parsed.kind === 'help') {
    io.err(parsed.usage);
    io.out('flag: help requested\n');
    return 1;
  }
  if (parsed.kind === 'error') {
    io.err(`${parsed.error}\n${parsed.usage}`);
    io.out(`${parsed.error}\n`);
    return 1;
  }
  const v = parsed.values;
  if (parsed.args.length > 0) {
    io.out(`unexpected argument ${JSON.stringify(parsed.args[0])}\n`);
    return 1;
  }
  if (EXCLUSIVE.filter((f) => flagSet(v, f)).length > 1) {
    io.out('More than one incompatible argument provided\n');
    return 1;
  }
  const probes = {
    felixLive: flagSet(v, 'felix-live'),
    felixReady: flagSet(v, 'felix-ready'),
    birdLive: flagSet(v, 'bird-live'),
    bird6Live: flagSet(v, 'bird6-live'),
    birdReady: flagSet(v, 'bird-ready'),
    bird6Ready: flagSet(v, 'bird6-ready'),
    thresholdMs: thresholdMs(v),
  };
  if (anyProbe(probes)) {
    const failure = await runProbes(probes, io.env);
    if (failure === undefined) return 0;
    io.out(`${failure}\n`);
    return 1;
  }
  if (flagSet(v, 'v')) {
    io.out(versionText());
    return 0;
  }
  const continuousTunnels =
    flagSet(v, 'allocate-tunnel-addrs') && !flagSet(v, 'allocate-tunnel-addrs-run-once');
  const unsupported =
    UNSUPPORTED.find((f) => flagSet(v, f)) ??
    (v.flows !== undefined && v.flows !== '0'
      ? 'flows'
      : continuousTunnels
        ? 'allocate-tunnel-addrs'
        : undefined);
  if (unsupported !== undefined) {
    io.out(`calico-node: -${unsupported} is not supported by calico-ts\n`);
    return 1;
  }
  const action = flagSet(v, 'felix') || flagSet(v, 'startup') || flagSet(v, 'allocate-tunnel-addrs');
  if (!action && Object.keys(v).length > 0) {
    io.out(`No valid options provided. Usage:\n${usageText().replace(/^Usage of Calico:\n/, '')}`);
    return 1;
  }
  return runAgentMode(v, deps, io);
}

/** Whether the mode runs calico-node's start-up routine (and so needs its variables). */
function runsStartup(v: FlagValues): boolean {
  return !flagSet(v, 'felix') && !flagSet(v, 'allocate-tunnel-addrs');
}

async function runAgentMode(v: FlagValues, deps: CommandDeps, io: CommandIo): Promise<number> {
  const log = createLogger(io.env.FELIX_LOGSEVERITYSCREEN ?? 'info', io.err);
  let cfg: AgentConfig;
  let net: NetworkConfig;
  let startup: StartupConfig | undefined;
  try {
    cfg = loadAgentConfig(io.env);
    net = loadNetworkConfig(io.env, cfg.runDir);
    if (runsStartup(v))
      startup = loadStartupConfig(io.env, { name: cfg.nodeName, source: cfg.nodeNameSource });
  } catch (e) {
    log.error('invalid configuration', { error: errorMessage(e) });
    return 2;
  }
  log.setLevel(cfg.initial.logSeverityScreen);
  if (flagSet(v, 'startup') && startup !== undefined) return runStartupOnce(cfg, net, startup, log);
  if (flagSet(v, 'allocate-tunnel-addrs')) return runTunnelsOnce(cfg, log);
  // One agent per network namespace, checked before anything touches the host (instance-guard.ts).
  let guard: InstanceGuard;
  try {
    guard = await acquireInstanceGuard();
  } catch (e) {
    log.error('not starting', { error: errorMessage(e) });
    return 1;
  }
  try {
    const agent = await deps.startAgent(cfg, {
      log,
      net,
      ...(startup === undefined ? {} : { startup }),
      env: io.env,
      mode: flagSet(v, 'felix') ? 'felix' : 'node',
    });
    // The datastore watch and the dataplane timers do not hold the event loop open; the agent runs until a signal.
    const keepAlive = setInterval(() => undefined, 3_600_000);
    const sig = await (deps.stopSignal ?? waitForSignal)();
    clearInterval(keepAlive);
    log.info('stopping', { signal: sig });
    try {
      await agent[Symbol.asyncDispose]();
      return 0;
    } catch (e) {
      log.error('shutdown failed', { error: errorMessage(e) });
      return 1;
    }
  } finally {
    await guard.release();
  }
}

/** Opens the datastore, runs `what` and closes it; a failure is logged and exit 1. */
async function withDatastore(
  cfg: AgentConfig,
  log: AgentLogger,
  name: string,
  what: (backend: Backend) => Promise<void>,
): Promise<number> {
  const backend = await openBackend(cfg.datastore);
  try {
    await what(backend);
    return 0;
  } catch (e) {
    log.error(`${name} failed`, { error: errorMessage(e) });
    return 1;
  } finally {
    await backend.close();
  }
}

function runStartupOnce(
  cfg: AgentConfig,
  net: NetworkConfig,
  startup: StartupConfig,
  log: AgentLogger,
): Promise<number> {
  return withDatastore(cfg, log, 'startup', async (backend) => {
    await runNodeStartup({
      backend,
      runner: new NodeCommandRunner(),
      log,
      nodeName: cfg.nodeName,
      net,
      startup,
      nodenameFile: cfg.nodenameFile,
      calicoVersion: buildInfo().version,
    });
  });
}

function runTunnelsOnce(cfg: AgentConfig, log: AgentLogger): Promise<number> {
  return withDatastore(cfg, log, 'tunnel-addresses', async (backend) => {
    const t = await reconcileTunnelAddresses(backend, cfg.nodeName);
    log.info('tunnel addresses', { vxlan: t.vxlan ?? null, ipip: t.ipip ?? null });
  });
}
