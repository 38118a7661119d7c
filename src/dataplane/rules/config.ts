/** The part of Felix's configuration the rule renderers use, from the typed configuration. */
import type { FelixConfig } from '../../api/v3/felix-config-params.js';
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
  /**
   * Flow logs are on (flowLogsGoldmaneServer set or flowLogsLocalReporter Enabled): policy and profile rules
   * log their verdicts to NFLOG with Calico's prefixes and count packets, one nft rule per rule (rule.ts).
   */
  readonly flowLogs: boolean;
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
  flowLogs: false,
};

function failsafe(ports: FelixConfig['failsafeInboundHostPorts']): readonly FailsafePort[] {
  // The nftables renderer matches TCP and UDP; an SCTP failsafe port opens nothing (fails closed).
  return ports.flatMap((p) =>
    p.protocol === 'SCTP'
      ? []
      : [
          {
            protocol: p.protocol === 'TCP' ? 'tcp' : 'udp',
            port: p.port,
            ...(p.net !== undefined ? { net: p.net } : {}),
          },
        ],
  );
}

/** Felix renders NFLOG for flow logs when a flow log reporter is configured (Goldmane or the local socket). */
export function flowLogsEnabled(c: FelixConfig): boolean {
  return (c.flowLogsGoldmaneServer ?? '') !== '' || c.flowLogsLocalReporter === 'Enabled';
}

/** The rules configuration from Felix's typed configuration (api/v3/felix-config-params.ts). */
export function rulesConfigFrom(c: FelixConfig): RulesConfig {
  return {
    interfacePrefixes: c.interfacePrefix
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    endpointToHostAction: c.defaultEndpointToHostAction,
    failsafeInbound: failsafe(c.failsafeInboundHostPorts),
    failsafeOutbound: failsafe(c.failsafeOutboundHostPorts),
    // nftables mode: Felix reads the nftables* action, not the iptables* one.
    denyAction: c.nftablesFilterDenyAction,
    logPrefix: c.logPrefix,
    logActionRateLimit: c.logActionRateLimit ?? '',
    logActionRateLimitBurst: c.logActionRateLimitBurst,
    allowVxlanFromWorkloads: c.allowVXLANPacketsFromWorkloads,
    allowIpipFromWorkloads: c.allowIPIPPacketsFromWorkloads,
    disableConntrackInvalidCheck: c.disableConntrackInvalidCheck,
    tierDispatchMinRules: c.tierDispatchMinRules,
    vxlanPort: c.vxlanPort,
    flowLogs: flowLogsEnabled(c),
  };
}
