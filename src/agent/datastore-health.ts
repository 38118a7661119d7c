/**
 * The agent's view of its datastore's health, fed by the syncer (`onStatusUpdated`, `onDatastoreEvent`):
 * which stored resources are held back because their value is bad, and whether the datastore answers.
 * It logs each change once, keeps three `felix_*` metrics, and gives status.json its `datastore` field and
 * readiness its reasons. It decides nothing about the dataplane: the syncer already keeps the last good
 * version of a bad resource, and nothing is removed while the datastore is away.
 *
 *   syncer ──events──► DatastoreHealth ──► log lines (error once per bad key+revision; loss and recovery)
 *                                     ├──► felix_datastore_invalid_resources / _invalid_updates / _connected
 *                                     ├──► status.json `datastore` (via onChange -> the agent writes it)
 *                                     └──► /readiness: not ready while unreachable or anything is held back
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { formatKey, type DatastoreEvent, type InvalidResource, type SyncStatus } from '../datastore/index.js';
import type { DatastoreStatus } from '../cni/agent-status.js';
import type { Logger } from './log.js';

export interface DatastoreHealthOptions {
  readonly log: Logger;
  /** Where the metrics are registered (the agent's registry). */
  readonly registry: Registry;
  /** Called after every change of what `status()` returns. */
  readonly onChange?: () => void;
  readonly now?: () => Date;
}

/** Readiness names at most this many held-back resources (then a count). */
const MAX_NAMED = 10;

export class DatastoreHealth {
  readonly #log: Logger;
  readonly #onChange: () => void;
  readonly #now: () => Date;
  readonly #invalid = new Map<string, InvalidResource>();
  readonly #gauge: Gauge;
  readonly #rejected: Counter;
  readonly #connectedGauge: Gauge;
  #connected = false;
  #everConnected = false;
  #changedAt: Date | undefined;
  #lastError: string | null = 'not connected yet';
  #syncStatus: SyncStatus | null = null;

  constructor(opts: DatastoreHealthOptions) {
    this.#log = opts.log;
    this.#onChange = opts.onChange ?? (() => undefined);
    this.#now = opts.now ?? (() => new Date());
    const registers = [opts.registry];
    this.#gauge = new Gauge({
      name: 'felix_datastore_invalid_resources',
      help: 'Stored resources whose current value is invalid: held at their last good version, or not applied.',
      registers,
    });
    this.#rejected = new Counter({
      name: 'felix_datastore_invalid_updates_total',
      help: 'Invalid stored values received from the datastore and not applied (each key and revision once).',
      registers,
    });
    this.#connectedGauge = new Gauge({
      name: 'felix_datastore_connected',
      help: 'Whether the datastore answered its last probe, list or watch event (1) or not (0).',
      registers,
    });
  }

  onSyncStatus(status: SyncStatus): void {
    if (status === this.#syncStatus) return;
    this.#syncStatus = status;
    this.#onChange();
  }

  onEvent(e: DatastoreEvent): void {
    switch (e.type) {
      case 'invalid':
        this.#onInvalid(e.resource);
        break;
      case 'resolved': {
        const ks = formatKey(e.key);
        if (!this.#invalid.delete(ks)) return;
        this.#log.info(
          e.reason === 'valid'
            ? 'datastore resource is valid again; applying it'
            : 'invalid datastore resource was deleted',
          { key: ks, revision: e.revision },
        );
        break;
      }
      case 'connection':
        this.#onConnection(e.connected, e.detail);
        break;
    }
    this.#gauge.set(this.#invalid.size);
    this.#onChange();
  }

  status(): DatastoreStatus {
    return {
      connected: this.#connected,
      inSync: this.#connected && this.#syncStatus === 'InSync',
      syncStatus: this.#syncStatus,
      lastError: this.#connected ? null : this.#lastError,
      connectedChangedAt: this.#changedAt?.toISOString() ?? null,
      invalidResources: [...this.#invalid.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, r]) => ({
          key,
          revision: r.revision,
          problem: r.problem,
          lastGoodRevision: r.lastGoodRevision ?? null,
        })),
    };
  }

  /** Why the agent is not ready on account of its datastore; empty when it is. */
  readinessProblems(): string[] {
    const out: string[] = [];
    if (!this.#connected) {
      out.push(`datastore: not connected: ${this.#lastError ?? 'unknown'}`);
    }
    const invalid = this.status().invalidResources;
    for (const r of invalid.slice(0, MAX_NAMED)) {
      const held =
        r.lastGoodRevision === null
          ? 'never valid, not applied'
          : `held at its last good version, revision ${r.lastGoodRevision}`;
      out.push(`datastore: ${r.key} revision ${r.revision} is invalid (${held}): ${r.problem}`);
    }
    if (invalid.length > MAX_NAMED)
      out.push(`datastore: and ${invalid.length - MAX_NAMED} more invalid resources`);
    return out;
  }

  #onInvalid(r: InvalidResource): void {
    const key = formatKey(r.key);
    this.#invalid.set(key, r);
    this.#rejected.inc();
    const fields = { key, revision: r.revision, problem: r.problem };
    if (r.lastGoodRevision === undefined) {
      this.#log.error('invalid datastore resource, never valid: not applied', fields);
    } else {
      this.#log.error('invalid datastore resource: keeping its last good version', {
        ...fields,
        lastGoodRevision: r.lastGoodRevision,
      });
    }
  }

  #onConnection(connected: boolean, detail: string): void {
    const now = this.#now();
    const since = this.#changedAt;
    this.#connected = connected;
    this.#changedAt = now;
    this.#connectedGauge.set(connected ? 1 : 0);
    if (connected) {
      this.#lastError = null;
      if (this.#everConnected && since !== undefined) {
        this.#log.info('datastore connection restored', {
          downSeconds: Math.round((now.getTime() - since.getTime()) / 100) / 10,
        });
      }
      this.#everConnected = true;
      return;
    }
    this.#lastError = detail;
    this.#log.error(
      this.#everConnected
        ? 'datastore connection lost; keeping the dataplane as programmed'
        : 'datastore not reachable',
      { error: detail },
    );
  }
}
