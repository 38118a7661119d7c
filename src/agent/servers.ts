/**
 * The agent's two HTTP servers, kept matching the configuration: health (`healthEnabled`, `healthHost`,
 * `healthPort`; Felix's 9099) and Prometheus metrics (`prometheusMetricsEnabled`, `prometheusMetricsHost`,
 * `prometheusMetricsPort`; 9091). A change of any of these closes the affected server and opens it again
 * with the new settings, in process (Felix restarts itself for most changes; nothing else here needs that).
 * The first `reconcile` throws when a server cannot listen (an occupied port fails the start); later ones
 * log the failure and retry.
 */
import type { Server } from 'node:http';
import type { FelixConfig } from '../api/v3/felix-config-params.js';
import { Backoff, type Clock, realClock, type TimerHandle } from '../lib/async.js';
import { errorMessage } from '../lib/errors.js';
import { type HealthAggregator, startHealthServer } from './health.js';
import { closeServer } from './http.js';
import type { Logger } from './log.js';
import { type AgentMetrics, startMetricsServer } from './metrics.js';

type Which = 'health' | 'metrics';

interface Endpoint {
  readonly host: string;
  readonly port: number;
}

function wanted(c: FelixConfig): Record<Which, Endpoint | undefined> {
  return {
    health: c.healthEnabled ? { host: c.healthHost, port: c.healthPort } : undefined,
    metrics: c.prometheusMetricsEnabled
      ? { host: c.prometheusMetricsHost, port: c.prometheusMetricsPort }
      : undefined,
  };
}

const sameEndpoint = (a: Endpoint | undefined, b: Endpoint | undefined): boolean =>
  a?.host === b?.host && a?.port === b?.port;

export class AgentServers implements AsyncDisposable {
  readonly #health: HealthAggregator;
  readonly #metrics: AgentMetrics;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #running: Record<Which, { endpoint: Endpoint; server: Server } | undefined> = {
    health: undefined,
    metrics: undefined,
  };
  readonly #backoff = new Backoff(1000, 30_000);
  #config: FelixConfig | undefined;
  #retry: TimerHandle | undefined;
  #chain: Promise<void> = Promise.resolve();
  #disposed = false;

  constructor(deps: { health: HealthAggregator; metrics: AgentMetrics; log: Logger; clock?: Clock }) {
    this.#health = deps.health;
    this.#metrics = deps.metrics;
    this.#log = deps.log;
    this.#clock = deps.clock ?? realClock;
  }

  /** Where each server listens now (tests, logs). */
  get listening(): Readonly<Record<Which, Endpoint | undefined>> {
    return { health: this.#running.health?.endpoint, metrics: this.#running.metrics?.endpoint };
  }

  /** Opens the servers `config` asks for; throws if one cannot listen. */
  async start(config: FelixConfig): Promise<void> {
    this.#config = config;
    await this.#serialised(() => this.#apply(config));
  }

  /** Follows a configuration change; failures are logged and retried. */
  reconfigure(config: FelixConfig): Promise<void> {
    this.#config = config;
    return this.#serialised(async () => {
      try {
        await this.#apply(config);
        this.#backoff.reset();
      } catch (e) {
        const delay = this.#backoff.next();
        this.#log.error('health/metrics server failed to start; retrying', {
          error: errorMessage(e),
          retryMs: delay,
        });
        this.#clock.clearTimeout(this.#retry);
        this.#retry = this.#clock.setTimeout(
          () => {
            if (this.#config !== undefined && !this.#disposed) void this.reconfigure(this.#config);
          },
          delay,
          { unref: true },
        );
      }
    });
  }

  #serialised(step: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(step);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #apply(config: FelixConfig): Promise<void> {
    if (this.#disposed) return;
    const want = wanted(config);
    for (const which of ['health', 'metrics'] as const) {
      const cur = this.#running[which];
      if (sameEndpoint(cur?.endpoint, want[which])) continue;
      if (cur !== undefined) {
        this.#running[which] = undefined;
        await closeServer(cur.server);
        this.#log.info(`${which} server stopped`, { host: cur.endpoint.host, port: cur.endpoint.port });
      }
      const endpoint = want[which];
      if (endpoint === undefined) continue;
      const server =
        which === 'health'
          ? await startHealthServer(endpoint.host, endpoint.port, this.#health)
          : await startMetricsServer(endpoint.host, endpoint.port, this.#metrics, {
              process: () => this.#config?.prometheusProcessMetricsEnabled ?? true,
              runtime: () => this.#config?.prometheusGoMetricsEnabled ?? true,
            });
      this.#running[which] = { endpoint, server };
      this.#log.info(`${which} server listening`, { host: endpoint.host, port: endpoint.port });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    this.#clock.clearTimeout(this.#retry);
    await this.#chain;
    for (const which of ['health', 'metrics'] as const) {
      const cur = this.#running[which];
      this.#running[which] = undefined;
      if (cur !== undefined) await closeServer(cur.server);
    }
  }
}
