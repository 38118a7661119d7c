/** Spec shapes of the non-policy Calico kinds the policy model needs. */
import type { ResourceEnvelope } from '../meta.js';
import type { ProtocolValue, Rule } from './rule.js';

export interface TierSpec {
  order?: number;
  defaultAction?: 'Deny' | 'Pass';
}
export type Tier = ResourceEnvelope<'Tier', TierSpec>;

export interface NetworkSetSpec {
  nets?: string[];
  /** Calico Enterprise: egress to these domains is allowed where an egress Allow rule selects the set. */
  allowedEgressDomains?: string[];
}
export type NetworkSet = ResourceEnvelope<'NetworkSet', NetworkSetSpec>;
export type GlobalNetworkSet = ResourceEnvelope<'GlobalNetworkSet', NetworkSetSpec>;

export interface EndpointPort {
  name: string;
  protocol: ProtocolValue;
  port: number;
}

export interface HostEndpointSpec {
  node?: string;
  interfaceName?: string;
  expectedIPs?: string[];
  profiles?: string[];
  ports?: EndpointPort[];
}
export type HostEndpoint = ResourceEnvelope<'HostEndpoint', HostEndpointSpec>;

/** A workload port; the name may be empty when a hostPort is set. */
export interface WorkloadEndpointPort {
  name?: string;
  protocol: ProtocolValue;
  port: number;
  hostPort?: number;
  hostIP?: string;
}

export interface IPNAT {
  internalIP: string;
  externalIP: string;
}

export interface WorkloadEndpointSpec {
  orchestrator?: string;
  workload?: string;
  node?: string;
  containerID?: string;
  pod?: string;
  endpoint?: string;
  serviceAccountName?: string;
  ipNetworks?: string[];
  ipNATs?: IPNAT[];
  ipv4Gateway?: string;
  ipv6Gateway?: string;
  profiles?: string[];
  interfaceName?: string;
  mac?: string;
  ports?: WorkloadEndpointPort[];
  allowSpoofedSourcePrefixes?: string[];
  qosControls?: QoSControls;
}

/** Bandwidth, packet-rate, connection and DSCP controls of a workload (reference §1.6). */
export interface QoSControls {
  ingressBandwidth?: number;
  ingressBurst?: number;
  ingressPeakrate?: number;
  ingressMinburst?: number;
  egressBandwidth?: number;
  egressBurst?: number;
  egressPeakrate?: number;
  egressMinburst?: number;
  ingressPacketRate?: number;
  ingressPacketBurst?: number;
  egressPacketRate?: number;
  egressPacketBurst?: number;
  ingressMaxConnections?: number;
  egressMaxConnections?: number;
  /** 0-63 or a name (DF, EF, AF11-AF43, CS0-CS6). */
  dscp?: number | string;
}
export type WorkloadEndpoint = ResourceEnvelope<'WorkloadEndpoint', WorkloadEndpointSpec>;

export interface ProfileSpec {
  ingress?: Rule[];
  egress?: Rule[];
  labelsToApply?: Record<string, string>;
}
export type Profile = ResourceEnvelope<'Profile', ProfileSpec>;
