/**
 * BGPConfiguration (projectcalico.org/v3, cluster-scoped, reference §1.10): `default` holds the cluster-wide
 * settings, `node.<nodename>` the per-node overrides (listenPort, logSeverityScreen, prefixAdvertisements;
 * confd ignores any other name). `logSeverityScreen` defaults to Info (the CRD default). Rules: community
 * values and their use in prefixAdvertisements, the fields only `default` may set (clientv3's
 * ValidateDefaultOnlyFields), and the node-mesh fields that need the mesh enabled.
 */
import { calicoKind } from '../codec.js';
import {
  bool,
  checked,
  int,
  type Issues,
  list,
  oneOf,
  opt,
  req,
  show,
  struct,
  withDefault,
} from '../decoder.js';
import type { ObjectMeta } from '../meta.js';
import { checkSubdomain } from '../names.js';
import { checkNet, ipv4Field, ipv6Field, netField } from '../net-fields.js';
import {
  asNumberField,
  bgpPasswordField,
  checkCommunityValue,
  durationField,
  looksLikeCommunity,
  nameField,
} from './bgp-common.js';
import type { BGPConfigurationSpec, Community, PrefixAdvertisement, ServiceIPBlock } from './bgp-types.js';

export const DEFAULT_BGP_CONFIGURATION = 'default';
export const NODE_BGP_CONFIGURATION_PREFIX = 'node.';
export const MAX_ROUTE_PRIORITY = 2_147_483_646;
const MAX_COMMUNITIES = 500;

const IGNORED_INTERFACE = /^[a-zA-Z0-9_.*-]{1,15}$/;

const serviceBlocks = list(
  struct<ServiceIPBlock>({ cidr: opt(checked((s) => (s === '' ? undefined : checkNet(s)))) }),
);

/** Community values are checked in the cross-field pass, where their paths are known. */
const community = struct<Community>({ name: req(nameField), value: req(checked(() => undefined)) });

const prefixAdvertisement = struct<PrefixAdvertisement>({
  cidr: req(netField),
  communities: req(list(checked(() => undefined))),
});

const priority = int(1, MAX_ROUTE_PRIORITY);

const spec = struct<BGPConfigurationSpec>({
  logSeverityScreen: withDefault(
    oneOf(['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'], 'logSeverityScreen'),
    'Info',
  ),
  nodeToNodeMeshEnabled: opt(bool),
  asNumber: opt(asNumberField),
  serviceLoadBalancerIPs: opt(serviceBlocks),
  serviceExternalIPs: opt(serviceBlocks),
  serviceClusterIPs: opt(serviceBlocks),
  serviceLoadBalancerAggregation: opt(oneOf(['Enabled', 'Disabled'], 'serviceLoadBalancerAggregation')),
  communities: opt(list(community, { maxItems: MAX_COMMUNITIES })),
  prefixAdvertisements: opt(list(prefixAdvertisement)),
  listenPort: opt(int(1, 65_535)),
  nodeMeshPassword: opt(bgpPasswordField),
  nodeMeshMaxRestartTime: opt(durationField),
  bindMode: opt(oneOf(['None', 'NodeIP'], 'bindMode')),
  ignoredInterfaces: opt(
    list(
      checked((s) =>
        s !== '*' && IGNORED_INTERFACE.test(s)
          ? undefined
          : `invalid interface pattern ${show(s)}: must be 1-15 characters of letters, digits, '_', '.', '-' or '*' (and not just '*')`,
      ),
    ),
  ),
  localWorkloadPeeringIPV4: opt(ipv4Field),
  localWorkloadPeeringIPV6: opt(ipv6Field),
  programClusterRoutes: opt(
    oneOf(['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'], 'programClusterRoutes'),
  ),
  ipv4NormalRoutePriority: opt(priority),
  ipv6NormalRoutePriority: opt(priority),
});

function checkCommunities(s: BGPConfigurationSpec, issues: Issues): void {
  const communities = s.communities ?? [];
  communities.forEach((c, i) => {
    const problem = checkCommunityValue(c.value);
    if (problem !== undefined) issues.add(`spec.communities[${i}].value`, problem);
  });
  if (communities.length > 0 && (s.prefixAdvertisements ?? []).length === 0) {
    issues.add('spec.communities', 'communities are defined but not used in spec.prefixAdvertisements');
  }
  (s.prefixAdvertisements ?? []).forEach((pa, i) => {
    pa.communities.forEach((v, j) => {
      const path = `spec.prefixAdvertisements[${i}].communities[${j}]`;
      if (looksLikeCommunity(v)) {
        const problem = checkCommunityValue(v);
        if (problem !== undefined) issues.add(path, problem);
      } else if (!communities.some((c) => c.name === v)) {
        issues.add(path, `community ${show(v)} is invalid or not defined in spec.communities`);
      }
    });
  });
}

/** Fields that only the cluster-wide `default` resource may set. */
const DEFAULT_ONLY = [
  'nodeToNodeMeshEnabled',
  'asNumber',
  'serviceExternalIPs',
  'serviceClusterIPs',
  'nodeMeshPassword',
  'nodeMeshMaxRestartTime',
] as const;

function checkScope(metadata: ObjectMeta, s: BGPConfigurationSpec, issues: Issues): void {
  if (metadata.name !== DEFAULT_BGP_CONFIGURATION) {
    for (const field of DEFAULT_ONLY) {
      const v = s[field];
      if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
      issues.add(`spec.${field}`, `cannot set ${field} on a non default BGP Configuration`);
    }
    return;
  }
  if (s.nodeToNodeMeshEnabled === false) {
    for (const field of ['nodeMeshPassword', 'nodeMeshMaxRestartTime'] as const) {
      if (s[field] !== undefined) {
        issues.add(
          `spec.${field}`,
          `${field} requires the node-to-node mesh (nodeToNodeMeshEnabled is false)`,
        );
      }
    }
  }
}

export const bgpConfigurationCodec = calicoKind({
  kind: 'BGPConfiguration',
  checkName: (name) => checkSubdomain(name),
  spec,
  check: (metadata, s, issues) => {
    checkCommunities(s, issues);
    checkScope(metadata, s, issues);
  },
});

/** The node a `node.<nodename>` configuration applies to, or undefined for `default` and other names. */
export function bgpConfigurationNode(name: string): string | undefined {
  return name.startsWith(NODE_BGP_CONFIGURATION_PREFIX)
    ? name.slice(NODE_BGP_CONFIGURATION_PREFIX.length)
    : undefined;
}
