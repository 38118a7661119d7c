import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DatastoreUnavailableError } from '../lib/errors.js';
import { unavailableMessage } from './datastore-errors.js';

describe('unavailableMessage', () => {
  it('keeps the reason of a gRPC status, on one line', () => {
    const grpc = new Error(
      '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: ',
    );
    const e = new DatastoreUnavailableError(`etcd: ${grpc.message}`, { cause: grpc });
    assert.equal(unavailableMessage(e), 'the datastore is unavailable: connect ECONNREFUSED 127.0.0.1:2379');
    const deadline = new DatastoreUnavailableError('etcd: 4 DEADLINE_EXCEEDED: Deadline exceeded\nafter 5 s');
    assert.equal(unavailableMessage(deadline), 'the datastore is unavailable: Deadline exceeded');
  });
});
