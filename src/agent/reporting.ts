/**
 * What the agent reports about itself, in one place: the state behind status.json (cni/agent-status.ts), the
 * health reporters' inputs, and the info log lines Felix writes for each calculation-graph batch and each
 * dataplane apply (one line each: counts and time; never per rule or per packet).
 */
import type { DataplaneMessage } from '../calc/messages.js';
import type { AgentStatusWriter, HeldResource, SyncStatus } from '../cni/agent-status.js';
import type { DataplaneLoop } from '../dataplane/loop.js';
import type { NftTableStats } from '../dataplane/nftables/table.js';
import { errorDetail, errorMessage } from '../lib/errors.js';
import type { HealthAggregator } from './health.js';
import { REPORTER } from './felix-config-watch.js';
import type { Logger } from './log.js';

/** A loop that failed this many applies in a row is reported not live (the supervisor restarts it). */
export const MAX_CONSECUTIVE_FAILURES = 10;

export class AgentReporter {
  readonly #nodeName: string;
  readonly #status: AgentStatusWriter;
  readonly #log: Logger;
  readonly #health: HealthAggregator;
  #loop: DataplaneLoop | undefined;
  #syncStatus: SyncStatus = 'WaitForDatastore';
  #datastoreError: string | null = null;
  #failuresTotal = 0;
  #lastFailure: { at: string; error: string } | null = null;
  /** Messages given to the dataplane since the last apply, by kind (for the apply's log line). */
  #pending = new Map<string, number>();
  /** Resources the datastore side holds at their last good version (set by its hook). */
  heldResources: readonly HeldResource[] = [];

  constructor(deps: { nodeName: string; status: AgentStatusWriter; log: Logger; health: HealthAggregator }) {
    this.#nodeName = deps.nodeName;
    this.#status = deps.status;
    this.#log = deps.log;
    this.#health = deps.health;
  }

  get inSync(): boolean {
    return this.#syncStatus === 'InSync';
  }

  attach(loop: DataplaneLoop): void {
    this.#loop = loop;
  }

  syncStatus(s: SyncStatus): void {
    this.#syncStatus = s;
    if (s === 'InSync') this.#datastoreError = null;
    this.reportHealth();
  }

  datastoreError(e: unknown): void {
    this.#datastoreError = errorMessage(e);
  }

  /** One calc-graph batch: updates in, messages out, time. */
  calcBatch(updates: number, msgs: readonly DataplaneMessage[], ms: number): void {
    for (const m of msgs) this.#pending.set(m.kind, (this.#pending.get(m.kind) ?? 0) + 1);
    this.#log.info('Calculation graph batch', { updates, messages: msgs.length, ms: round(ms) });
  }

  /** One successful apply: what it carried and how long it took; then the status files. */
  async applied(
    info: { revision: number; durationMs: number; first: boolean },
    table: NftTableStats,
    endpoints: Iterable<{ readonly namespace: string; readonly name: string }>,
  ): Promise<void> {
    const messages = Object.fromEntries([...this.#pending].sort());
    this.#pending = new Map();
    const fields = {
      revision: info.revision,
      ms: round(info.durationMs),
      messages,
      chains: table.chains,
      rules: table.rules,
    };
    if (info.first) this.#log.info('Completed first update to dataplane', fields);
    else if (Object.keys(messages).length > 0) this.#log.info('Applied dataplane updates', fields);
    else this.#log.debug('Refreshed dataplane', fields);
    this.reportHealth();
    await this.#status.writeEndpoints(endpoints, info.revision);
    await this.writeStatus(null);
  }

  failed(e: unknown): void {
    this.#failuresTotal++;
    this.#lastFailure = { at: new Date().toISOString(), error: errorDetail(e) };
    this.#log.error('dataplane apply failed; will retry', { error: errorDetail(e) });
    this.reportHealth();
    this.writeStatus(errorDetail(e)).catch((err: unknown) => {
      this.#log.error('writing status failed', { error: errorMessage(err) });
    });
  }

  reportHealth(): void {
    const loop = this.#loop;
    this.#health.report(REPORTER.calcGraph, { live: true, ready: this.inSync });
    if (loop === undefined) return;
    this.#health.report(REPORTER.dataplane, {
      live: loop.consecutiveFailures < MAX_CONSECUTIVE_FAILURES,
      ready: this.inSync && loop.dataplaneInSync && loop.consecutiveFailures === 0,
    });
  }

  async writeStatus(lastApplyError: string | null): Promise<void> {
    const loop = this.#loop;
    await this.#status.writeStatus({
      pid: process.pid,
      nodeName: this.#nodeName,
      updatedAt: new Date().toISOString(),
      inSync: this.inSync,
      dataplaneInSync: loop?.dataplaneInSync ?? false,
      appliedRevision: loop?.appliedRevision ?? 0,
      lastApplyError,
      datastore: {
        syncStatus: this.#syncStatus,
        connected: this.#datastoreError === null,
        lastError: this.#datastoreError,
        heldResources: this.heldResources,
      },
      dataplane: {
        consecutiveFailures: loop?.consecutiveFailures ?? 0,
        failuresTotal: this.#failuresTotal,
        lastFailure: this.#lastFailure,
      },
    });
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
