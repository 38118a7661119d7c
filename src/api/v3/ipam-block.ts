/**
 * IPAMBlock (projectcalico.org/v3, IPAM-internal): one block of a pool and every allocation in it (reference
 * §1.17). Written only by the allocator (`src/ipam`); decoding checks shapes, not the block's internal
 * consistency (that is `ipam check`'s job, so that a damaged block can still be read and reported).
 */
import { calicoKind } from '../codec.js';
import {
  bool,
  type Decoder,
  int,
  list,
  opt,
  req,
  show,
  str,
  stringMap,
  struct,
  withSchema,
} from '../decoder.js';
import type { ResourceEnvelope } from '../meta.js';
import { cidrField } from '../net-fields.js';
import { checkIpamObjectName } from './ipam-names.js';

export interface AllocationAttribute {
  /** The handle that owns the allocation; absent once the address was released (cooldown). */
  handle_id?: string;
  /** The active owner's attributes (pod, namespace, node, timestamp, type, ...). */
  secondary?: Record<string, string>;
  /** The alternate owner's attributes (KubeVirt live migration). */
  alternate?: Record<string, string>;
  /** When the address was released (RFC 3339); it is reusable once the cooldown has passed. */
  releasedAt?: string;
}

export interface IPAMBlockSpec {
  cidr: string;
  /** `host:<node>` or `virtual:<name>`; absent for a block without affinity. */
  affinity?: string;
  affinityClaimTime?: string;
  /** Per ordinal: index into `attributes`, or null when free. */
  allocations: (number | null)[];
  /** Free ordinals, in the order they are handed out (FIFO). */
  unallocated: number[];
  attributes: AllocationAttribute[];
  /** Bumped on every write. */
  sequenceNumber: number;
  /** Ordinal (as a string) -> the block's sequence number when it was allocated. */
  sequenceNumberForAllocation?: Record<string, number>;
  deleted?: boolean;
  /** Deprecated; the IPAMConfiguration's strictAffinity is used instead. */
  strictAffinity?: boolean;
}
export type IPAMBlock = ResourceEnvelope<'IPAMBlock', IPAMBlockSpec>;

const ordinal = int(0, 2 ** 31);
const COUNT_MAP = { type: 'object', additionalProperties: { type: 'integer' } } as const;
const seq = int(0, Number.MAX_SAFE_INTEGER);

const allocationEntry: Decoder<number | null> = withSchema(
  { type: 'integer', nullable: true },
  (v, path, issues) => (v === null ? null : ordinal(v, path, issues)),
);

const seqMap: Decoder<Record<string, number>> = withSchema(COUNT_MAP, (v, path, issues) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    issues.add(path, `expected a map of sequence numbers, got ${show(v)}`);
    return undefined;
  }
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(v as Record<string, unknown>)) {
    const d = seq(n, `${path}["${k}"]`, issues);
    if (d !== undefined) out[k] = d;
  }
  return out;
});

const attribute = struct<AllocationAttribute>({
  handle_id: opt(str),
  secondary: opt(stringMap),
  alternate: opt(stringMap),
  releasedAt: opt(str),
});

export const ipamBlockCodec = calicoKind({
  kind: 'IPAMBlock',
  checkName: checkIpamObjectName,
  spec: struct<IPAMBlockSpec>({
    cidr: req(cidrField),
    affinity: opt(str),
    affinityClaimTime: opt(str),
    allocations: req(list(allocationEntry)),
    unallocated: req(list(ordinal)),
    attributes: req(list(attribute)),
    sequenceNumber: req(seq),
    sequenceNumberForAllocation: opt(seqMap),
    deleted: opt(bool),
    strictAffinity: opt(bool),
  }),
});
