/**
 * Flow records in Goldmane's shape (src/goldmane/api.proto, as @grpc/proto-loader decodes it with the options
 * of src/goldmane/proto.ts: field names as in the .proto, enums as their names, int64 as numbers, defaults
 * filled in). The collector in calico-node builds them, calico-goldmane aggregates them, calicoctl and the viewer
 * read them; the JSON-lines flow logs are these objects, one per line.
 */

export const ACTIONS = ['ActionUnspecified', 'Allow', 'Deny', 'Pass'] as const;
export type Action = (typeof ACTIONS)[number];

export const ENDPOINT_TYPES = [
  'EndpointTypeUnspecified',
  'WorkloadEndpoint',
  'HostEndpoint',
  'NetworkSet',
  'Network',
] as const;
export type EndpointType = (typeof ENDPOINT_TYPES)[number];

export const REPORTERS = ['ReporterUnspecified', 'Src', 'Dst'] as const;
export type Reporter = (typeof REPORTERS)[number];

export const POLICY_KINDS = [
  'KindUnspecified',
  'CalicoNetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'NetworkPolicy',
  'AdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
  'Profile',
  'EndOfTier',
  'ClusterNetworkPolicy',
] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

/**
 * One step of a policy trace. End of tier: kind `EndOfTier`, rule_index -1, action Deny (or Pass for a tier
 * holding only staged policies), and `trigger` the policy Felix names for it (the last enforced policy of the
 * tier that selected the endpoint).
 * Profiles: kind `Profile`, tier `__PROFILE__` in the string form.
 */
export interface PolicyHit {
  kind: PolicyKind;
  namespace: string;
  name: string;
  tier: string;
  action: Action;
  policy_index: number;
  rule_index: number;
  trigger: PolicyHit | null;
}

export interface PolicyTrace {
  enforced_policies: PolicyHit[];
  pending_policies: PolicyHit[];
}

/**
 * What flows are aggregated by. Names are aggregated as Calico does: a pod's GenerateName plus `*` (else its
 * name), a host endpoint's node name, a network set's name, `pub` / `pvt` for an address outside the cluster
 * (RFC 1918 or not). Namespace `-` for global things. Ports and services 0 / `-` / "" when none.
 */
export interface FlowKey {
  source_name: string;
  source_namespace: string;
  source_type: EndpointType;
  dest_name: string;
  dest_namespace: string;
  dest_type: EndpointType;
  dest_port: number;
  dest_service_name: string;
  dest_service_namespace: string;
  dest_service_port_name: string;
  dest_service_port: number;
  /** `tcp`, `udp`, `icmp`, `icmp6`, or the protocol number. */
  proto: string;
  reporter: Reporter;
  action: Action;
  policies: PolicyTrace;
}

export interface Flow {
  Key: FlowKey;
  /** Unix seconds. */
  start_time: number;
  end_time: number;
  /** `key=value` strings. */
  source_labels: string[];
  dest_labels: string[];
  packets_in: number;
  packets_out: number;
  bytes_in: number;
  bytes_out: number;
  num_connections_started: number;
  num_connections_completed: number;
  num_connections_live: number;
}
