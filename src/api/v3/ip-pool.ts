/**
 * IPPool (projectcalico.org/v3, cluster-scoped): a CIDR that Calico IPAM carves into blocks (reference §1.8).
 * Decoding normalises the CIDR and applies Calico's create-time defaults (modes `Never`, block size 26/122,
 * nodeSelector `all()`, allowedUses `[Tunnel, Workload]`, assignmentMode `Automatic`); a `status` is accepted
 * and dropped (the pool controller owns it). `ipPoolUpdateIssues` holds the immutability rules of an update.
 */
import type { FieldIssue } from '../../lib/errors.js';
import { type Cidr, cidrsOverlap, formatCidr, parseCidr } from '../../lib/net/ip.js';
import { calicoKind } from '../codec.js';
import {
  bool,
  type Decoder,
  type Issues,
  list,
  oneOf,
  opt,
  req,
  schemaOf,
  show,
  str,
  struct,
  withSchema,
} from '../decoder.js';
import { OPEN_SCHEMA } from '../json-schema.js';
import type { ResourceEnvelope } from '../meta.js';
import { checkSubdomain } from '../names.js';
import { selectorField } from '../selector-field.js';
import { parseSelector } from '../selector/index.js';

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';
export type IPPoolAllowedUse = 'Workload' | 'Tunnel' | 'LoadBalancer';
export type AssignmentMode = 'Automatic' | 'Manual';

export interface IPPoolSpec {
  cidr: string;
  vxlanMode?: EncapMode;
  ipipMode?: EncapMode;
  natOutgoing?: boolean;
  disabled?: boolean;
  disableBGPExport?: boolean;
  blockSize?: number;
  nodeSelector?: string;
  namespaceSelector?: string;
  allowedUses?: IPPoolAllowedUse[];
  assignmentMode?: AssignmentMode;
}
export type IPPool = ResourceEnvelope<'IPPool', IPPoolSpec>;

export const ENCAP_MODES: readonly EncapMode[] = ['Never', 'Always', 'CrossSubnet'];
export const ALLOWED_USES: readonly IPPoolAllowedUse[] = ['Workload', 'Tunnel', 'LoadBalancer'];
export const DEFAULT_ALLOWED_USES: readonly IPPoolAllowedUse[] = ['Tunnel', 'Workload'];
export const DEFAULT_BLOCK_SIZE_V4 = 26;
export const DEFAULT_BLOCK_SIZE_V6 = 122;
const BLOCK_SIZE_RANGE = { 4: [20, 32], 6: [116, 128] } as const;

const LINK_LOCAL_V4 = parseCidr('169.254.0.0/16') as Cidr;
const LINK_LOCAL_V6 = parseCidr('fe80::/10') as Cidr;

/** The pool CIDR: strictly masked, normalised (`FD00::/64` -> `fd00::/64`). */
const poolCidr: Decoder<string> = withSchema({ type: 'string' }, (v, path, issues) => {
  const s = str(v, path, issues);
  if (s === undefined) return undefined;
  const c = parseCidr(s);
  if (c === undefined) {
    issues.add(path, `invalid CIDR ${show(s)}: IPPool CIDR must be a valid subnet`);
    return undefined;
  }
  if (c.hostBitsSet) {
    issues.add(path, `IP pool CIDR ${show(s)} is not strictly masked (did you mean ${show(formatCidr(c))}?)`);
    return undefined;
  }
  return formatCidr(c);
});

/** Any integer; the family-dependent range is checked with the CIDR. */
const integer: Decoder<number> = withSchema({ type: 'integer' }, (v, path, issues) => {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  issues.add(path, `expected an integer, got ${show(v)}`);
  return undefined;
});

const allowedUsesField = list(oneOf(ALLOWED_USES, 'allowed use'), { unique: true });

/** Pool fields rejected since the v1 API (`ipip`, `nat-outgoing`): must be absent (or false). */
const legacyIpip: Decoder<true> = withSchema(OPEN_SCHEMA, (_v, path, issues) => {
  issues.add(path, `field "ipip" is deprecated and must not be set (use ipipMode)`);
  return true;
});
const legacyNat: Decoder<boolean> = withSchema({ type: 'boolean' }, (v, path, issues) => {
  const b = bool(v, path, issues);
  if (b === true)
    issues.add(path, `field "nat-outgoing" is deprecated and must not be set (use natOutgoing)`);
  return b;
});

interface RawSpec extends Omit<IPPoolSpec, 'vxlanMode' | 'ipipMode' | 'assignmentMode'> {
  vxlanMode?: EncapMode | '';
  ipipMode?: EncapMode | '';
  assignmentMode?: AssignmentMode | '';
  ipip?: true;
  'nat-outgoing'?: boolean;
}

/** Calico's `omitempty` enums: an empty string means "not set". */
function optionalEnum<const T extends string>(values: readonly T[], what: string): Decoder<T | ''> {
  const inner = oneOf(values, what);
  return withSchema({ type: 'string', enum: ['', ...values] }, (v, path, issues) =>
    v === '' ? '' : inner(v, path, issues),
  );
}

const rawSpec = struct<RawSpec>({
  cidr: req(poolCidr),
  vxlanMode: opt(optionalEnum(ENCAP_MODES, 'vxlanMode')),
  ipipMode: opt(optionalEnum(ENCAP_MODES, 'ipipMode')),
  natOutgoing: opt(bool),
  disabled: opt(bool),
  disableBGPExport: opt(bool),
  blockSize: opt(integer),
  nodeSelector: opt(selectorField()),
  namespaceSelector: opt(selectorField()),
  allowedUses: opt(allowedUsesField),
  assignmentMode: opt(optionalEnum(['Automatic', 'Manual'], 'assignmentMode')),
  ipip: opt(legacyIpip),
  'nat-outgoing': opt(legacyNat),
});

/** Calico's create-time defaults (Go zero values count as unset). */
function withDefaults(raw: RawSpec): IPPoolSpec {
  const family = parseCidr(raw.cidr)?.family ?? 4;
  const spec: IPPoolSpec = {
    cidr: raw.cidr,
    vxlanMode: raw.vxlanMode === undefined || raw.vxlanMode === '' ? 'Never' : raw.vxlanMode,
    ipipMode: raw.ipipMode === undefined || raw.ipipMode === '' ? 'Never' : raw.ipipMode,
  };
  if (raw.natOutgoing !== undefined) spec.natOutgoing = raw.natOutgoing;
  if (raw.disabled !== undefined) spec.disabled = raw.disabled;
  if (raw.disableBGPExport !== undefined) spec.disableBGPExport = raw.disableBGPExport;
  spec.blockSize =
    raw.blockSize === undefined || raw.blockSize === 0
      ? family === 4
        ? DEFAULT_BLOCK_SIZE_V4
        : DEFAULT_BLOCK_SIZE_V6
      : raw.blockSize;
  spec.nodeSelector =
    raw.nodeSelector === undefined || raw.nodeSelector.trim() === '' ? 'all()' : raw.nodeSelector;
  if (raw.namespaceSelector !== undefined && raw.namespaceSelector !== '') {
    spec.namespaceSelector = raw.namespaceSelector;
  }
  spec.allowedUses =
    raw.allowedUses === undefined || raw.allowedUses.length === 0
      ? [...DEFAULT_ALLOWED_USES]
      : raw.allowedUses;
  spec.assignmentMode =
    raw.assignmentMode === undefined || raw.assignmentMode === '' ? 'Automatic' : raw.assignmentMode;
  return spec;
}

function encapEnabled(mode: EncapMode | undefined): boolean {
  return mode === 'Always' || mode === 'CrossSubnet';
}

/** True for an empty selector or one equivalent to `all()`. */
function selectsAll(selector: string | undefined): boolean {
  if (selector === undefined || selector.trim() === '') return true;
  const parsed = parseSelector(selector);
  return parsed.ok && parsed.value.canonical === 'all()';
}

function checkCidrRules(spec: IPPoolSpec, path: string, issues: Issues): void {
  const c = parseCidr(spec.cidr);
  if (c === undefined) return;
  if (cidrsOverlap(c, c.family === 4 ? LINK_LOCAL_V4 : LINK_LOCAL_V6)) {
    const ll = c.family === 4 ? '169.254.0.0/16' : 'fe80::/10';
    issues.add(`${path}.cidr`, `IP pool CIDR ${show(spec.cidr)} overlaps with the link-local range ${ll}`);
  }
  const bs = spec.blockSize;
  if (bs !== undefined && !issues.hasAt(`${path}.blockSize`)) {
    const [min, max] = BLOCK_SIZE_RANGE[c.family];
    if (bs < min || bs > max) {
      issues.add(
        `${path}.blockSize`,
        `block size ${bs} is out of range for an IPv${c.family} pool (must be ${min} to ${max})`,
      );
    } else if (spec.disabled !== true && c.prefix > bs) {
      issues.add(
        `${path}.cidr`,
        `IP pool ${show(spec.cidr)} is too small for use with Calico IPAM: its prefix length must be at most the block size (${bs})`,
      );
    }
  }
  if (c.family === 6 && encapEnabled(spec.ipipMode)) {
    issues.add(
      `${path}.ipipMode`,
      `ipipMode ${show(spec.ipipMode)} is not supported on an IPv6 IP pool (must be Never)`,
    );
  }
}

/** `givenUses` is allowedUses as written (the Tunnel rule is not applied to the defaulted list). */
function checkModeAndUseRules(
  spec: IPPoolSpec,
  path: string,
  issues: Issues,
  givenUses: readonly IPPoolAllowedUse[],
): void {
  if (encapEnabled(spec.ipipMode) && encapEnabled(spec.vxlanMode)) {
    issues.add(`${path}.ipipMode`, 'ipipMode and vxlanMode cannot both be enabled on the same IP pool');
  }
  const uses = spec.allowedUses ?? [];
  if (uses.includes('LoadBalancer')) {
    const usesPath = `${path}.allowedUses`;
    if (uses.includes('Workload') || uses.includes('Tunnel')) {
      issues.add(usesPath, 'LoadBalancer cannot be combined with Workload or Tunnel in allowedUses');
    }
    if (!selectsAll(spec.nodeSelector)) {
      issues.add(`${path}.nodeSelector`, 'a LoadBalancer IP pool must have nodeSelector all()');
    }
    if (encapEnabled(spec.ipipMode) || encapEnabled(spec.vxlanMode)) {
      issues.add(usesPath, 'a LoadBalancer IP pool cannot use IPIP or VXLAN encapsulation');
    }
    if (spec.disableBGPExport === true) {
      issues.add(`${path}.disableBGPExport`, 'a LoadBalancer IP pool cannot disable BGP export');
    }
  }
  if (givenUses.includes('Tunnel') && (spec.namespaceSelector ?? '').trim() !== '') {
    issues.add(`${path}.namespaceSelector`, 'namespaceSelector cannot be used with the Tunnel allowed use');
  }
}

const ipPoolSpec: Decoder<IPPoolSpec> = withSchema(schemaOf(rawSpec), (v, path, issues) => {
  const raw = rawSpec(v, path, issues);
  if (raw === undefined) return undefined;
  const spec = withDefaults(raw);
  checkCidrRules(spec, path, issues);
  checkModeAndUseRules(spec, path, issues, raw.allowedUses ?? []);
  return spec;
});

export const ipPoolCodec = calicoKind({
  kind: 'IPPool',
  checkName: (name) => checkSubdomain(name),
  spec: ipPoolSpec,
  ignoredTopLevel: ['status'],
});

/** Rules of an update: the CIDR and block size of an existing pool cannot change. */
export function ipPoolUpdateIssues(previous: IPPoolSpec, next: IPPoolSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (previous.cidr !== next.cidr) {
    issues.push({
      path: 'spec.cidr',
      message: `IP pool CIDR cannot be modified (was ${show(previous.cidr)}, now ${show(next.cidr)})`,
    });
  }
  if (previous.blockSize !== next.blockSize) {
    issues.push({
      path: 'spec.blockSize',
      message: `IP pool block size cannot be modified (was ${String(previous.blockSize)}, now ${String(next.blockSize)})`,
    });
  }
  return issues;
}
