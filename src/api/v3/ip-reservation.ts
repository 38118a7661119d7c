/**
 * IPReservation (projectcalico.org/v3, cluster-scoped): CIDRs or addresses that Calico IPAM must not hand out
 * in new allocations; existing allocations are left alone (reference §1.9).
 */
import { calicoKind } from '../codec.js';
import { list, opt, struct } from '../decoder.js';
import type { ResourceEnvelope } from '../meta.js';
import { checkSubdomain } from '../names.js';
import { cidrField } from '../net-fields.js';

export interface IPReservationSpec {
  /** CIDRs or bare addresses; host bits may be set. */
  reservedCIDRs?: string[];
}
export type IPReservation = ResourceEnvelope<'IPReservation', IPReservationSpec>;

export const ipReservationCodec = calicoKind({
  kind: 'IPReservation',
  checkName: (name) => checkSubdomain(name),
  spec: struct<IPReservationSpec>({ reservedCIDRs: opt(list(cidrField)) }),
});
