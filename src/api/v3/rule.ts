/**
 * Calico policy rules (projectcalico.org/v3 policy_common.go): the shared shape of GlobalNetworkPolicy,
 * NetworkPolicy, their staged variants and Profile rules. Field names are Calico's JSON names.
 */

import type { Protocol } from '../numorstring.js';

/**
 * A protocol by canonical name (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite; case-insensitive on input) or
 * number 1-255. Decoded values are always in this normalised form.
 */
export type ProtocolValue = Protocol;

/** A port: a number (single port), `"min:max"`, or a named port (decoded values use this form). */
export type PortValue = number | string;

export type RuleAction = 'Allow' | 'Deny' | 'Log' | 'Pass';
export type PolicyType = 'Ingress' | 'Egress';

export interface IcmpFields {
  type?: number;
  code?: number;
}

export interface ServiceAccountMatch {
  names?: string[];
  selector?: string;
}

export interface ServiceMatch {
  name: string;
  namespace?: string;
}

export interface EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  ports?: PortValue[];
  notPorts?: PortValue[];
  serviceAccounts?: ServiceAccountMatch;
  services?: ServiceMatch;
  /** Calico Enterprise: domain names (exact or with one `*` label); egress Allow destinations only. */
  domains?: string[];
}

export interface HttpPath {
  exact?: string;
  prefix?: string;
}

export interface HttpMatch {
  methods?: string[];
  paths?: HttpPath[];
}

export interface RuleMetadata {
  annotations?: Record<string, string>;
}

export interface Rule {
  action: RuleAction;
  ipVersion?: 4 | 6;
  protocol?: ProtocolValue;
  notProtocol?: ProtocolValue;
  icmp?: IcmpFields;
  notICMP?: IcmpFields;
  source?: EntityRule;
  destination?: EntityRule;
  http?: HttpMatch;
  metadata?: RuleMetadata;
}
