/**
 * What the reference evaluator returns: a verdict plus, per direction, the path it took and what decided.
 * Every Deny names its cause: a rule, a tier's end, or "no profile allowed" (the "why was this dropped" answer).
 */
import type { PolicyKindShort } from '../model/ids.js';

export type Verdict = 'Allow' | 'Deny';
export type Direction = 'ingress' | 'egress';

/** A matched rule of a policy or profile. */
export interface RuleHit {
  readonly tier: string;
  /** Felix policy id, e.g. `gnp/allow-dns`, `knp/production/deny-all-ingress`. */
  readonly policyId: string;
  /** The name users know: `allow-dns`, `knp.default.deny-all-ingress`. */
  readonly policyName: string;
  readonly kind: PolicyKindShort;
  readonly namespace?: string;
  readonly ruleIndex: number;
  readonly action: 'Allow' | 'Deny' | 'Pass' | 'Log';
}

export type Decider =
  | { readonly kind: 'rule'; readonly hit: RuleHit; readonly stage: 'normal' | 'untracked' | 'preDNAT' }
  | { readonly kind: 'endOfTier'; readonly tier: string; readonly policies: readonly string[] }
  | {
      readonly kind: 'profile';
      readonly profile: string;
      readonly ruleIndex: number;
      readonly action: Verdict;
    }
  | { readonly kind: 'noProfileAllowed'; readonly profiles: readonly string[] }
  | { readonly kind: 'failsafe'; readonly protocol: number; readonly port: number }
  | { readonly kind: 'endpointToHost'; readonly action: 'Drop' | 'Accept' };

export type TraceEvent =
  /** Entered a tier; `policies` are the ones selecting the endpoint for this direction, in order. */
  | {
      readonly kind: 'tier';
      readonly tier: string;
      readonly policies: readonly string[];
      readonly stage: string;
    }
  | { readonly kind: 'hit'; readonly hit: RuleHit }
  /** A tier ended with no verdict and its default action is Pass (or it held only staged policies). */
  | { readonly kind: 'tierPass'; readonly tier: string; readonly reason: 'defaultActionPass' | 'onlyStaged' }
  | { readonly kind: 'profiles'; readonly profiles: readonly string[] }
  | { readonly kind: 'profileLog'; readonly profile: string; readonly ruleIndex: number }
  | { readonly kind: 'missingProfile'; readonly profile: string };

export interface DirectionTrace {
  readonly direction: Direction;
  /** The endpoint whose policy was evaluated (`production/web`, `hostendpoint eth0-node1`). */
  readonly endpoint: string;
  readonly verdict: Verdict;
  readonly decidedBy: Decider;
  readonly path: readonly TraceEvent[];
}

export interface Decision {
  readonly verdict: Verdict;
  /** Egress policy of the source endpoint; absent when the source is not a Calico endpoint. */
  readonly egress?: DirectionTrace;
  /** Ingress policy of the destination endpoint; absent when the destination is not a Calico endpoint. */
  readonly ingress?: DirectionTrace;
  /** The same evaluation with staged policies treated as enforced: what would happen if they were applied. */
  readonly pending: {
    readonly verdict: Verdict;
    readonly egress?: DirectionTrace;
    readonly ingress?: DirectionTrace;
  };
}
