/**
 * What the agent reports about itself, in one place: the state behind status.json (cni/agent-status.ts), the
 * health reporters' inputs, and the info log lines Felix writes for each calculation-graph batch and each
 * dataplane apply (one line each: counts and time; never per rule or per packet).
 */
import type { DataplaneMessage } from '../calc/messages.js';
import type { AgentStatus, AgentStatusWriter, DatastoreStatus, SyncStatus } from '../cni/agent-status.js';
import type { DataplaneFailure, DataplaneLoop } from '../dataplane/loop.js';
import type { NftTableStats } from '../dataplane/nftables/table.js';
import { errorDetail, errorMessage } from '../lib/errors.js';
import type { HealthAggregator } from './health.js';
import { REPORTER } from './felix-config-watch.js';
import type { Logger } from './log.js';

export class AgentReporter {
  readonly #nodeName: string;
  readonly #status: AgentStatusWriter;
  readonly #log: Logger;
  readonly #health: HealthAggregator;
  #loop: DataplaneLoop | undefined;
  #syncStatus: SyncStatus = 'WaitForDatastore';
  #datastoreError: string | null = null;
  #lastApplyError: string | null = null;
  /** status.json writes, one at a time and in order (a late, older snapshot never overwrites a newer one). */
  #writes: Promise<void> = Promise.resolve();
  #failuresTotal = 0;
  #lastFailure: { at: string; error: string } | null = null;
  /** Messages given to the dataplane since the last apply, by kind (for the apply's log line). */
  #pending = new Map<string, number>();
  /** The datastore section of status.json (the agent's DatastoreHealth); absent: derived from the syncer. */
  datastore: (() => DatastoreStatus) | undefined;

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

  /** The datastore's health changed: rewrite status.json. */
  datastoreChanged(): void {
    this.writeStatus().catch((err: unknown) => {
      this.#log.error('writing status failed', { error: errorMessage(err) });
    });
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
    this.#lastApplyError = null;
    await this.#status.writeEndpoints(endpoints, info.revision);
    await this.writeStatus();
  }

  /** One dataplane failure (counted by the agent in felix_int_dataplane_failures): log, health, status. */
  failed(f: DataplaneFailure): void {
    const error = errorDetail(f.error);
    this.#failuresTotal++;
    this.#lastFailure = { at: new Date().toISOString(), error };
    const what = f.next === 'retry' ? 'will retry' : f.next === 'resync' ? 'will resync' : 'giving up';
    this.#log.error(`dataplane ${f.phase} failed; ${what}`, {
      ...(f.manager !== undefined ? { manager: f.manager } : {}),
      consecutive: f.consecutive,
      error,
    });
    this.#lastApplyError = error;
    this.reportHealth();
    this.writeStatus().catch((err: unknown) => {
      this.#log.error('writing status failed', { error: errorMessage(err) });
    });
  }

  reportHealth(): void {
    const loop = this.#loop;
    this.#health.report(REPORTER.calcGraph, { live: true, ready: this.inSync });
    if (loop === undefined) return;
    // Not live once the loop gave up (the process exits for its supervisor); not ready while failing.
    this.#health.report(REPORTER.dataplane, {
      live: !loop.status().fatal,
      ready: this.inSync && loop.ready,
    });
  }

  /** Writes status.json from the current state, after any write already under way. */
  writeStatus(): Promise<void> {
    const write = this.#writes.then(() => this.#status.writeStatus(this.#snapshot()));
    this.#writes = write.catch(() => undefined);
    return write;
  }

  #snapshot(): Omit<AgentStatus, 'version'> {
    const loop = this.#loop;
    return {
      pid: process.pid,
      nodeName: this.#nodeName,
      updatedAt: new Date().toISOString(),
      inSync: this.inSync,
      dataplaneInSync: loop?.dataplaneInSync ?? false,
      appliedRevision: loop?.appliedRevision ?? 0,
      lastApplyError: this.#lastApplyError,
      datastore: this.datastore?.() ?? {
        connected: this.#datastoreError === null,
        inSync: this.#datastoreError === null && this.inSync,
        syncStatus: this.#syncStatus,
        lastError: this.#datastoreError,
        connectedChangedAt: null,
        invalidResources: [],
      },
      dataplane: {
        consecutiveFailures: loop?.status().consecutiveFailures ?? 0,
        failuresTotal: this.#failuresTotal,
        lastFailure: this.#lastFailure,
      },
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
