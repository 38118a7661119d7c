/**
 * calico-node's configuration at start, read once from the environment before anything touches the host:
 * the node name, the run directory, the datastore settings and the `FELIX_*` variables, each parsed through
 * the one Felix parameter table (api/v3/felix-config-params.ts). Any invalid value is an error that names
 * the variable; nothing is opened or created until this succeeds.
 *
 * Felix's precedence: built-in default < calico-node's defaults (below) < FelixConfiguration `default` <
 * `node.<name>` < environment. The FelixConfigurations arrive through the syncer; the calc graph merges all
 * layers and every `configUpdate` carries the result (see felix-config-watch.ts for what the agent does
 * with it).
 */
import { hostname } from 'node:os';
import type { FelixConfig } from '../api/v3/felix-config-params.js';
import {
  type ConfigLayer,
  felixValuesFromEnv,
  type PartialFelixConfig,
  resolveFelixConfig,
} from '../api/v3/felix-config.js';
import type { ConfigInputs } from '../calc/felix-config.js';
import { configFromEnv } from '../datastore/index.js';
import type { DatastoreConfig } from '../datastore/index.js';
import { UsageError } from '../lib/errors.js';

/** calico-node turns Felix's health port on (its manifest sets FELIX_HEALTHENABLED=true); Felix's default is off. */
export const CALICO_NODE_DEFAULTS: PartialFelixConfig = { healthEnabled: true };

export interface AgentConfig {
  readonly nodeName: string;
  readonly runDir: string;
  readonly datastore: DatastoreConfig;
  /** The `FELIX_*` values (highest precedence). */
  readonly env: PartialFelixConfig;
  /** The layers below the datastore's FelixConfigurations. */
  readonly below: readonly ConfigLayer[];
  /** The configuration before any FelixConfiguration is read: defaults, calico-node's, environment. */
  readonly initial: FelixConfig;
  /** `FELIX_*` variables that name no parameter (ignored, as Felix ignores them). */
  readonly unknownEnv: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads and validates the environment; a UsageError lists every problem. */
export function loadAgentConfig(env: Env): AgentConfig {
  const felix = felixValuesFromEnv(env);
  const ds = configFromEnv(env);
  const problems = [...felix.problems, ...(ds.ok ? [] : [ds.error])];
  if (problems.length > 0 || !ds.ok) throw new UsageError(problems.join('; '));
  const below: ConfigLayer[] = [{ source: 'calico-node', values: CALICO_NODE_DEFAULTS }];
  const initial = resolveFelixConfig([...below, { source: 'env', values: felix.values }]).config;
  return {
    nodeName: nonEmpty(env.NODENAME) ?? initial.felixHostname ?? nonEmpty(env.HOSTNAME) ?? hostname(),
    runDir: nonEmpty(env.CALICO_RUN_DIR) ?? '/var/run/calico',
    datastore: ds.value,
    env: felix.values,
    below,
    initial,
    unknownEnv: felix.unknown,
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The calc graph's configuration layers. */
export function configInputs(cfg: AgentConfig): ConfigInputs {
  return { below: cfg.below, env: cfg.env };
}
