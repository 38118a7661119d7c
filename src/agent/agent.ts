/**
 * What starting the agent takes and gives (main.ts starts it; command.ts, the command line, calls it): a module of
 * its own so that the command line and the composition root do not import each other.
 */
import type { CalcGraph } from '../calc/graph.js';
import type { DataplaneLoop } from '../dataplane/loop.js';
import type { Clock } from '../lib/async.js';
import type { HealthAggregator } from './health.js';
import type { AgentLogger } from './log.js';
import type { NetworkConfig } from './network-config.js';
import type { AgentServers } from './servers.js';
import type { StartupConfig } from './startup-config.js';

export interface Agent extends AsyncDisposable {
  readonly loop: DataplaneLoop;
  readonly graph: CalcGraph;
  readonly servers: AgentServers;
  readonly health: HealthAggregator;
}

export interface StartOptions {
  readonly log: AgentLogger;
  /** `node`: node startup, Felix and BGP (what the calico/node container runs); `felix`: Felix only. */
  readonly mode?: 'node' | 'felix';
  readonly net?: NetworkConfig;
  /** The start-up routine's validated variables (mode `node`; default: read from `env`). */
  readonly startup?: StartupConfig;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly clock?: Clock;
  /**
   * The dataplane could not be brought back after failing (the kernel keeps its last state): the process
   * should exit non-zero so that its supervisor restarts it. Default: log and exit 1 at once.
   */
  readonly onFatal?: (e: Error) => void;
}
