/**
 * `?watch=true` on a collection: a stream of newline-delimited watch events (`{"type":"ADDED","object":...}`)
 * from the backend's watch, with Kubernetes' semantics for the start point:
 * - no `resourceVersion`, or `0`: the current objects as ADDED events first (a list), then changes after it;
 * - `resourceVersion=N`: changes after N. Whether a change is ADDED, MODIFIED or DELETED for the client
 *   depends on the key's value at N (matching the selectors or not), asked of the backend (`valueAt`) the
 *   first time the watch meets the key; history compacted away counts as absent.
 * An object that stops matching the label or field selector is reported DELETED, as Kubernetes does. A
 * compacted start (the backend's `compacted`) is an ERROR event with a 410 Expired Status, then the end of
 * the stream; `timeoutSeconds` ends the stream after that long. A Table watch (kubectl get -w) sends each
 * object as a one-row Table, the column definitions only in the first event.
 */
import type { ServerResponse } from 'node:http';
import type { Backend, Resource, ResourceKey, Update } from '../datastore/index.js';
import { errorMessage } from '../lib/errors.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import type { Scope } from './rest.js';
import { parseFieldSelector, parseLabelSelector, selectableFields } from './selectors.js';
import { failure } from './status.js';
import { toTable } from './table.js';

export interface WatchRequest {
  readonly scope: Scope;
  readonly query: URLSearchParams;
  readonly table: boolean;
  readonly signal: AbortSignal;
}

/** At most this long for one watch request (kube-apiserver's default --min-request-timeout is 1800 s). */
const MAX_WATCH_SECONDS = 1800;

function keyOfResource(r: Resource): string {
  return `${r.metadata.namespace ?? ''}/${r.metadata.name}`;
}

export async function serveWatch(backend: Backend, req: WatchRequest, res: ServerResponse): Promise<void> {
  const { scope, query } = req;
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields = parseFieldSelector(query.get('fieldSelector'));
  const matches = (r: Resource): boolean => labels(r.metadata.labels ?? {}) && fields(selectableFields(r));
  const filter = {
    kind: scope.resource.kind,
    ...(scope.resource.namespaced && scope.namespace !== undefined ? { namespace: scope.namespace } : {}),
  };
  const rv = query.get('resourceVersion');
  const fromList = rv === null || rv === '' || rv === '0';
  const listed = fromList ? await backend.list(filter) : undefined;
  const fromRevision = listed !== undefined ? listed.revision + 1 : Number(rv) + 1;
  if (!Number.isSafeInteger(fromRevision) || fromRevision < 1) {
    throw failure('BadRequest', `invalid resourceVersion ${JSON.stringify(rv)}`);
  }
  // What the client has seen: the list's objects, or (from a resourceVersion) each key's value at it,
  // looked up the first time the watch meets the key.
  const visible = new Map<string, Resource | null>();
  for (const i of listed?.items ?? []) if (matches(i)) visible.set(keyOfResource(i), i);
  const seenBefore = async (key: ResourceKey, k: string): Promise<Resource | undefined> => {
    const known = visible.get(k);
    if (known !== undefined) return known ?? undefined;
    if (listed !== undefined) return undefined;
    const past = await backend.valueAt(key, fromRevision - 1).catch(() => undefined);
    const value = past?.value !== undefined && matches(past.value) ? past.value : undefined;
    visible.set(k, value ?? null);
    return value;
  };

  const done = new AbortController();
  const stop = (): void => {
    done.abort();
  };
  req.signal.addEventListener('abort', stop, { once: true });
  const timeout = Math.min(
    Number(query.get('timeoutSeconds') ?? MAX_WATCH_SECONDS) || MAX_WATCH_SECONDS,
    MAX_WATCH_SECONDS,
  );
  const timer = setTimeout(stop, timeout * 1000);
  let first = true;
  const send = (type: string, object: unknown): void => {
    if (done.signal.aborted) return;
    let obj = object;
    if (req.table && type !== 'ERROR') {
      const r = object as Resource;
      obj = toTable([r], { resourceVersion: r.metadata.resourceVersion ?? '' }, first);
      first = false;
    }
    res.write(`${JSON.stringify({ type, object: obj })}\n`);
  };

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  for (const i of visible.values()) if (i !== null) send('ADDED', i);

  const onUpdate = async (u: Update): Promise<void> => {
    const k = `${u.key.namespace ?? ''}/${u.key.name}`;
    const before = await seenBefore(u.key, k);
    if (u.type === 'set' && matches(u.value)) {
      visible.set(k, u.value);
      send(before === undefined ? 'ADDED' : 'MODIFIED', u.value);
      return;
    }
    visible.set(k, null);
    if (before === undefined) return;
    const last: Resource =
      u.type === 'set'
        ? u.value
        : { ...before, metadata: { ...before.metadata, resourceVersion: String(u.revision) } };
    send('DELETED', last);
  };
  // Updates are handled one at a time, in order (a first sight of a key may ask the backend).
  let queue = Promise.resolve();

  try {
    await backend.watch(
      { ...filter, fromRevision },
      {
        onUpdates: (updates) => {
          for (const u of updates) {
            if (u.type === 'invalid') continue;
            queue = queue
              .then(() => onUpdate(u))
              .catch((e: unknown) => {
                send('ERROR', failure('InternalError', `watch: ${errorMessage(e)}`).status);
                stop();
              });
          }
        },
        onError: (e) => {
          const status =
            e.reason === 'compacted'
              ? failure('Expired', `too old resource version: ${fromRevision - 1} (${e.compactRevision})`)
                  .status
              : failure('InternalError', `watch ended: ${e.message}`).status;
          send('ERROR', status);
          stop();
        },
      },
      { signal: done.signal },
    );
    if (!done.signal.aborted) {
      await new Promise<void>((resolve) => {
        done.signal.addEventListener('abort', () => {
          resolve();
        });
      });
    }
  } finally {
    clearTimeout(timer);
    req.signal.removeEventListener('abort', stop);
    res.end();
  }
}

/** The apiVersion/kind every item of a list carries. */
export function withTypeMeta(r: Resource): Resource {
  return { ...r, apiVersion: CALICO_API_VERSION };
}
