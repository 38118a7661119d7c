/** The part of Felix's configuration the rule renderers use, parsed from FelixConfiguration values. */
import { WORKLOAD_INTERFACE_PREFIX } from './names.js';
import { DEFAULT_DISPATCH_MIN_RULES } from './tier.js';

export interface FailsafePort {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly net?: string;
}

export interface RulesConfig {
  readonly interfacePrefixes: readonly string[];
  readonly endpointToHostAction: 'Drop' | 'Accept' | 'Return';
  readonly failsafeInbound: readonly FailsafePort[];
  readonly failsafeOutbound: readonly FailsafePort[];
  readonly denyAction: 'Drop' | 'Reject';
  readonly logPrefix: string;
  /** Felix logActionRateLimit (`10/second`); '' = no limit. */
  readonly logActionRateLimit: string;
  readonly logActionRateLimitBurst: number;
  readonly allowVxlanFromWorkloads: boolean;
  readonly allowIpipFromWorkloads: boolean;
  readonly disableConntrackInvalidCheck: boolean;
  /** calico-ts: tier chains with at least this many rules are classified by protocol and port (dispatch.ts). */
  readonly tierDispatchMinRules: number;
  /** UDP port of the VXLAN overlay (FelixConfiguration vxlanPort); host INPUT/OUTPUT admit it only between nodes. */
  readonly vxlanPort: number;
}

const fs = (protocol: 'tcp' | 'udp', port: number): FailsafePort => ({ protocol, port });

export const DEFAULT_RULES_CONFIG: RulesConfig = {
  interfacePrefixes: [WORKLOAD_INTERFACE_PREFIX],
  endpointToHostAction: 'Drop',
  failsafeInbound: [
    fs('tcp', 22),
    fs('udp', 68),
    fs('tcp', 179),
    fs('tcp', 2379),
    fs('tcp', 2380),
    fs('tcp', 5473),
    fs('tcp', 6443),
    fs('tcp', 6666),
    fs('tcp', 6667),
  ],
  failsafeOutbound: [
    fs('udp', 53),
    fs('udp', 67),
    fs('tcp', 179),
    fs('tcp', 2379),
    fs('tcp', 2380),
    fs('tcp', 5473),
    fs('tcp', 6443),
    fs('tcp', 6666),
    fs('tcp', 6667),
  ],
  denyAction: 'Drop',
  logPrefix: 'calico-packet',
  logActionRateLimit: '',
  logActionRateLimitBurst: 5,
  allowVxlanFromWorkloads: false,
  allowIpipFromWorkloads: false,
  disableConntrackInvalidCheck: false,
  tierDispatchMinRules: DEFAULT_DISPATCH_MIN_RULES,
  vxlanPort: 4789,
};

function parseFailsafe(v: string | undefined, fallback: readonly FailsafePort[]): readonly FailsafePort[] {
  if (v === undefined) return fallback;
  // JSON list of {protocol, port, net?} (FelixConfiguration) or Felix's env form "tcp:22,udp:68".
  try {
    const parsed = JSON.parse(v) as unknown;
    if (Array.isArray(parsed)) {
      return parsed.flatMap((e: unknown) => {
        if (typeof e !== 'object' || e === null) return [];
        const o = e as { protocol?: unknown; port?: unknown; net?: unknown };
        const protocol = typeof o.protocol === 'string' ? o.protocol.toLowerCase() : 'tcp';
        if ((protocol !== 'tcp' && protocol !== 'udp') || typeof o.port !== 'number') return [];
        return [{ protocol, port: o.port, ...(typeof o.net === 'string' ? { net: o.net } : {}) }];
      });
    }
  } catch {
    // Not JSON: the env-var form below.
  }
  if (v.trim().toLowerCase() === 'none' || v.trim() === '') return [];
  return v.split(',').flatMap((item) => {
    const parts = item.trim().split(':');
    const proto = (parts.length > 1 ? parts[0] : 'tcp')?.toLowerCase();
    const port = Number(parts[parts.length - 1]);
    return (proto === 'tcp' || proto === 'udp') && Number.isInteger(port) ? [fs(proto, port)] : [];
  });
}

function pick<T extends string>(v: string | undefined, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  return allowed.find((a) => a.toLowerCase() === v.toLowerCase()) ?? fallback;
}

function bool(v: string | undefined, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  return v.toLowerCase() === 'true';
}

function intValue(v: string | undefined, fallback: number): number {
  if (v === undefined || !/^[0-9]+$/.test(v.trim())) return fallback;
  return Number(v);
}

function portValue(v: string | undefined, fallback: number): number {
  const n = intValue(v, fallback);
  return n >= 1 && n <= 65535 ? n : fallback;
}

/** Felix's form of logActionRateLimit; anything else means no limit. */
function rateLimit(v: string | undefined): string {
  const t = (v ?? '').trim();
  return /^[1-9][0-9]{0,3}\/(second|minute|hour|day)$/.test(t) ? t : '';
}

/** Reads the rules configuration from merged FelixConfiguration fields (camelCase names). */
export function rulesConfigFrom(values: Readonly<Record<string, string>>): RulesConfig {
  const d = DEFAULT_RULES_CONFIG;
  return {
    interfacePrefixes:
      values.interfacePrefix !== undefined
        ? values.interfacePrefix
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : d.interfacePrefixes,
    endpointToHostAction: pick(
      values.defaultEndpointToHostAction,
      ['Drop', 'Accept', 'Return'] as const,
      d.endpointToHostAction,
    ),
    failsafeInbound: parseFailsafe(values.failsafeInboundHostPorts, d.failsafeInbound),
    failsafeOutbound: parseFailsafe(values.failsafeOutboundHostPorts, d.failsafeOutbound),
    denyAction: pick(values.iptablesFilterDenyAction, ['Drop', 'Reject'] as const, d.denyAction),
    logPrefix: values.logPrefix ?? d.logPrefix,
    logActionRateLimit: rateLimit(values.logActionRateLimit),
    logActionRateLimitBurst: intValue(values.logActionRateLimitBurst, d.logActionRateLimitBurst),
    allowVxlanFromWorkloads: bool(values.allowVXLANPacketsFromWorkloads, d.allowVxlanFromWorkloads),
    allowIpipFromWorkloads: bool(values.allowIPIPPacketsFromWorkloads, d.allowIpipFromWorkloads),
    disableConntrackInvalidCheck: bool(values.disableConntrackInvalidCheck, d.disableConntrackInvalidCheck),
    tierDispatchMinRules: intValue(values.tierDispatchMinRules, d.tierDispatchMinRules),
    vxlanPort: portValue(values.vxlanPort, d.vxlanPort),
  };
}
