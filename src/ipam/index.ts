/**
 * Calico IPAM (reference §7.3): pools carved into blocks that hosts claim by affinity, handles, reservations,
 * cooldown, compare-and-swap on every write. The public surface for the agent, the CNI plugin and calicoctl:
 *
 *   IpamClient            autoAssign / assignIp / releaseIps / releaseByHandle / ipsByHandle /
 *                         getAssignmentAttributes / ensureBlockAffinity / releaseAffinity / getConfig / setConfig
 *   ensureDefaultPools    the agent's first-start default pools
 *   checkIpam             the `ipam check` analysis;  releaseFromReports: `ipam release --from-report`
 *   names                 CIDR resource names, CNI and tunnel handle IDs
 *   block                 pure block maths (also used by tests and tools)
 */
export {
  DEFAULT_IPAM_CONFIG,
  IpamClient,
  type AssignIpArgs,
  type AssignedAddress,
  type AssignmentAttributes,
  type AutoAssignArgs,
  type AutoAssignResult,
  type BlockUtilization,
  type IpamClientOptions,
  type IpamConfig,
  type PoolUtilization,
  type ReleaseIpsResult,
  type ReleaseOptions,
} from './allocator.js';
export type { ClaimOutcome, ReleaseOutcome } from './affinity.js';
export { DEFAULT_MAX_BLOCKS_PER_HOST, EMPTY_BLOCK_RECLAIM_AGE_MS } from './assign.js';
export {
  checkIpam,
  datastoreOwners,
  formatAttrs,
  readClusterInfo,
  type AffinityInfo,
  type AffinityProblem,
  type CheckAllocation,
  type CheckOptions,
  type CheckReport,
  type CheckResult,
  type ClusterInfo,
  type HandleInfo,
  type InvalidBlock,
  type IpOwner,
  type ListOwners,
  type OwnerKind,
} from './check.js';
export {
  DEFAULT_IPV4_POOL_CIDR,
  DEFAULT_IPV4_POOL_NAME,
  DEFAULT_IPV6_POOL_NAME,
  defaultPoolSpec,
  ensureDefaultPools,
  parseEncapMode,
  planDefaultPools,
  type DefaultPoolPlan,
} from './default-pools.js';
export { IpamError, isIpamError, type IpamErrorReason } from './errors.js';
export {
  DEFAULT_NETWORK_NAME,
  WINDOWS_RESERVED_HANDLE,
  affinityName,
  cidrToName,
  hostnameHash,
  tunnelAttributeType,
  tunnelHandle,
  workloadHandle,
  type TunnelKind,
} from './names.js';
export {
  mergeReports,
  releaseFromReports,
  type ReleaseFromReportsOptions,
  type ReleaseFromReportsResult,
} from './release-report.js';
export { IpamStore, type PoolInfo, type Stored } from './store.js';
