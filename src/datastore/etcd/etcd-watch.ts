/**
 * One etcd watch on its own gRPC watch stream, with resume. The etcd3 library's Watcher resumes from the
 * response *header* revision, which for a catching-up watch is the current store revision rather than the last
 * event sent, so a reconnect could skip events; this watch instead tracks the revision after the last event it
 * delivered (or after a progress notification, which etcd sends only when the watcher is in sync) and reopens
 * the stream from there with backoff (100 ms .. 2 s) for as long as it runs, e.g. across an etcd restart.
 * A resume below the compaction revision ends the watch with `compacted`; the syncer then resyncs.
 */
import type { Etcd3, IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import type { WatchFilter, WatchHandler, WatchUpdate } from '../api.js';
import { parseStored } from '../stored.js';
import { mapEtcdError, sleep } from './client.js';
import { parseEtcdKey, prefixEnd } from './keys.js';

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

export class EtcdWatch {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #handler: WatchHandler;
  readonly #signal: AbortSignal;
  #next: number;
  #stream: WatchStream | undefined;
  #done = false;

  constructor(
    client: Etcd3,
    prefix: string,
    filter: WatchFilter,
    handler: WatchHandler,
    signal: AbortSignal,
  ) {
    this.#client = client;
    this.#prefix = prefix;
    this.#handler = handler;
    this.#signal = signal;
    this.#next = filter.fromRevision;
  }

  /** Opens the stream; rejects (DatastoreUnavailableError) if etcd cannot be reached the first time. */
  async start(): Promise<void> {
    if (this.#signal.aborted) return;
    this.#signal.addEventListener(
      'abort',
      () => {
        this.#stop();
      },
      { once: true },
    );
    await this.#open();
  }

  #stop(): void {
    this.#done = true;
    this.#stream?.cancel();
    this.#stream = undefined;
  }

  /** A method, not the field, so that checks after an await are not narrowed away. */
  #isDone(): boolean {
    return this.#done;
  }

  #fail(error: Parameters<WatchHandler['onError']>[0]): void {
    if (this.#done) return;
    this.#stop();
    this.#handler.onError(error);
  }

  /** Opens a stream from `#next`; resolves once etcd confirms the watch, rejects if it fails before that. */
  async #open(): Promise<void> {
    const stream = await this.#client.watchClient.watch().catch((e: unknown) => {
      throw mapEtcdError(e);
    });
    if (this.#done) {
      stream.cancel();
      return;
    }
    this.#stream = stream;
    await new Promise<void>((resolve, reject) => {
      let created = false;
      const lost = (e: unknown): void => {
        if (this.#stream !== stream) return;
        this.#stream = undefined;
        if (!created) reject(mapEtcdError(e));
        else this.#reconnect();
      };
      stream.on('data', (res) => {
        if (res.created && !created) {
          created = true;
          resolve();
        }
        this.#onResponse(res);
      });
      stream.on('error', lost);
      stream.on('end', () => {
        lost(new Error('etcd watch stream ended'));
      });
      stream.write({
        create_request: {
          key: Buffer.from(this.#prefix),
          range_end: prefixEnd(this.#prefix),
          start_revision: String(this.#next),
          progress_notify: true,
        },
      });
    });
  }

  #reconnect(): void {
    void (async () => {
      for (let delay = 100; !this.#done; delay = Math.min(delay * 2, 2000)) {
        await sleep(delay, this.#signal);
        if (this.#isDone()) return;
        // While etcd is unreachable keep trying, until stopped.
        const opened = await this.#open().then(
          () => true,
          () => false,
        );
        if (opened) return;
      }
    })();
  }

  #onResponse(res: IWatchResponse): void {
    if (this.#done) return;
    if (res.canceled) {
      const compactRevision = Number(res.compact_revision);
      if (compactRevision > 0) {
        this.#fail({
          reason: 'compacted',
          compactRevision,
          message: `watch from revision ${this.#next}: history before revision ${compactRevision} has been compacted`,
        });
      } else {
        this.#fail({ reason: 'failed', message: `etcd canceled the watch: ${res.cancel_reason}` });
      }
      return;
    }
    if (res.events.length === 0) {
      // A progress notification (not the creation answer) means every event up to header.revision was sent.
      if (!res.created) this.#next = Math.max(this.#next, Number(res.header.revision) + 1);
      return;
    }
    const updates = res.events.flatMap(toUpdate);
    const last = res.events.at(-1);
    if (last !== undefined) this.#next = Number(last.kv.mod_revision) + 1;
    if (updates.length === 0) return;
    try {
      this.#handler.onUpdates(updates);
    } catch (e) {
      // A throwing handler is a bug in the caller: surface it outside the gRPC stream's event dispatch.
      setImmediate(() => {
        throw e;
      });
    }
  }
}

/** One event as a watch update; a value that is not a resource becomes an `invalid` update (never absent). */
function toUpdate(ev: IEvent): WatchUpdate[] {
  const key = parseEtcdKey(ev.kv.key.toString());
  if (key === undefined) return [];
  const revision = Number(ev.kv.mod_revision);
  if (ev.type === 'Delete') return [{ type: 'deleted', key, revision }];
  const parsed = parseStored(key, ev.kv.value.toString(), revision);
  return parsed.ok
    ? [{ type: 'set', key, value: parsed.value, revision }]
    : [{ type: 'invalid', key, revision, problem: parsed.problem }];
}
