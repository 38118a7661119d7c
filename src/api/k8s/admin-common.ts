/**
 * Decoders shared by the network-policy-api kinds (admin-network-policy.ts, cluster-network-policy.ts):
 * subjects, peers, CIDRs, domain names, the "exactly one field" rule of the CRDs (minProperties =
 * maxProperties = 1) and the envelope, validated as the upstream CRDs' OpenAPI schema and CEL rules do.
 */
import { parseCidr } from '../../lib/net/ip.js';
import type { KindCodec } from '../codec.js';
import { decodeEnvelopeMeta, decodeSpec } from '../codec.js';
import {
  type Decoder,
  type Issues,
  list,
  opt,
  refine,
  req,
  schemaOf,
  show,
  str,
  struct,
  withSchema,
} from '../decoder.js';
import type { ObjectMeta } from '../meta.js';
import { labelSelectorField } from './label-selector.js';
import type {
  AdminPolicyEgressPeer,
  AdminPolicyIngressPeer,
  AdminPolicySubject,
  NamespacedPod,
} from './admin-types.js';

/** The CRDs' MinProperties=1 / MaxProperties=1: exactly one of `fields` is present on `value`. */
export function exactlyOne<T extends object>(fields: readonly (keyof T & string)[]) {
  return (value: T, path: string, issues: Issues): void => {
    if (issues.hasAt(path)) return;
    const set = fields.filter((f) => value[f] !== undefined);
    if (set.length !== 1) {
      issues.add(
        path,
        set.length === 0
          ? `exactly one of ${fields.join(', ')} must be set`
          : `exactly one of ${fields.join(', ')} must be set (found ${set.join(', ')})`,
      );
    }
  };
}

/** A string of at most `max` characters (the CRDs' MaxLength). */
export function maxLengthString(max: number): Decoder<string> {
  return withSchema({ type: 'string', maxLength: max }, (v, path, issues) => {
    const s = str(v, path, issues);
    if (s === undefined) return undefined;
    if (s.length > max) {
      issues.add(path, `must be no more than ${max} characters (got ${s.length})`);
      return undefined;
    }
    return s;
  });
}

/** CIDR (MaxLength 43, CEL `isCIDR(self)`): an IPv4 or IPv6 address with a prefix length. */
export const cidrField: Decoder<string> = withSchema({ type: 'string', maxLength: 43 }, (v, path, issues) => {
  const s = str(v, path, issues);
  if (s === undefined) return undefined;
  if (s.length > 43 || !s.includes('/') || parseCidr(s) === undefined) {
    issues.add(path, `Invalid CIDR format provided: ${show(s)}`);
    return undefined;
  }
  return s;
});

// The CRD's pattern, `A-z` included as upstream writes it.
const DOMAIN_NAME_RE =
  /^(\*\.)?([a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$/;

export const domainNameField: Decoder<string> = withSchema({ type: 'string' }, (v, path, issues) => {
  const s = str(v, path, issues);
  if (s === undefined) return undefined;
  if (!DOMAIN_NAME_RE.test(s)) {
    issues.add(path, `invalid domain name ${show(s)}`);
    return undefined;
  }
  return s;
});

/** NamespacedPod; v1alpha1 requires both selectors, v1alpha2 defaults an absent namespaceSelector to {}. */
export function namespacedPodField(namespaceSelectorRequired: boolean): Decoder<NamespacedPod> {
  const decode = struct<{
    namespaceSelector?: NamespacedPod['namespaceSelector'];
    podSelector: NamespacedPod['podSelector'];
  }>({
    namespaceSelector: namespaceSelectorRequired ? req(labelSelectorField) : opt(labelSelectorField),
    podSelector: req(labelSelectorField),
  });
  return withSchema(schemaOf(decode), (v, path, issues) => {
    const d = decode(v, path, issues);
    if (d === undefined) return undefined;
    return { namespaceSelector: d.namespaceSelector ?? {}, podSelector: d.podSelector };
  });
}

export function subjectField(pods: Decoder<NamespacedPod>): Decoder<AdminPolicySubject> {
  return refine(
    struct<AdminPolicySubject>({ namespaces: opt(labelSelectorField), pods: opt(pods) }),
    exactlyOne<AdminPolicySubject>(['namespaces', 'pods']),
  );
}

export function ingressPeerField(pods: Decoder<NamespacedPod>): Decoder<AdminPolicyIngressPeer> {
  return refine(
    struct<AdminPolicyIngressPeer>({ namespaces: opt(labelSelectorField), pods: opt(pods) }),
    exactlyOne<AdminPolicyIngressPeer>(['namespaces', 'pods']),
  );
}

const setOf25 = { minItems: 1, maxItems: 25, unique: true } as const;

/** An egress peer; `domainNames` only where the kind has it (not BaselineAdminNetworkPolicy). */
export function egressPeerField(
  pods: Decoder<NamespacedPod>,
  withDomainNames: boolean,
): Decoder<AdminPolicyEgressPeer> {
  const fields: (keyof AdminPolicyEgressPeer)[] = ['namespaces', 'pods', 'nodes', 'networks'];
  if (withDomainNames) fields.push('domainNames');
  const common = {
    namespaces: opt(labelSelectorField),
    pods: opt(pods),
    nodes: opt(labelSelectorField),
    networks: opt(list(cidrField, setOf25)),
  };
  const decode = withDomainNames
    ? struct<AdminPolicyEgressPeer>({ ...common, domainNames: opt(list(domainNameField, setOf25)) })
    : (struct<Omit<AdminPolicyEgressPeer, 'domainNames'>>(common) as Decoder<AdminPolicyEgressPeer>);
  return refine(decode, exactlyOne<AdminPolicyEgressPeer>(fields));
}

/**
 * The egress rules' CEL rule: a named port cannot go with networks, nodes or domainNames peers (they have
 * no named ports). `namedPorts` says whether the rule's ports include one.
 */
export function checkNamedPortPeers(
  to: readonly AdminPolicyEgressPeer[],
  namedPorts: boolean,
  path: string,
  issues: Issues,
): void {
  if (!namedPorts) return;
  const bad = to.some(
    (p) => p.networks !== undefined || p.nodes !== undefined || p.domainNames !== undefined,
  );
  if (bad) {
    issues.add(
      path,
      'networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames',
    );
  }
}

export interface PolicyApiKind<K extends string, D extends string, V extends string, S> {
  readonly kind: K;
  readonly apiVersion: V;
  readonly checkName: (name: string) => string | undefined;
  readonly spec: Decoder<S>;
  readonly documentKind: D;
}

/** A cluster-scoped network-policy-api kind: strict envelope, `status` accepted and dropped. */
export function policyApiCodec<K extends string, D extends string, V extends string, S>(
  def: PolicyApiKind<K, D, V, S>,
): KindCodec<K, { apiVersion: V; kind: D; metadata: ObjectMeta; spec: S }> {
  return {
    kind: def.kind,
    apiVersion: def.apiVersion,
    documentKind: def.documentKind,
    specSchema: schemaOf(def.spec),
    decode(doc, issues) {
      const metadata = decodeEnvelopeMeta(doc, issues, {
        kind: def.kind,
        checkName: def.checkName,
        topLevel: ['spec', 'status'],
        strict: true,
      });
      const spec = decodeSpec(doc, issues, def.spec);
      if (metadata === undefined || spec === undefined) return undefined;
      return { apiVersion: def.apiVersion, kind: def.documentKind, metadata, spec };
    },
  };
}
