/**
 * BlockAffinity (projectcalico.org/v3, IPAM-internal): a host's (or virtual owner's) claim on one block, with
 * the claim's state machine `pending -> confirmed -> pendingDeletion` (reference §1.17). `deleted` may be a
 * boolean or Calico's v1 string form; it is normalised to a boolean.
 */
import { calicoKind } from '../codec.js';
import { type Decoder, oneOf, opt, req, show, str, struct, withSchema } from '../decoder.js';
import type { ResourceEnvelope } from '../meta.js';
import { netField } from '../net-fields.js';
import { checkIpamObjectName } from './ipam-names.js';
import { OPEN_SCHEMA } from '../json-schema.js';

const AFFINITY_STATES = ['pending', 'confirmed', 'pendingDeletion'] as const;

export type AffinityState = '' | 'pending' | 'confirmed' | 'pendingDeletion';
export type AffinityType = 'host' | 'virtual';

export interface BlockAffinitySpec {
  state: AffinityState;
  node: string;
  /** Absent on rows written before the field existed: read as `host`. */
  type?: AffinityType;
  cidr: string;
  deleted?: boolean;
}
export type BlockAffinity = ResourceEnvelope<'BlockAffinity', BlockAffinitySpec>;

/** A boolean, or its string form (`"true"`), which libcalico's model stores. */
const deletedField: Decoder<boolean> = withSchema(OPEN_SCHEMA, (v, path, issues) => {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  issues.add(path, `expected a boolean, got ${show(v)}`);
  return undefined;
});

export const blockAffinityCodec = calicoKind({
  kind: 'BlockAffinity',
  checkName: checkIpamObjectName,
  spec: struct<BlockAffinitySpec>({
    state: req(
      withSchema({ type: 'string', enum: ['', ...AFFINITY_STATES] }, (v, path, issues) =>
        v === '' ? '' : oneOf(AFFINITY_STATES, 'affinity state')(v, path, issues),
      ),
    ),
    node: req(str),
    type: opt(oneOf(['host', 'virtual'], 'affinity type')),
    cidr: req(netField),
    deleted: opt(deletedField),
  }),
  check: (_meta, spec, issues) => {
    if (spec.deleted === true) issues.add('spec.deleted', 'deleted must not be set to true');
  },
});
