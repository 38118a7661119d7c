/**
 * FelixConfiguration (reference §1.13): `default` (global), `node.<name>` (per node), or any other name with
 * `spec.nodeSelector`. calico-ts decodes the fields it uses or that users commonly set, with Felix's types
 * (booleans, ports, durations like `90s`, case-insensitive enums, failsafe port lists); unknown fields are
 * rejected like every Calico kind.
 */
import { calicoKind } from '../codec.js';
import type { Decoder, FieldSpec } from '../decoder.js';
import { bool, checked, int, type Issues, list, opt, req, show, str, struct } from '../decoder.js';
import type { ObjectMeta } from '../meta.js';
import { checkSubdomain } from '../names.js';
import { selectorField } from '../selector-field.js';

export interface ProtoPort {
  protocol: string;
  port: number;
  net?: string;
}

export interface FelixConfigurationSpec {
  defaultEndpointToHostAction?: string;
  interfacePrefix?: string;
  interfaceExclude?: string;
  failsafeInboundHostPorts?: ProtoPort[];
  failsafeOutboundHostPorts?: ProtoPort[];
  iptablesFilterDenyAction?: string;
  iptablesFilterAllowAction?: string;
  iptablesMangleAllowAction?: string;
  chainInsertMode?: string;
  logPrefix?: string;
  logSeverityScreen?: string;
  logSeverityFile?: string;
  logSeveritySys?: string;
  logFilePath?: string;
  allowVXLANPacketsFromWorkloads?: boolean;
  allowIPIPPacketsFromWorkloads?: boolean;
  disableConntrackInvalidCheck?: boolean;
  healthEnabled?: boolean;
  healthHost?: string;
  healthPort?: number;
  prometheusMetricsEnabled?: boolean;
  prometheusMetricsHost?: string;
  prometheusMetricsPort?: number;
  prometheusGoMetricsEnabled?: boolean;
  prometheusProcessMetricsEnabled?: boolean;
  nftablesMode?: string;
  nftablesRefreshInterval?: string;
  iptablesRefreshInterval?: string;
  routeRefreshInterval?: string;
  interfaceRefreshInterval?: string;
  ipsetsRefreshInterval?: string;
  reportingInterval?: string;
  reportingTTL?: string;
  endpointReportingEnabled?: boolean;
  ipv6Support?: boolean;
  bpfEnabled?: boolean;
  vxlanEnabled?: boolean;
  vxlanPort?: number;
  vxlanVNI?: number;
  vxlanMTU?: number;
  vxlanMTUV6?: number;
  ipipEnabled?: boolean;
  ipipMTU?: number;
  wireguardEnabled?: boolean;
  natOutgoingAddress?: string;
  natPortRange?: string;
  natOutgoingExclusions?: string;
  routeSource?: string;
  removeExternalRoutes?: boolean;
  deviceRouteProtocol?: number;
  programClusterRoutes?: string;
  ipForwarding?: string;
  serviceLoopPrevention?: string;
  workloadSourceSpoofing?: string;
  usageReportingEnabled?: boolean;
  endpointStatusPathPrefix?: string;
  mtuIfacePattern?: string;
  nodeSelector?: string;
}

/** Felix enums accept any letter case; the stored value keeps the canonical spelling. */
function ciEnum(values: readonly string[], what: string): Decoder<string> {
  return (v, path, issues) => {
    const s = str(v, path, issues);
    if (s === undefined) return undefined;
    const hit = values.find((x) => x.toLowerCase() === s.toLowerCase());
    if (hit === undefined)
      issues.add(path, `invalid ${what} ${show(s)} (must be one of ${values.join(', ')})`);
    return hit;
  };
}

const duration = checked((s) =>
  /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(s) || s === '0'
    ? undefined
    : `invalid duration ${show(s)} (e.g. 90s, 1m30s)`,
);

const protoPort = struct<ProtoPort>({
  protocol: req(ciEnum(['TCP', 'UDP', 'SCTP'], 'protocol')),
  port: req(int(0, 65535)),
  net: opt(str),
});

const port = int(0, 65535);
const mode = (values: readonly string[], what: string): FieldSpec<string> => opt(ciEnum(values, what));

const spec = struct<FelixConfigurationSpec>({
  defaultEndpointToHostAction: mode(['Drop', 'Accept', 'Return'], 'action'),
  interfacePrefix: opt(str),
  interfaceExclude: opt(str),
  failsafeInboundHostPorts: opt(list(protoPort)),
  failsafeOutboundHostPorts: opt(list(protoPort)),
  iptablesFilterDenyAction: mode(['Drop', 'Reject'], 'action'),
  iptablesFilterAllowAction: mode(['Accept', 'Return'], 'action'),
  iptablesMangleAllowAction: mode(['Accept', 'Return'], 'action'),
  chainInsertMode: mode(['Insert', 'Append'], 'chain insert mode'),
  logPrefix: opt(str),
  logSeverityScreen: mode(['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'], 'log severity'),
  logSeverityFile: mode(['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'], 'log severity'),
  logSeveritySys: mode(['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'], 'log severity'),
  logFilePath: opt(str),
  allowVXLANPacketsFromWorkloads: opt(bool),
  allowIPIPPacketsFromWorkloads: opt(bool),
  disableConntrackInvalidCheck: opt(bool),
  healthEnabled: opt(bool),
  healthHost: opt(str),
  healthPort: opt(port),
  prometheusMetricsEnabled: opt(bool),
  prometheusMetricsHost: opt(str),
  prometheusMetricsPort: opt(port),
  prometheusGoMetricsEnabled: opt(bool),
  prometheusProcessMetricsEnabled: opt(bool),
  nftablesMode: mode(['Enabled', 'Disabled', 'Auto'], 'nftables mode'),
  nftablesRefreshInterval: opt(duration),
  iptablesRefreshInterval: opt(duration),
  routeRefreshInterval: opt(duration),
  interfaceRefreshInterval: opt(duration),
  ipsetsRefreshInterval: opt(duration),
  reportingInterval: opt(duration),
  reportingTTL: opt(duration),
  endpointReportingEnabled: opt(bool),
  ipv6Support: opt(bool),
  bpfEnabled: opt(bool),
  vxlanEnabled: opt(bool),
  vxlanPort: opt(port),
  vxlanVNI: opt(int(0, 16_777_215)),
  vxlanMTU: opt(int(0, 65535)),
  vxlanMTUV6: opt(int(0, 65535)),
  ipipEnabled: opt(bool),
  ipipMTU: opt(int(0, 65535)),
  wireguardEnabled: opt(bool),
  natOutgoingAddress: opt(str),
  natPortRange: opt(str),
  natOutgoingExclusions: mode(['IPPoolsOnly', 'IPPoolsAndHostIPs'], 'exclusions'),
  routeSource: mode(['CalicoIPAM', 'WorkloadIPs'], 'route source'),
  removeExternalRoutes: opt(bool),
  deviceRouteProtocol: opt(int(0, 255)),
  programClusterRoutes: mode(['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'], 'mode'),
  ipForwarding: mode(['Enabled', 'Disabled'], 'mode'),
  serviceLoopPrevention: mode(['Drop', 'Reject', 'Disabled'], 'mode'),
  workloadSourceSpoofing: mode(['Disabled', 'Any'], 'mode'),
  usageReportingEnabled: opt(bool),
  endpointStatusPathPrefix: opt(str),
  mtuIfacePattern: opt(str),
  nodeSelector: opt(selectorField()),
});

function check(metadata: ObjectMeta, s: FelixConfigurationSpec, issues: Issues): void {
  const name = metadata.name;
  if (s.nodeSelector !== undefined && (name === 'default' || name.startsWith('node.'))) {
    issues.add('spec.nodeSelector', `nodeSelector may not be set on FelixConfiguration ${show(name)}`);
  }
}

export const felixConfigurationCodec = calicoKind({
  kind: 'FelixConfiguration',
  checkName: (name) => checkSubdomain(name),
  spec,
  check,
});
