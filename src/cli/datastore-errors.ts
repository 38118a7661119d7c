/**
 * One clean line for a datastore that cannot be reached. The etcd client reports gRPC's status text
 * (`14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379.
 * Resolution note: `); users need the datastore and the reason.
 */
import { errorMessage, type DatastoreUnavailableError } from '../lib/errors.js';

/** The socket-level reason inside a gRPC status message, e.g. `connect ECONNREFUSED 127.0.0.1:2379`. */
function reason(text: string): string {
  const last = /Last error: (?:Error: )?(.*?)(?:\.\s*Resolution note:.*)?$/s.exec(text)?.[1];
  const base = last ?? text.replace(/^etcd:\s*/, '').replace(/^\d+ [A-Z_]+:\s*/, '');
  return (base.split('\n')[0] ?? base).replace(/\.?\s*Resolution note:.*$/, '').trim();
}

export function unavailableMessage(e: DatastoreUnavailableError): string {
  const cause = e.cause === undefined ? e.message : errorMessage(e.cause);
  const why = reason(cause) || reason(e.message);
  return `the datastore is unavailable: ${why}`;
}
