/**
 * IPAMHandle (projectcalico.org/v3, IPAM-internal): the index from a handle ID (e.g.
 * `k8s-pod-network.<containerID>`) to the blocks holding its addresses and how many each holds (reference §1.17).
 */
import { calicoKind } from '../codec.js';
import { bool, type Decoder, int, opt, req, show, str, struct, withSchema } from '../decoder.js';
import type { ResourceEnvelope } from '../meta.js';
import { checkIpamObjectName } from './ipam-names.js';

export interface IPAMHandleSpec {
  handleID: string;
  /** Block CIDR -> number of this handle's addresses in it. */
  block: Record<string, number>;
  deleted?: boolean;
}
export type IPAMHandle = ResourceEnvelope<'IPAMHandle', IPAMHandleSpec>;

const count = int(0, Number.MAX_SAFE_INTEGER);

const blockCounts: Decoder<Record<string, number>> = withSchema(
  { type: 'object', additionalProperties: { type: 'integer' } },
  (v, path, issues) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      issues.add(path, `expected a map of block CIDR to count, got ${show(v)}`);
      return undefined;
    }
    const out: Record<string, number> = {};
    for (const [k, n] of Object.entries(v as Record<string, unknown>)) {
      const d = count(n, `${path}["${k}"]`, issues);
      if (d !== undefined) out[k] = d;
    }
    return out;
  },
);

export const ipamHandleCodec = calicoKind({
  kind: 'IPAMHandle',
  checkName: checkIpamObjectName,
  spec: struct<IPAMHandleSpec>({
    handleID: req(str),
    block: req(blockCounts),
    deleted: opt(bool),
  }),
});
