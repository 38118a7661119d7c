/** Spec shapes of the Calico policy kinds (GlobalNetworkPolicy, NetworkPolicy and staged variants). */
import type { ResourceEnvelope } from '../meta.js';
import type { PolicyType, Rule } from './rule.js';

export type StagedAction = 'Set' | 'Delete' | 'Learn' | 'Ignore';

/** Fields common to NetworkPolicy and GlobalNetworkPolicy. */
export interface PolicySpecCommon {
  tier?: string;
  order?: number;
  selector?: string;
  serviceAccountSelector?: string;
  types?: PolicyType[];
  ingress?: Rule[];
  egress?: Rule[];
  performanceHints?: string[];
}

export type NetworkPolicySpec = PolicySpecCommon;

export interface GlobalNetworkPolicySpec extends PolicySpecCommon {
  namespaceSelector?: string;
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
}

export interface StagedNetworkPolicySpec extends NetworkPolicySpec {
  stagedAction?: StagedAction;
}

export interface StagedGlobalNetworkPolicySpec extends GlobalNetworkPolicySpec {
  stagedAction?: StagedAction;
}

export type NetworkPolicy = ResourceEnvelope<'NetworkPolicy', NetworkPolicySpec>;
export type GlobalNetworkPolicy = ResourceEnvelope<'GlobalNetworkPolicy', GlobalNetworkPolicySpec>;
export type StagedNetworkPolicy = ResourceEnvelope<'StagedNetworkPolicy', StagedNetworkPolicySpec>;
export type StagedGlobalNetworkPolicy = ResourceEnvelope<
  'StagedGlobalNetworkPolicy',
  StagedGlobalNetworkPolicySpec
>;
