/**
 * BGPFilter (projectcalico.org/v3, cluster-scoped, reference §1.12): ordered import/export rules per IP
 * family, referenced by name from BGPPeer.filters. Each rule matches on prefix (cidr + matchOperator, with
 * an optional prefix-length range), route source, interface, peer type, community, AS-path prefix and
 * priority, and ends in Accept or Reject; Accept rules may first modify the route (operations).
 */
import { parseCidr } from '../../lib/net/ip.js';
import { calicoKind } from '../codec.js';
import {
  checked,
  type Decoder,
  int,
  type Issues,
  list,
  oneOf,
  opt,
  refine,
  req,
  show,
  struct,
} from '../decoder.js';
import { checkSubdomain } from '../names.js';
import { asNumberField, communityField } from './bgp-common.js';
import { MAX_ROUTE_PRIORITY } from './bgp-configuration.js';
import type { BGPFilterOperation, BGPFilterPrefixLength, BGPFilterRule, BGPFilterSpec } from './bgp-types.js';

const FILTER_INTERFACE = /^[a-zA-Z0-9_.*-]{1,15}$/;
const priority = int(1, MAX_ROUTE_PRIORITY);

function familyNet(family: 4 | 6): Decoder<string> {
  return checked((s) => {
    const c = parseCidr(s);
    if (c === undefined || c.family !== family) return `invalid IPv${family} CIDR ${show(s)}`;
    return c.hostBitsSet ? `invalid IPv${family} CIDR ${show(s)}: host bits are set` : undefined;
  });
}

const operation: Decoder<BGPFilterOperation> = refine(
  struct<BGPFilterOperation>({
    addCommunity: opt(struct<{ value: string }>({ value: req(communityField) })),
    prependASPath: opt(
      struct<{ prefix: number[] }>({ prefix: req(list(asNumberField, { minItems: 1, maxItems: 10 })) }),
    ),
    setPriority: opt(struct<{ value: number }>({ value: req(priority) })),
  }),
  (op, path, issues) => {
    const n = [op.addCommunity, op.prependASPath, op.setPriority].filter((x) => x !== undefined).length;
    if (n !== 1 && !issues.hasAt(path)) {
      issues.add(path, 'exactly one of addCommunity, prependASPath or setPriority must be set');
    }
  },
);

function ruleField(family: 4 | 6): Decoder<BGPFilterRule> {
  const bits = family === 4 ? 32 : 128;
  return refine(
    struct<BGPFilterRule>({
      cidr: opt(familyNet(family)),
      prefixLength: opt(struct<BGPFilterPrefixLength>({ min: opt(int(0, bits)), max: opt(int(0, bits)) })),
      source: opt(oneOf(['RemotePeers'], 'source')),
      interface: opt(
        checked((s) =>
          FILTER_INTERFACE.test(s)
            ? undefined
            : `invalid interface ${show(s)}: must be 1-15 characters of letters, digits, '_', '.', '-' or '*'`,
        ),
      ),
      matchOperator: opt(oneOf(['Equal', 'NotEqual', 'In', 'NotIn'], 'matchOperator')),
      peerType: opt(oneOf(['eBGP', 'iBGP'], 'peerType')),
      communities: opt(
        struct<{ values: string[] }>({ values: req(list(communityField, { minItems: 1, maxItems: 1 })) }),
      ),
      asPathPrefix: opt(list(asNumberField)),
      priority: opt(priority),
      action: req(oneOf(['Accept', 'Reject'], 'action')),
      operations: opt(list(operation, { minItems: 1, maxItems: 10 })),
    }),
    checkRule,
  );
}

function checkRule(r: BGPFilterRule, path: string, issues: Issues): void {
  const hasCidr = (r.cidr ?? '') !== '';
  if (hasCidr !== (r.matchOperator !== undefined) && !issues.hasAt(`${path}.cidr`)) {
    issues.add(
      hasCidr ? `${path}.matchOperator` : `${path}.cidr`,
      'cidr and matchOperator must both be set or both be empty',
    );
  }
  if (r.prefixLength !== undefined && !hasCidr && !issues.hasAt(`${path}.cidr`)) {
    issues.add(`${path}.prefixLength`, 'cidr is required when prefixLength is set');
  }
  if ((r.operations ?? []).length > 0 && r.action !== 'Accept') {
    issues.add(`${path}.operations`, 'operations may only be used with action Accept');
  }
}

const v4Rules = list(ruleField(4));
const v6Rules = list(ruleField(6));

export const bgpFilterCodec = calicoKind({
  kind: 'BGPFilter',
  checkName: (name) => checkSubdomain(name),
  spec: struct<BGPFilterSpec>({
    exportV4: opt(v4Rules),
    importV4: opt(v4Rules),
    exportV6: opt(v6Rules),
    importV6: opt(v6Rules),
  }),
});
