/**
 * Field decoders shared by the BGP kinds: AS numbers (Calico's numorstring.ASNumber: a uint32, or the
 * dotted `x.y` form), Go durations (metav1.Duration), BGP community values and secret-key password
 * references. Also `calicoKindWithStatus`, for the internal kinds whose server-written `status` is kept.
 */
import { CALICO_API_VERSION, type ObjectMeta, type ResourceEnvelope } from '../meta.js';
import { decodeEnvelopeMeta, decodeSpec, type KindCodec } from '../codec.js';
import {
  bool,
  checked,
  type Decoder,
  type Issues,
  opt,
  req,
  schemaOf,
  show,
  str,
  struct,
  withSchema,
} from '../decoder.js';
import { checkSubdomain } from '../names.js';
import type { BGPPassword, SecretKeyRef } from './bgp-types.js';
import { INT_OR_STRING_SCHEMA } from '../json-schema.js';

export const MAX_AS_NUMBER = 4_294_967_295;
const MAX_UINT16 = 65_535;

/** Parses an AS number: a uint32 (number or decimal string) or `x.y` (two uint16, = x*65536+y). */
export function parseAsNumber(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 0 && value <= MAX_AS_NUMBER ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  if (/^[0-9]+$/.test(value)) {
    const n = Number(value);
    return n <= MAX_AS_NUMBER ? n : undefined;
  }
  const dotted = /^([0-9]+)\.([0-9]+)$/.exec(value);
  if (dotted === null) return undefined;
  const hi = Number(dotted[1]);
  const lo = Number(dotted[2]);
  return hi <= MAX_UINT16 && lo <= MAX_UINT16 ? hi * 65_536 + lo : undefined;
}

export const asNumberField: Decoder<number> = withSchema(INT_OR_STRING_SCHEMA, (v, path, issues) => {
  const n = parseAsNumber(v);
  if (n === undefined) {
    issues.add(path, `invalid AS number ${show(v)} (must be 0-${MAX_AS_NUMBER} or "x.y" with x, y 0-65535)`);
  }
  return n;
});

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  μs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};
const DURATION_PART = /([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/y;

/** Go's time.ParseDuration, in seconds (`1m30s` = 90, `0` = 0); undefined when the text is not a duration. */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < s.length) {
    const m = DURATION_PART.exec(s);
    if (m === null) return undefined;
    const num = m[1] ?? '';
    if (num === '' || num === '.') return undefined;
    total += Number(num) * (DURATION_UNITS[m[2] ?? ''] ?? NaN);
  }
  return Number.isFinite(total) ? sign * total : undefined;
}

/** Whole seconds of a duration, rounded half away from zero (Go's math.Round of Duration.Seconds()). */
export function durationSeconds(text: string): number | undefined {
  const s = parseGoDuration(text);
  if (s === undefined) return undefined;
  return Math.sign(s) * Math.round(Math.abs(s));
}

export const durationField: Decoder<string> = withSchema({ type: 'string' }, (v, path, issues) => {
  const s = str(v, path, issues);
  if (s === undefined) return undefined;
  if (parseGoDuration(s) === undefined) {
    issues.add(path, `invalid duration ${show(s)} (use a Go duration such as "120s" or "1m30s")`);
    return undefined;
  }
  return s;
});

const STANDARD_COMMUNITY = /^([0-9]+):([0-9]+)$/;
const LARGE_COMMUNITY = /^([0-9]+):([0-9]+):([0-9]+)$/;

/** True when `s` has the form of a community (`aa:nn` or `aa:nn:mm`), whether or not its parts fit. */
export function looksLikeCommunity(s: string): boolean {
  return STANDARD_COMMUNITY.test(s) || LARGE_COMMUNITY.test(s);
}

/** A BGP community value: `aa:nn` (each part 16-bit) or `aa:nn:mm` (each part 32-bit). */
export function checkCommunityValue(s: string): string | undefined {
  const standard = STANDARD_COMMUNITY.exec(s);
  if (standard !== null) {
    return standard.slice(1).every((p) => Number(p) <= MAX_UINT16)
      ? undefined
      : `invalid community value ${show(s)}: expected 16 bit values in "aa:nn"`;
  }
  const large = LARGE_COMMUNITY.exec(s);
  if (large !== null) {
    return large.slice(1).every((p) => Number(p) <= MAX_AS_NUMBER)
      ? undefined
      : `invalid community value ${show(s)}: expected 32 bit values in "aa:nn:mm"`;
  }
  return `invalid community value ${show(s)} (must be "aa:nn" or "aa:nn:mm")`;
}

export const communityField: Decoder<string> = checked(checkCommunityValue);

/** Calico's `omitempty,name`: empty is allowed, anything else must be a valid resource name. */
export const optionalNameField: Decoder<string> = checked((s) => (s === '' ? undefined : checkSubdomain(s)));
export const nameField: Decoder<string> = checked((s) => checkSubdomain(s));

const secretKeyRef = struct<SecretKeyRef>({
  name: opt(str),
  key: req(checked((s) => (/^[-._a-zA-Z0-9]+$/.test(s) ? undefined : `invalid secret key ${show(s)}`))),
  optional: opt(bool),
});

export const bgpPasswordField: Decoder<BGPPassword> = struct<BGPPassword>({
  secretKeyRef: opt(secretKeyRef),
});

export interface StatusKindDefinition<K extends string, S, T> {
  readonly kind: K;
  readonly checkName: (name: string) => string | undefined;
  readonly spec: Decoder<S>;
  readonly status: Decoder<T>;
  readonly check?: (metadata: ObjectMeta, spec: S, issues: Issues) => void;
}

/** Like `calicoKind`, for kinds whose `status` (written by Calico) is decoded and kept. */
export function calicoKindWithStatus<K extends string, S, T>(
  def: StatusKindDefinition<K, S, T>,
): KindCodec<K, ResourceEnvelope<K, S> & { status?: T }> {
  return {
    kind: def.kind,
    apiVersion: CALICO_API_VERSION,
    documentKind: def.kind,
    specSchema: schemaOf(def.spec),
    statusSchema: schemaOf(def.status),
    decode(doc, issues) {
      const metadata = decodeEnvelopeMeta(doc, issues, {
        kind: def.kind,
        checkName: def.checkName,
        topLevel: ['spec', 'status'],
        strict: true,
      });
      const spec = decodeSpec(doc, issues, def.spec);
      const rawStatus = doc['status'];
      const status =
        rawStatus === undefined || rawStatus === null ? undefined : def.status(rawStatus, 'status', issues);
      if (metadata === undefined || spec === undefined) return undefined;
      def.check?.(metadata, spec, issues);
      const out: ResourceEnvelope<K, S> & { status?: T } = {
        apiVersion: CALICO_API_VERSION,
        kind: def.kind,
        metadata,
        spec,
      };
      if (status !== undefined) out.status = status;
      return out;
    },
  };
}
