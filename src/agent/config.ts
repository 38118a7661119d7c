/**
 * calico-node configuration (Felix's config_params + Source precedence, reduced to what calico-ts uses):
 * built-in default < FelixConfiguration `default` < FelixConfiguration `node.<name>` < environment
 * `FELIX_<UPPERCASE NAME>`. Process-level settings (ports, intervals) are read at start from env and the
 * built-in defaults; rule-level settings flow through the calc graph as a config update and apply live.
 */
import { hostname } from 'node:os';
import { configFromEnv } from '../datastore/index.js';
import type { DatastoreConfig } from '../datastore/index.js';
import { UsageError } from '../lib/errors.js';

/** FelixConfiguration fields calico-ts understands (camelCase, as in the resource). */
export const FELIX_PARAMS = [
  'defaultEndpointToHostAction',
  'interfacePrefix',
  'failsafeInboundHostPorts',
  'failsafeOutboundHostPorts',
  'iptablesFilterDenyAction',
  'logPrefix',
  'allowVXLANPacketsFromWorkloads',
  'allowIPIPPacketsFromWorkloads',
  'disableConntrackInvalidCheck',
  'healthEnabled',
  'healthHost',
  'healthPort',
  'prometheusMetricsEnabled',
  'prometheusMetricsHost',
  'prometheusMetricsPort',
  'nftablesRefreshInterval',
  'iptablesRefreshInterval',
  'routeRefreshInterval',
  'logSeverityScreen',
  'ipv6Support',
  'felixHostname',
  'endpointStatusPathPrefix',
  // calico-ts extension (FELIX_TIERDISPATCHMINRULES): see src/dataplane/rules/dispatch.ts.
  'tierDispatchMinRules',
] as const;

export interface AgentConfig {
  readonly nodeName: string;
  readonly runDir: string;
  readonly datastore: DatastoreConfig;
  /** FELIX_* overrides by camelCase parameter name (highest precedence). */
  readonly felixEnv: Readonly<Record<string, string>>;
  readonly healthEnabled: boolean;
  readonly healthHost: string;
  readonly healthPort: number;
  readonly metricsEnabled: boolean;
  readonly metricsHost: string;
  readonly metricsPort: number;
  readonly refreshIntervalMs: number;
  readonly logLevel: string;
}

/** Felix durations: `90s`, `1m30s`, `500ms`, or a plain number of seconds. */
export function parseDuration(v: string): number | undefined {
  if (/^[0-9]+(\.[0-9]+)?$/.test(v)) return Number(v) * 1000;
  let total = 0;
  let rest = v.trim();
  if (rest === '') return undefined;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  while (rest !== '') {
    const m = /^([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)/.exec(rest);
    if (m === null) return undefined;
    total += Number(m[1]) * (units[m[2] ?? 's'] ?? 1000);
    rest = rest.slice(m[0].length);
  }
  return total;
}

export function felixEnvOverrides(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const byUpper = new Map(FELIX_PARAMS.map((p) => [p.toUpperCase(), p]));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('FELIX_') || v === undefined) continue;
    const param = byUpper.get(k.slice('FELIX_'.length).toUpperCase());
    if (param !== undefined) out[param] = v;
  }
  return out;
}

function flag(v: string | undefined, dflt: boolean): boolean {
  return v === undefined ? dflt : v.toLowerCase() === 'true';
}

function port(v: string | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${name}: invalid port "${v}"`);
  return n;
}

export function loadAgentConfig(env: Readonly<Record<string, string | undefined>>): AgentConfig {
  const felixEnv = felixEnvOverrides(env);
  const ds = configFromEnv(env);
  if (!ds.ok) throw new UsageError(ds.error);
  const nodeName = env.NODENAME ?? felixEnv.felixHostname ?? env.HOSTNAME ?? hostname();
  const refresh =
    parseDuration(felixEnv.nftablesRefreshInterval ?? felixEnv.iptablesRefreshInterval ?? '180s') ?? 180_000;
  return {
    nodeName,
    runDir: env.CALICO_RUN_DIR ?? '/var/run/calico',
    datastore: ds.value,
    felixEnv,
    // calico-node's manifest turns health on; Felix's own default is off. Metrics stay off unless enabled.
    healthEnabled: flag(felixEnv.healthEnabled, true),
    healthHost: felixEnv.healthHost ?? 'localhost',
    healthPort: port(felixEnv.healthPort, 9099, 'FELIX_HEALTHPORT'),
    metricsEnabled: flag(felixEnv.prometheusMetricsEnabled, false),
    metricsHost: felixEnv.prometheusMetricsHost ?? '',
    metricsPort: port(felixEnv.prometheusMetricsPort, 9091, 'FELIX_PROMETHEUSMETRICSPORT'),
    refreshIntervalMs: Math.max(1000, refresh),
    logLevel: (felixEnv.logSeverityScreen ?? 'Info').toLowerCase(),
  };
}
