/**
 * IPAM's errors: one class with a closed `reason`, grouped under the project's error codes by how a caller
 * reacts (house style §4.6). Transient compare-and-swap conflicts never leave the allocator except as
 * `retriesExhausted` after the bounded retry loop.
 */
import { CalicoError, type ErrorCode } from '../lib/errors.js';

export type IpamErrorReason =
  /** No enabled pool of the family qualifies for this request (version, use, selectors, requested pools). */
  | 'noQualifiedPool'
  /** A requested pool does not exist or is disabled. */
  | 'poolNotUsable'
  /** No free address in the qualifying pools within the block limit / affinity rules. */
  | 'exhausted'
  /** The address is already allocated. */
  | 'alreadyAllocated'
  /** The address is not inside any pool or block this request may use. */
  | 'notInPool'
  /** A block's affinity belongs to another host and strict affinity forbids using it. */
  | 'affinityMismatch'
  /** A release carried a sequence number or handle that no longer matches (stale information). */
  | 'staleRelease'
  /** A block affinity cannot be released because the block still holds addresses. */
  | 'blockNotEmpty'
  /** Too many compare-and-swap conflicts in a row. */
  | 'retriesExhausted'
  /** The stored IPAMConfiguration breaks a cross-field rule. */
  | 'invalidConfig'
  /** A stored IPAM object (block, affinity, handle) does not decode; `ipam check` reports it. */
  | 'invalidResource';

const CODE: Readonly<Record<IpamErrorReason, ErrorCode>> = {
  noQualifiedPool: 'CALICO_ERR_NOT_FOUND',
  poolNotUsable: 'CALICO_ERR_VALIDATION',
  exhausted: 'CALICO_ERR_NOT_FOUND',
  alreadyAllocated: 'CALICO_ERR_ALREADY_EXISTS',
  notInPool: 'CALICO_ERR_VALIDATION',
  affinityMismatch: 'CALICO_ERR_CONFLICT',
  staleRelease: 'CALICO_ERR_CONFLICT',
  blockNotEmpty: 'CALICO_ERR_CONFLICT',
  retriesExhausted: 'CALICO_ERR_CONFLICT',
  invalidConfig: 'CALICO_ERR_VALIDATION',
  invalidResource: 'CALICO_ERR_VALIDATION',
};

export class IpamError extends CalicoError {
  readonly reason: IpamErrorReason;
  constructor(reason: IpamErrorReason, message: string, options?: { cause?: unknown }) {
    super(CODE[reason], message, options);
    this.reason = reason;
  }
}

export function isIpamError(e: unknown, reason?: IpamErrorReason): e is IpamError {
  return e instanceof IpamError && (reason === undefined || e.reason === reason);
}
