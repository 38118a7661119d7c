/**
 * `?watch=true` on a collection: a stream of newline-delimited watch events (`{"type":"ADDED","object":...}`)
 * from the backend's watch, with Kubernetes' semantics for the start point:
 * - no `resourceVersion`, or `0`: the current objects as ADDED events first (a list), then changes after it;
 * - `resourceVersion=N`: changes after N. Whether a change is ADDED or MODIFIED is decided by whether the
 *   object was known to this watch (seeded from a list taken when the watch starts), so an object created
 *   between N and the start is reported MODIFIED: a known simplification.
 * An object that stops matching the label or field selector is reported DELETED, as Kubernetes does. A
 * compacted start (the backend's `compacted`) is an ERROR event with a 410 Expired Status, then the end of
 * the stream; `timeoutSeconds` ends the stream after that long. A Table watch (kubectl get -w) sends each
 * object as a one-row Table, the column definitions only in the first event.
 */
import type { ServerResponse } from 'node:http';
import type { Backend, Resource, Update } from '../datastore/index.js';
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
  const listed = await backend.list(filter);
  const fromList = rv === null || rv === '' || rv === '0';
  const fromRevision = fromList ? listed.revision + 1 : Number(rv) + 1;
  if (!Number.isSafeInteger(fromRevision) || fromRevision < 1) {
    throw failure('BadRequest', `invalid resourceVersion ${JSON.stringify(rv)}`);
  }
  const visible = new Map<string, Resource>();
  for (const i of listed.items) if (matches(i)) visible.set(keyOfResource(i), i);

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
  if (fromList) for (const i of visible.values()) send('ADDED', i);

  const onUpdate = (u: Update): void => {
    const k = `${u.key.namespace ?? ''}/${u.key.name}`;
    const before = visible.get(k);
    if (u.type === 'set' && matches(u.value)) {
      visible.set(k, u.value);
      send(before === undefined ? 'ADDED' : 'MODIFIED', u.value);
      return;
    }
    if (before === undefined) return;
    visible.delete(k);
    const last: Resource =
      u.type === 'set'
        ? u.value
        : { ...before, metadata: { ...before.metadata, resourceVersion: String(u.revision) } };
    send('DELETED', last);
  };

  try {
    await backend.watch(
      { ...filter, fromRevision },
      {
        onUpdates: (updates) => {
          for (const u of updates) if (u.type !== 'invalid') onUpdate(u);
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
