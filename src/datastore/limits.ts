/**
 * Size bound of one stored resource, the same on every backend. etcd refuses any request larger than its
 * `--max-request-bytes`, 1.5 MiB (1,572,864 bytes) by default, with a bare "request is too large"; the
 * embedded store has no such limit, so a resource written there could never be moved to etcd. Both backends
 * therefore refuse, before writing anything, a resource whose write request would exceed the etcd default,
 * with a message naming the resource and both sizes.
 *
 * A write request carries the value, the key twice (the compare that guards the write and the put) and a few
 * bytes of framing. Measured against etcd 3.4 (`txn` with one compare and one put, key of 81 bytes): the
 * largest value accepted is 1,572,663 bytes, i.e. framing of 39 bytes beside the two keys; 64 is used here.
 */
import { kindInfo } from '../api/kinds.js';
import { ValidationError } from '../lib/errors.js';
import type { Resource, ResourceKey } from './api.js';
import { etcdKey } from './etcd/keys.js';
import { formatKey, stampCreate } from './resource.js';

/** etcd's default `--max-request-bytes` (etcd 3.4: 1.5 MiB). */
export const MAX_REQUEST_BYTES = 1_572_864;

const FRAMING_BYTES = 64;

/** The size of the write request that stores `json` under `key` (as etcd would see it). */
export function writeRequestBytes(key: ResourceKey, json: string): number {
  const plural = kindInfo(key.kind)?.plural ?? key.kind.toLowerCase();
  const keyBytes = Buffer.byteLength(etcdKey(key, plural));
  return Buffer.byteLength(json) + 2 * keyBytes + FRAMING_BYTES;
}

/** Throws ValidationError (nothing is written) when storing `json` under `key` would exceed the limit. */
export function checkStoredSize(key: ResourceKey, json: string): void {
  const request = writeRequestBytes(key, json);
  if (request <= MAX_REQUEST_BYTES) return;
  throw new ValidationError(
    [
      {
        path: '',
        message:
          `resource too large to store: a write of it is ${request} bytes (${Buffer.byteLength(json)} bytes ` +
          `of JSON), over the limit of ${MAX_REQUEST_BYTES} bytes (etcd's default --max-request-bytes, ` +
          'applied on every datastore)',
      },
    ],
    formatKey(key),
  );
}

/** The JSON stored for `stored` under `key`; throws ValidationError when it is too large (see above). */
export function encodeForStore(key: ResourceKey, stored: object): string {
  const json = JSON.stringify(stored);
  checkStoredSize(key, json);
  return json;
}

/** More than the bytes a store adds to a new object (uid, creationTimestamp and their JSON punctuation). */
const STAMP_BYTES = 128;

/**
 * The write request size of `obj` stored as a new object; throws ValidationError when it is too large. Cheap
 * for the usual object far below the bound (no copy); exact near it.
 */
export function checkNewSize(key: ResourceKey, obj: Resource, nowMs: number): number {
  const rough = writeRequestBytes(key, JSON.stringify(obj)) + STAMP_BYTES;
  if (rough <= MAX_REQUEST_BYTES) return rough;
  const json = encodeForStore(key, stampCreate(obj, nowMs));
  return writeRequestBytes(key, json);
}
