/**
 * calico-node's configuration at start, read once from the environment before anything touches the host:
 * the node name (Calico's DetermineNodeName, which may read the nodename file an earlier start wrote), the
 * run directory, the nodename and MTU file paths, the datastore settings and the `FELIX_*` variables, each
 * parsed through the one Felix parameter table (api/v3/felix-config-params.ts). Any invalid value is an error that names
 * the variable; nothing is opened or created until this succeeds.
 *
 * Felix's precedence: built-in default < calico-node's defaults (below) < FelixConfiguration `default` <
 * `node.<name>` < environment. The FelixConfigurations arrive through the syncer; the calc graph merges all
 * layers and every `configUpdate` carries the result (see felix-config-watch.ts for what the agent does
 * with it).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { FelixConfig } from '../api/v3/felix-config-params.js';
import {
  type ConfigLayer,
  felixValuesFromEnv,
  type PartialFelixConfig,
  resolveFelixConfig,
} from '../api/v3/felix-config.js';
import type { ConfigInputs } from '../calc/felix-config.js';
import { DEFAULT_MTU_FILE, DEFAULT_NODENAME_FILE } from '../cni/netconf.js';
import { configFromEnv } from '../datastore/index.js';
import type { DatastoreConfig } from '../datastore/index.js';
import { errorMessage, UsageError } from '../lib/errors.js';

/** calico-node turns Felix's health port on (its manifest sets FELIX_HEALTHENABLED=true); Felix's default is off. */
export const CALICO_NODE_DEFAULTS: PartialFelixConfig = { healthEnabled: true };

export interface AgentConfig {
  readonly nodeName: string;
  /** Where the node name came from (for messages): `NODENAME`, `FELIX_FELIXHOSTNAME`, the file, ... */
  readonly nodeNameSource: string;
  readonly runDir: string;
  /** CALICO_NODENAME_FILE: written by the start-up, read by the CNI plugin and as a source of the name. */
  readonly nodenameFile: string;
  /** CALICO_MTU_FILE (calico-ts's; Calico's path is fixed): the pod MTU Felix writes for the CNI plugin. */
  readonly mtuFile: string;
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

/** Reads a file's text, undefined when it does not exist (any other failure throws). */
export type ReadOptionalFile = (path: string) => string | undefined;

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`CALICO_NODENAME_FILE: cannot read ${path}: ${errorMessage(e)}`);
  }
}

/**
 * Calico's DetermineNodeName: NODENAME, then (calico-ts: FELIX_FELIXHOSTNAME, Felix's own name for it,) the
 * nodename file an earlier start wrote, then HOSTNAME, then the OS host name, the last two lower-cased.
 */
function nodeNameOf(
  env: Env,
  felixHostname: string | undefined,
  nodenameFile: string,
  read: ReadOptionalFile,
): { readonly name: string; readonly source: string } {
  const explicit = nonEmpty(env.NODENAME);
  if (explicit !== undefined) return { name: explicit, source: 'NODENAME' };
  if (felixHostname !== undefined && felixHostname !== '')
    return { name: felixHostname, source: 'FELIX_FELIXHOSTNAME' };
  const stored = nonEmpty(read(nodenameFile));
  if (stored !== undefined) return { name: stored, source: nodenameFile };
  const host = nonEmpty(env.HOSTNAME);
  if (host !== undefined) return { name: host.toLowerCase(), source: 'HOSTNAME' };
  return { name: hostname().trim().toLowerCase(), source: 'the host name' };
}

/** Reads and validates the environment; a UsageError lists every problem. */
export function loadAgentConfig(env: Env, read: ReadOptionalFile = readIfPresent): AgentConfig {
  const felix = felixValuesFromEnv(env);
  const ds = configFromEnv(env);
  const problems = [...felix.problems, ...(ds.ok ? [] : [ds.error])];
  if (problems.length > 0 || !ds.ok) throw new UsageError(problems.join('; '));
  const below: ConfigLayer[] = [{ source: 'calico-node', values: CALICO_NODE_DEFAULTS }];
  const initial = resolveFelixConfig([...below, { source: 'env', values: felix.values }]).config;
  const nodenameFile = nonEmpty(env.CALICO_NODENAME_FILE) ?? DEFAULT_NODENAME_FILE;
  const node = nodeNameOf(env, initial.felixHostname, nodenameFile, read);
  return {
    nodeName: node.name,
    nodeNameSource: node.source,
    runDir: nonEmpty(env.CALICO_RUN_DIR) ?? '/var/run/calico',
    nodenameFile,
    mtuFile: nonEmpty(env.CALICO_MTU_FILE) ?? DEFAULT_MTU_FILE,
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
