/**
 * What the agent itself does with Felix's configuration (the dataplane takes its part from the same
 * `configUpdate` messages): every changed parameter is logged with its old and new value and how it is
 * applied; the log level, the health and metrics servers, the dataplane's refresh period and the health
 * timeouts follow the new values in place; parameters a user set that calico-ts does not implement are
 * named in one warning, logged again only when that list changes.
 */
import { type FelixConfig, type FelixParamName, paramDef } from '../api/v3/felix-config-params.js';
import {
  changedParams,
  formatParamValue,
  NOT_IMPLEMENTED,
  type ResolvedFelixConfig,
  unimplementedParams,
} from '../api/v3/felix-config.js';
import type { DataplaneMessage } from '../calc/messages.js';
import type { HealthAggregator } from './health.js';
import type { AgentLogger } from './log.js';
import type { AgentServers } from './servers.js';

/** Felix's health reporter names. */
export const REPORTER = {
  startup: 'FelixStartup',
  calcGraph: 'CalculationGraph',
  dataplane: 'InternalDataplaneMainLoop',
  /** calico-ts: bad stored values held back, datastore reachability (agent/datastore-health.ts). */
  datastore: 'DatastoreConnection',
} as const;

/** Felix never lets the dataplane watchdog be shorter than two health intervals (10 s each). */
export const MIN_WATCHDOG_MS = 20_000;

export interface ConfigTargets {
  readonly log: Pick<AgentLogger, 'info' | 'warn' | 'setLevel'>;
  readonly servers: Pick<AgentServers, 'reconfigure'>;
  readonly health: Pick<HealthAggregator, 'setReporterTimeout' | 'setTimeoutOverrides'>;
  readonly loop: { setRefreshInterval(ms: number): void };
}

export class FelixConfigWatch {
  readonly #t: ConfigTargets;
  #current: FelixConfig;
  #warned = '';

  /** `initial`: the configuration the agent started with (defaults, calico-node's, environment). */
  constructor(initial: FelixConfig, targets: ConfigTargets) {
    this.#current = initial;
    this.#t = targets;
    this.#applyInPlace(initial);
  }

  get config(): FelixConfig {
    return this.#current;
  }

  /** Finds the batch's configUpdate, if any (the calc graph sends at most one per flush). */
  onMessages(msgs: readonly DataplaneMessage[]): void {
    for (const m of msgs) if (m.kind === 'configUpdate') this.apply({ config: m.config, sources: m.sources });
  }

  apply(next: ResolvedFelixConfig): void {
    const changed = changedParams(this.#current, next.config);
    const prev = this.#current;
    this.#current = next.config;
    for (const name of changed) {
      this.#t.log.info('Configuration value changed', {
        key: name,
        oldValue: formatParamValue(name, prev[name]),
        newValue: formatParamValue(name, next.config[name]),
        source: next.sources[name] ?? 'default',
        applied: howApplied(name),
      });
    }
    this.#warnUnimplemented(next);
    if (changed.length > 0) this.#applyInPlace(next.config);
    if (changed.some((n) => paramDef(n).use === 'servers')) void this.#t.servers.reconfigure(next.config);
  }

  #applyInPlace(c: FelixConfig): void {
    this.#t.log.setLevel(c.logSeverityScreen);
    this.#t.loop.setRefreshInterval(c.nftablesRefreshInterval);
    this.#t.health.setReporterTimeout(
      REPORTER.dataplane,
      Math.max(MIN_WATCHDOG_MS, c.dataplaneWatchdogTimeout),
    );
    this.#t.health.setTimeoutOverrides(new Map(c.healthTimeoutOverrides.map((o) => [o.name, o.timeout])));
  }

  #warnUnimplemented(next: ResolvedFelixConfig): void {
    const names = unimplementedParams(next.sources);
    const key = names.map((n) => `${n}@${next.sources[n] ?? ''}`).join(',');
    if (key === this.#warned) return;
    this.#warned = key;
    if (names.length === 0) return;
    this.#t.log.warn(`Felix configuration ${NOT_IMPLEMENTED}`, {
      fields: names.map((n) => `${n} (${next.sources[n] ?? ''})`),
    });
  }
}

function howApplied(name: FelixParamName): string {
  const use = paramDef(name).use;
  if (use === 'live') return 'in place';
  if (use === 'servers') return 'server restarted';
  return 'not implemented';
}
