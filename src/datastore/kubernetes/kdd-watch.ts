/**
 * The KDD backend's watch: one logical watch = one Kubernetes watch per API resource the watched kinds are
 * read from (deduplicated: Pod feeds Pod and WorkloadEndpoint), each started at `fromRevision - 1` (a
 * Kubernetes watch delivers what comes *after* its resourceVersion) with bookmarks, their events merged as
 * they arrive. Order holds per API resource, not across them: several kinds interleave in arrival order
 * (the syncer only relies on per-kind order; docs/design/kubernetes-datastore.md).
 *
 * Each stream remembers the last resourceVersion it saw (events and bookmarks). A stream the server ends
 * (request timeout) or a lost connection (API server down) is reopened from there, with backoff, until the
 * watch is aborted. `410 Gone` — at the start or as an ERROR event, e.g. after an API server restart, whose
 * new watch cache starts at the current revision — ends the whole watch with `reason: 'compacted'`, which
 * makes the syncer re-list. Any other ERROR event or refusal ends it with `reason: 'failed'`.
 */
import { Backoff, sleep } from '../../lib/async.js';
import { errorMessage } from '../../lib/errors.js';
import type { WatchError, WatchHandler, WatchUpdate } from '../api.js';
import { keyString } from '../resource.js';
import { apiId, collectionPath, decodeFor, objectRevision, type ApiResource } from './sources.js';
import { statusOf, type KubeTransport, type WatchEvent } from './transport.js';

export interface WatchPlan {
  readonly api: ApiResource;
  /** The calico-ts kinds read from `api` that this watch delivers. */
  readonly kinds: readonly string[];
  readonly namespace?: string | undefined;
}

/** Groups the watched kinds by the API resources they are read from. */
export function planWatch(
  kinds: readonly string[],
  namespace: string | undefined,
  sourcesOf: (kind: string) => readonly ApiResource[],
): WatchPlan[] {
  const plans = new Map<string, { api: ApiResource; kinds: string[] }>();
  for (const kind of kinds) {
    for (const api of sourcesOf(kind)) {
      const id = apiId(api);
      const plan = plans.get(id) ?? { api, kinds: [] };
      plan.kinds.push(kind);
      plans.set(id, plan);
    }
  }
  return [...plans.values()].map((p) => ({ ...p, namespace }));
}

/** The updates one watch event means for the planned kinds. */
export function eventUpdates(
  plan: WatchPlan,
  type: 'ADDED' | 'MODIFIED' | 'DELETED',
  obj: unknown,
): WatchUpdate[] {
  const revision = objectRevision(obj);
  const out: WatchUpdate[] = [];
  const seen = new Set<string>();
  for (const kind of plan.kinds) {
    for (const d of decodeFor(kind, plan.api, obj)) {
      if (seen.has(keyString(d.key))) continue;
      seen.add(keyString(d.key));
      if (type === 'DELETED') out.push({ type: 'deleted', key: d.key, revision });
      else if (d.value !== undefined) out.push({ type: 'set', key: d.key, value: d.value, revision });
      else out.push({ type: 'invalid', key: d.key, revision, problem: d.problem });
    }
  }
  return out;
}

/** Refusals worth retrying: overload, and a resourceVersion the watch cache has not reached yet (504). */
const RETRIED_STATUS = new Set([429, 500, 503, 504]);

type StreamEnd =
  | { readonly kind: 'retry'; readonly error?: unknown }
  | { readonly kind: 'fatal'; readonly error: WatchError };

function watchError(status: number, body: unknown, resumeFrom: number, what: string): WatchError {
  const s = statusOf(body);
  const message = `watch of ${what} from resourceVersion ${resumeFrom}: ${s.message ?? `HTTP ${status}`}`;
  if (status === 410 || s.code === 410 || s.reason === 'Expired' || s.reason === 'Gone') {
    return { reason: 'compacted', compactRevision: resumeFrom + 1, message };
  }
  return { reason: 'failed', message };
}

/** Runs the planned watches until `signal` aborts or one fails; resolves once every stream is registered. */
export async function runWatch(
  transport: KubeTransport,
  plans: readonly WatchPlan[],
  fromRevision: number,
  byKind: Readonly<Record<string, number>> | undefined,
  handler: WatchHandler,
  signal: AbortSignal,
): Promise<void> {
  const stop = new AbortController();
  const all = AbortSignal.any([signal, stop.signal]);
  let failed = false;
  const fail = (e: WatchError): void => {
    if (failed || signal.aborted) return;
    failed = true;
    stop.abort();
    handler.onError(e);
  };
  const deliver = (updates: WatchUpdate[]): void => {
    if (!all.aborted && updates.length > 0) handler.onUpdates(updates);
  };
  const streams = plans.map((plan) => {
    // A resource's watch starts at the earliest start of the kinds it feeds (never before `fromRevision`).
    const starts = plan.kinds.map((k) => Math.max(fromRevision, byKind?.[k] ?? fromRevision));
    return new Stream(transport, plan, Math.min(...starts) - 1, deliver, fail, all);
  });
  await Promise.all(streams.map((s) => s.registered));
}

/** One Kubernetes watch, reopened from its last resourceVersion until aborted or failed. */
class Stream {
  readonly registered: Promise<void>;
  #cursor: number;
  readonly #backoff = new Backoff(100, 5000);

  readonly transport: KubeTransport;
  readonly plan: WatchPlan;
  readonly deliver: (u: WatchUpdate[]) => void;
  readonly fail: (e: WatchError) => void;
  readonly signal: AbortSignal;

  constructor(
    transport: KubeTransport,
    plan: WatchPlan,
    cursor: number,
    deliver: (u: WatchUpdate[]) => void,
    fail: (e: WatchError) => void,
    signal: AbortSignal,
  ) {
    this.transport = transport;
    this.plan = plan;
    this.deliver = deliver;
    this.fail = fail;
    this.signal = signal;
    this.#cursor = cursor;
    let markRegistered: () => void = () => undefined;
    this.registered = new Promise((resolve) => {
      markRegistered = resolve;
    });
    void this.#loop(markRegistered);
  }

  get #what(): string {
    return collectionPath(this.plan.api, this.plan.namespace);
  }

  /** A method, not a getter, so that checks after an await are not narrowed away by the linter. */
  #stopped(): boolean {
    return this.signal.aborted;
  }

  async #loop(registered: () => void): Promise<void> {
    while (!this.#stopped()) {
      const end = await this.#once(registered).catch((e: unknown): StreamEnd => ({
        kind: 'retry',
        error: e,
      }));
      registered();
      if (this.#stopped()) return;
      if (end.kind === 'fatal') {
        this.fail(end.error);
        return;
      }
      if (end.error !== undefined) await sleep(this.#backoff.next(), { signal: this.signal });
    }
  }

  /** One watch request: resolves when it ends (the server closed it, the connection broke, or an error). */
  async #once(registered: () => void): Promise<StreamEnd> {
    const query = `?watch=true&allowWatchBookmarks=true&resourceVersion=${this.#cursor}`;
    const streamStop = new AbortController();
    const signal = AbortSignal.any([this.signal, streamStop.signal]);
    try {
      return await new Promise<StreamEnd>((resolve, reject) => {
        signal.addEventListener(
          'abort',
          () => {
            resolve({ kind: 'retry' });
          },
          { once: true },
        );
        const onEvent = (e: WatchEvent): void => {
          try {
            const r = this.#event(e);
            if (r !== undefined) resolve(r);
          } catch (err) {
            const message = `${this.#what}: ${errorMessage(err)}`;
            resolve({ kind: 'fatal', error: { reason: 'failed', message } });
          }
        };
        const onEnd = (error: Error | undefined): void => {
          resolve(error === undefined ? { kind: 'retry' } : { kind: 'retry', error });
        };
        this.transport.watch(`${this.#what}${query}`, { onEvent, onEnd }, signal).then((refused) => {
          if (refused === undefined) {
            this.#backoff.reset();
            registered();
          } else if (RETRIED_STATUS.has(refused.status)) {
            resolve({ kind: 'retry', error: new Error(`HTTP ${refused.status}`) });
          } else {
            resolve({
              kind: 'fatal',
              error: watchError(refused.status, refused.body, this.#cursor, this.#what),
            });
          }
        }, reject);
      });
    } finally {
      streamStop.abort();
    }
  }

  /** Handles one event; a StreamEnd when it ends the stream. */
  #event(e: WatchEvent): StreamEnd | undefined {
    switch (e.type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        const updates = eventUpdates(this.plan, e.type, e.object);
        this.#cursor = objectRevision(e.object);
        this.deliver(updates);
        return undefined;
      }
      case 'BOOKMARK':
        this.#cursor = objectRevision(e.object);
        return undefined;
      case 'ERROR': {
        const s = statusOf(e.object);
        if (s.code !== undefined && RETRIED_STATUS.has(s.code)) {
          return { kind: 'retry', error: new Error(s.message ?? `HTTP ${s.code}`) };
        }
        return { kind: 'fatal', error: watchError(s.code ?? 0, e.object, this.#cursor, this.#what) };
      }
      default:
        return {
          kind: 'fatal',
          error: {
            reason: 'failed',
            message: `${this.#what}: unknown watch event type ${JSON.stringify(e.type)}`,
          },
        };
    }
  }
}
