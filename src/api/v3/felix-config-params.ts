/**
 * Felix's configuration parameters: one typed table (felix/config/config_params.go, and every field of
 * FelixConfigurationSpec in api/pkg/apis/projectcalico/v3/felixconfig.go). Per parameter: its type (which
 * decodes the resource field, parses the `FELIX_<NAME>` environment variable and validates both), Felix's
 * default, Felix's own parameter name where the environment variable differs from the field name, and
 * whether and how calico-ts honours it:
 *
 *   use: 'live'     applied in place when it changes (dataplane rules, network, log level, timers, health)
 *   use: 'servers'  the agent closes and reopens its health and metrics servers
 *   (absent)        accepted and validated but not implemented: calicoctl and the agent log say so
 *
 * `local: true` marks parameters that only the environment may set (not FelixConfiguration fields), as
 * Felix's `local` flag does. The resource codec (felix-configuration.ts), the agent's configuration loading
 * and the calc graph's `configUpdate` message all read this table (felix-config.ts). Pure.
 */
import {
  conntrackTimeouts,
  type ConntrackTimeouts,
  cidrList,
  dscp,
  healthTimeoutOverrides,
  portRange,
  portRangeList,
  portsLiteral,
  protoPorts,
  stringList,
  stringMap,
  tableRange,
  tableRanges,
} from './felix-config-lists.js';
import {
  boolean,
  choice,
  duration,
  hostProblem,
  ifaceFilterProblem,
  integer,
  interfaceNameProblem,
  ipProblem,
  keyValueListProblem,
  matches,
  type ParamType,
  port,
  regexpProblem,
  text,
} from './felix-config-types.js';
import { parseCidr } from '../../lib/net/ip.js';
import { trustedDnsServerProblem } from '../domains.js';

/** How calico-ts honours a parameter (absent: not implemented). */
export type ParamUse = 'live' | 'servers';

export interface ParamDef<V> {
  readonly type: ParamType<Exclude<V, undefined>>;
  readonly default: V;
  readonly use?: ParamUse;
  /** Felix's parameter name when its upper-case form differs from the field's (`FELIX_<NAME>`). */
  readonly felix?: string;
  /** Environment only (not a FelixConfiguration field). */
  readonly local?: boolean;
  /** A Calico Enterprise field (FelixConfigurationSpec of Calico Enterprise, not of open-source Calico). */
  readonly enterprise?: boolean;
}

interface Opts {
  readonly use?: ParamUse;
  readonly felix?: string;
  readonly local?: boolean;
  readonly enterprise?: boolean;
}

function p<T>(type: ParamType<T>, dflt: T, o?: Opts): ParamDef<T>;
function p<T>(type: ParamType<T>, dflt: undefined, o?: Opts): ParamDef<T | undefined>;
function p<T>(type: ParamType<T>, dflt: T | undefined, o: Opts = {}): ParamDef<T | undefined> {
  return { type: type as ParamType<Exclude<T | undefined, undefined>>, default: dflt, ...o };
}

const ipv4CidrProblem = (s: string): string | undefined =>
  parseCidr(s)?.family === 4 ? undefined : `invalid IPv4 CIDR ${JSON.stringify(s)}`;

const CONNTRACK_DEFAULTS: ConntrackTimeouts = {
  creationGracePeriod: '10s',
  tcpSynSent: '20s',
  tcpEstablished: '1h',
  tcpFinsSeen: 'Auto',
  tcpResetSeen: '40s',
  udpTimeout: '60s',
  genericTimeout: '10m',
  icmpTimeout: '5s',
};

/** Calico Enterprise's DNS policy fields: implemented by the agent's DNS runtime (src/agent/dns-policy.ts). */
const E: Opts = { enterprise: true, use: 'live' };

const SEVERITIES = ['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'] as const;

export const FELIX_PARAMS = {
  // ── environment only ──
  felixHostname: p(text(hostProblem), undefined, { local: true, use: 'live' }),
  /** calico-ts: tier chains with at least this many rules are classified by protocol and port (dispatch.ts). */
  tierDispatchMinRules: p(integer(0), 24, { local: true, use: 'live' }),
  // ── FelixConfigurationSpec, in the API's order ──
  useInternalDataplaneDriver: p(boolean(), true),
  dataplaneDriver: p(text(), 'calico-iptables-plugin'),
  dataplaneWatchdogTimeout: p(duration(), 90_000, { use: 'live' }),
  ipv6Support: p(boolean(), true),
  routeRefreshInterval: p(duration(), 90_000),
  interfaceRefreshInterval: p(duration(), 90_000),
  iptablesRefreshInterval: p(duration(), 180_000),
  iptablesPostWriteCheckInterval: p(duration(), 5_000, { felix: 'IptablesPostWriteCheckIntervalSecs' }),
  iptablesLockProbeInterval: p(duration('ms'), 50, { felix: 'IptablesLockProbeIntervalMillis' }),
  featureDetectOverride: p(text(keyValueListProblem), ''),
  featureGates: p(text(keyValueListProblem), ''),
  ipsetsRefreshInterval: p(duration(), 90_000),
  maxIpsetSize: p(integer(), 1048576),
  iptablesBackend: p(choice(['Auto', 'Legacy', 'NFT']), 'Auto'),
  xdpRefreshInterval: p(duration(), 90_000),
  netlinkTimeout: p(duration(), 10_000, { felix: 'NetlinkTimeoutSecs' }),
  metadataAddr: p(text(hostProblem), '127.0.0.1'),
  metadataPort: p(port(), 8775),
  openstackRegion: p(
    text(
      matches(/^[a-z0-9]([-a-z0-9]{0,44}[a-z0-9])?$/, 'OpenStack region (DNS label, at most 46 characters)'),
    ),
    '',
  ),
  interfacePrefix: p(text(), 'cali', { use: 'live' }),
  interfaceExclude: p(text(), 'kube-ipvs0'),
  chainInsertMode: p(choice(['Insert', 'Append']), 'Insert'),
  defaultEndpointToHostAction: p(choice(['Drop', 'Accept', 'Return']), 'Drop', { use: 'live' }),
  iptablesFilterAllowAction: p(choice(['Accept', 'Return']), 'Accept'),
  iptablesMangleAllowAction: p(choice(['Accept', 'Return']), 'Accept'),
  iptablesFilterDenyAction: p(choice(['Drop', 'Reject']), 'Drop'),
  logPrefix: p(text(matches(/^[a-zA-Z0-9%: /_-]*$/, 'log prefix')), 'calico-packet', { use: 'live' }),
  logActionRateLimit: p(
    text(matches(/^[1-9][0-9]{0,3}\/(second|minute|hour|day)$/, 'rate limit')),
    undefined,
    { use: 'live' },
  ),
  logActionRateLimitBurst: p(integer(0, 9999), 5, { use: 'live' }),
  logFilePath: p(text(), '/var/log/calico/felix.log'),
  logSeverityFile: p(choice(SEVERITIES), 'Info'),
  logSeverityScreen: p(choice(SEVERITIES), 'Info', { use: 'live' }),
  logSeveritySys: p(choice(SEVERITIES), 'Info'),
  logDebugFilenameRegex: p(text(regexpProblem), ''),
  ipipEnabled: p(boolean(), undefined, { felix: 'IpInIpEnabled' }),
  ipipMTU: p(integer(0, 65535), 0, { felix: 'IpInIpMtu' }),
  vxlanEnabled: p(boolean(), undefined),
  vxlanMTU: p(integer(0, 65535), 0, { use: 'live' }),
  vxlanMTUV6: p(integer(0, 65535), 0),
  vxlanPort: p(port(), 4789, { use: 'live' }),
  vxlanVNI: p(integer(0, 16_777_215), 4096, { use: 'live' }),
  allowVXLANPacketsFromWorkloads: p(boolean(), false, { use: 'live' }),
  allowIPIPPacketsFromWorkloads: p(boolean(), false, { use: 'live' }),
  reportingInterval: p(duration(), 30_000, { felix: 'ReportingIntervalSecs' }),
  reportingTTL: p(duration(), 90_000, { felix: 'ReportingTTLSecs' }),
  endpointReportingEnabled: p(boolean(), false),
  endpointReportingDelay: p(duration(), 1_000, { felix: 'EndpointReportingDelaySecs' }),
  endpointStatusPathPrefix: p(text(), '/var/run/calico'),
  iptablesMarkMask: p(integer(0, 0xffff_ffff), 0xffff_0000),
  disableConntrackInvalidCheck: p(boolean(), false, { use: 'live' }),
  healthEnabled: p(boolean(), false, { use: 'servers' }),
  healthHost: p(text(hostProblem), 'localhost', { use: 'servers' }),
  healthPort: p(port(), 9099, { use: 'servers' }),
  healthTimeoutOverrides: p(healthTimeoutOverrides(), [], { use: 'live' }),
  prometheusMetricsEnabled: p(boolean(), false, { use: 'servers' }),
  prometheusMetricsHost: p(text(hostProblem), '', { use: 'servers' }),
  prometheusMetricsPort: p(port(), 9091, { use: 'servers' }),
  prometheusGoMetricsEnabled: p(boolean(), true, { use: 'live' }),
  prometheusProcessMetricsEnabled: p(boolean(), true, { use: 'live' }),
  prometheusWireGuardMetricsEnabled: p(boolean(), true),
  prometheusMetricsCAFile: p(text(), undefined),
  prometheusMetricsCertFile: p(text(), undefined),
  prometheusMetricsKeyFile: p(text(), undefined),
  prometheusMetricsClientAuth: p(
    choice(['RequireAndVerifyClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'NoClientCert']),
    'NoClientCert',
  ),
  failsafeInboundHostPorts: p(
    protoPorts(),
    portsLiteral('tcp:22,udp:68,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667'),
    { use: 'live' },
  ),
  failsafeOutboundHostPorts: p(
    protoPorts(),
    portsLiteral('udp:53,udp:67,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667'),
    { use: 'live' },
  ),
  kubeNodePortRanges: p(portRangeList(7), [{ min: 30000, max: 32767 }]),
  policySyncPathPrefix: p(text(), ''),
  usageReportingEnabled: p(boolean(), true),
  usageReportingInitialDelay: p(duration(), 300_000, { felix: 'UsageReportingInitialDelaySecs' }),
  usageReportingInterval: p(duration(), 86_400_000, { felix: 'UsageReportingIntervalSecs' }),
  natPortRange: p(portRange(), undefined),
  natOutgoingAddress: p(text(ipProblem(4)), ''),
  natOutgoingExclusions: p(choice(['IPPoolsOnly', 'IPPoolsAndHostIPs']), 'IPPoolsOnly', { use: 'live' }),
  deviceRouteSourceAddress: p(text(ipProblem(4)), ''),
  deviceRouteSourceAddressIPv6: p(text(ipProblem(6)), ''),
  deviceRouteProtocol: p(integer(0, 255), 3),
  removeExternalRoutes: p(boolean(), true),
  programClusterRoutes: p(
    choice(['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly']),
    'EnabledIPIPOnly',
  ),
  ipForwarding: p(choice(['Enabled', 'Disabled']), 'Enabled'),
  externalNodesList: p(stringList(ipv4CidrProblem), undefined, { felix: 'ExternalNodesCIDRList' }),
  debugMemoryProfilePath: p(text(), ''),
  debugDisableLogDropping: p(boolean(), false),
  debugSimulateCalcGraphHangAfter: p(duration(), 0),
  debugSimulateDataplaneHangAfter: p(duration(), 0),
  debugSimulateDataplaneApplyDelay: p(duration(), 0),
  debugHost: p(text(hostProblem), 'localhost'),
  debugPort: p(port(), undefined),
  iptablesNATOutgoingInterfaceFilter: p(text(ifaceFilterProblem), ''),
  sidecarAccelerationEnabled: p(boolean(), false),
  xdpEnabled: p(boolean(), true),
  genericXDPEnabled: p(boolean(), false),
  nftablesMode: p(choice(['Enabled', 'Disabled', 'Auto']), 'Auto'),
  nftablesFlowTableOffload: p(choice(['All', 'Disabled']), 'Disabled'),
  nftablesFlowTableDataIfacePattern: p(text(regexpProblem), ''),
  nftablesRefreshInterval: p(duration(), 180_000, { use: 'live' }),
  nftablesFilterAllowAction: p(choice(['Accept', 'Return']), 'Accept'),
  nftablesMangleAllowAction: p(choice(['Accept', 'Return']), 'Accept'),
  nftablesFilterDenyAction: p(choice(['Drop', 'Reject']), 'Drop', { use: 'live' }),
  nftablesMarkMask: p(integer(0, 0xffff_ffff), 0xffff_0000),
  bpfEnabled: p(boolean(), false),
  bpfOverlayHostSourceIP: p(choice(['TunnelAddress', 'HostAddress']), 'TunnelAddress'),
  bpfDisableUnprivileged: p(boolean(), true),
  bpfJITHardening: p(choice(['Auto', 'Strict']), 'Auto'),
  bpfLogLevel: p(choice(['Off', 'Info', 'Debug']), 'Off'),
  bpfConntrackLogLevel: p(choice(['Off', 'Debug']), 'Off'),
  bpfConntrackMode: p(choice(['Auto', 'Userspace', 'BPFProgram']), 'Auto', {
    felix: 'BPFConntrackCleanupMode',
  }),
  bpfConntrackTimeouts: p(conntrackTimeouts(), CONNTRACK_DEFAULTS),
  bpfIPFragTimeout: p(duration(), 0),
  bpfLogFilters: p(stringMap(interfaceNameProblem), undefined),
  bpfCTLBLogFilter: p(choice(['all']), undefined),
  bpfDataIfacePattern: p(text(regexpProblem), '^((en|wl|ww|sl|ib)[Popsx].*|(eth|wlan|wwan|bond).*)'),
  bpfL3IfacePattern: p(text(regexpProblem), ''),
  bpfConnectTimeLoadBalancingEnabled: p(boolean(), undefined),
  bpfConnectTimeLoadBalancing: p(choice(['TCP', 'Enabled', 'Disabled']), 'TCP'),
  bpfHostNetworkedNATWithoutCTLB: p(choice(['Enabled', 'Disabled']), 'Enabled'),
  bpfExternalServiceMode: p(choice(['Tunnel', 'DSR']), 'Tunnel'),
  bpfDSROptoutCIDRs: p(cidrList(), undefined),
  bpfExtToServiceConnmark: p(integer(0, 4294967295), 0),
  bpfKubeProxyIptablesCleanupEnabled: p(boolean(), true),
  bpfKubeProxyMinSyncPeriod: p(duration(), 1_000),
  bpfKubeProxyHealthzPort: p(port(), 10256),
  bpfPSNATPorts: p(portRange(), { min: 20000, max: 29999 }),
  bpfMapSizeNATFrontend: p(integer(), 65536),
  bpfMapSizeNATBackend: p(integer(), 262144),
  bpfMapSizeNATAffinity: p(integer(), 65536),
  bpfMapSizeRoute: p(integer(), 262144),
  bpfMapSizeConntrack: p(integer(), 512000),
  bpfMapSizePerCpuConntrack: p(integer(), 0),
  bpfMapSizeConntrackScaling: p(choice(['Disabled', 'DoubleIfFull']), 'DoubleIfFull'),
  bpfMapSizeConntrackCleanupQueue: p(integer(1), 100000),
  bpfMapSizeIPSets: p(integer(), 1048576),
  bpfMapSizeIfState: p(integer(), 1000),
  bpfHostConntrackBypass: p(boolean(), false),
  bpfIPFragmentReassemblyEnabled: p(boolean(), true),
  bpfEnforceRPF: p(choice(['Disabled', 'Strict', 'Loose']), 'Loose'),
  bpfPolicyDebugEnabled: p(boolean(), true),
  bpfForceTrackPacketsFromIfaces: p(stringList(ifaceFilterProblem), ['docker+']),
  bpfDisableGROForIfaces: p(text(regexpProblem), ''),
  bpfExcludeCIDRsFromNAT: p(cidrList(), undefined),
  bpfExportBufferSizeMB: p(integer(), 1),
  istioAmbientMode: p(choice(['Disabled', 'Enabled']), 'Disabled'),
  istioDSCPMark: p(dscp(), 23),
  cgroupV2Path: p(text(), ''),
  flowLogsPolicyEvaluationMode: p(choice(['None', 'Continuous']), 'Continuous', { use: 'live' }),
  bpfRedirectToPeer: p(choice(['Enabled', 'Disabled', 'L2Only']), 'Enabled'),
  bpfAttachType: p(choice(['TC', 'TCX', 'Netkit']), 'Netkit'),
  flowLogsFlushInterval: p(duration(), 300_000, { use: 'live' }),
  flowLogsCollectorDebugTrace: p(boolean(), false),
  flowLogsGoldmaneServer: p(text(), undefined, { use: 'live' }),
  flowLogsLocalReporter: p(choice(['Disabled', 'Enabled']), 'Disabled', { use: 'live' }),
  bpfProfiling: p(choice(['Enabled', 'Disabled']), 'Disabled'),
  routeSource: p(choice(['WorkloadIPs', 'CalicoIPAM']), 'CalicoIPAM'),
  routeTableRanges: p(tableRanges(), undefined),
  routeTableRange: p(tableRange(), undefined),
  routeSyncDisabled: p(boolean(), false),
  ipv4NormalRoutePriority: p(integer(1, 2147483646), 1024),
  ipv4ElevatedRoutePriority: p(integer(1, 2147483646), 512),
  ipv6NormalRoutePriority: p(integer(1, 2147483646), 1024),
  ipv6ElevatedRoutePriority: p(integer(1, 2147483646), 512),
  liveMigrationRouteConvergenceTime: p(duration(), 30_000),
  wireguardEnabled: p(boolean(), false),
  wireguardEnabledV6: p(boolean(), false),
  wireguardThreadingEnabled: p(boolean(), false),
  wireguardListeningPort: p(integer(1, 65535), 51820),
  wireguardListeningPortV6: p(integer(1, 65535), 51821),
  wireguardRoutingRulePriority: p(integer(1, 32765), 99),
  wireguardInterfaceName: p(text(interfaceNameProblem), 'wireguard.cali'),
  wireguardInterfaceNameV6: p(text(interfaceNameProblem), 'wg-v6.cali'),
  wireguardMTU: p(integer(0, 65535), 0),
  wireguardMTUV6: p(integer(0, 65535), 0),
  wireguardHostEncryptionEnabled: p(boolean(), false),
  wireguardKeepAlive: p(duration(), 0, { felix: 'WireguardPersistentKeepAlive' }),
  awsSrcDstCheck: p(choice(['DoNothing', 'Enable', 'Disable']), 'DoNothing'),
  serviceLoopPrevention: p(choice(['Drop', 'Reject', 'Disabled']), 'Drop'),
  workloadSourceSpoofing: p(choice(['Disabled', 'Any']), 'Disabled'),
  mtuIfacePattern: p(text(regexpProblem), '^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)'),
  floatingIPs: p(choice(['Enabled', 'Disabled']), 'Disabled'),
  localSubnetL2Reachability: p(choice(['Disabled', 'PodsAndLoadBalancers']), 'Disabled'),
  localSubnetL2ReachabilityRefreshInterval: p(duration(), 120_000),
  windowsManageFirewallRules: p(choice(['Enabled', 'Disabled']), 'Disabled'),
  goGCThreshold: p(integer(-1), 40),
  goMemoryLimitMB: p(integer(-1), -1),
  goMaxProcs: p(integer(-1), -1),
  requireMTUFile: p(boolean(), false),
  bpfMaglevMaxEndpointsPerService: p(integer(1, 3000), 100),
  bpfMaglevMaxServices: p(integer(1, 3000), 100),
  // ── Calico Enterprise's DNS policy parameters (docs/design/dns-policy.md) ──
  dnsCacheFile: p(text(), '/var/run/calico/felix-dns-cache.txt', E),
  dnsCacheSaveInterval: p(duration(), 60_000, E),
  dnsCacheEpoch: p(integer(), 0, E),
  dnsExtraTTL: p(duration(), 0, E),
  dnsTrustedServers: p(stringList(trustedDnsServerProblem), ['k8s-service:kube-dns'], E),
  /** Calico Enterprise's default is DelayDeniedPacket; calico-ts holds each answer until it is programmed. */
  dnsPolicyMode: p(
    choice(['NoDelay', 'DelayDeniedPacket', 'DelayDNSResponse', 'Inline']),
    'DelayDNSResponse',
    E,
  ),
  dnsLogsFileEnabled: p(boolean(), true, E),
  dnsLogsFileDirectory: p(text(), '/var/log/calico/dnslogs', E),
  dnsLogsFlushInterval: p(duration(), 300_000, E),
} as const;

export type FelixParamName = keyof typeof FELIX_PARAMS;

type ValueOf<D> = D extends ParamDef<infer V> ? V : never;

/** The whole typed configuration: every parameter's effective value. */
export type FelixConfig = { readonly [K in FelixParamName]: ValueOf<(typeof FELIX_PARAMS)[K]> };

export const FELIX_PARAM_NAMES = Object.keys(FELIX_PARAMS) as readonly FelixParamName[];

export function paramDef(name: FelixParamName): ParamDef<unknown> {
  return FELIX_PARAMS[name] as ParamDef<unknown>;
}

/** `FELIX_<NAME>`: Felix's parameter name in upper case (Felix matches environment names case-insensitively). */
export function envNameOf(name: FelixParamName): string {
  return `FELIX_${(paramDef(name).felix ?? name).toUpperCase()}`;
}
