/**
 * What the reference evaluator returns: a verdict plus, per direction, the path it took and what decided.
 * Every Deny names its cause: a rule, a tier's end, or "no profile allowed" (the "why was this dropped" answer).
 */
import type { PolicyKindShort } from '../model/ids.js';
import type { DomainMatch } from './match.js';

export type Verdict = 'Allow' | 'Deny';
export type Direction = 'ingress' | 'egress';

/**
 * Which of an endpoint's policy stages a tier belongs to: normal policy, a host endpoint's untracked
 * (doNotTrack, raw) or preDNAT (mangle) policy, or its applyOnForward policy for traffic the host forwards
 * through it (Felix's cali-fhfw/cali-thfw chains).
 */
export type Stage = 'normal' | 'untracked' | 'preDNAT' | 'forward';

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
  /** DNS policy: the domain pattern that let the destination match (and the name, and the set). */
  readonly domain?: DomainMatch;
}

export type Decider =
  | { readonly kind: 'rule'; readonly hit: RuleHit; readonly stage: Stage }
  | { readonly kind: 'endOfTier'; readonly tier: string; readonly policies: readonly string[] }
  | {
      readonly kind: 'profile';
      readonly profile: string;
      readonly ruleIndex: number;
      readonly action: Verdict;
    }
  | { readonly kind: 'noProfileAllowed'; readonly profiles: readonly string[] }
  | { readonly kind: 'failsafe'; readonly protocol: number; readonly port: number }
  /**
   * A workload's traffic to its own host, after the workload's egress policy: Felix's
   * defaultEndpointToHostAction (Return hands the packet back to the host's INPUT chain, where Calico
   * applies no host endpoint policy: it is allowed).
   */
  | { readonly kind: 'endpointToHost'; readonly action: 'Drop' | 'Accept' | 'Return' }
  /** A host's traffic to one of its own workloads: Felix polices neither end (its OUTPUT chain returns). */
  | { readonly kind: 'hostToLocalWorkload' }
  /**
   * Forwarded traffic no applyOnForward policy decided: none selects the host endpoint for this direction
   * (`noPolicy`), or every tier passed it (`noVerdict`). Either way Calico does not drop it.
   */
  | { readonly kind: 'forwardDefault'; readonly reason: 'noPolicy' | 'noVerdict' };

export type TraceEvent =
  /** Entered a tier; `policies` are the ones selecting the endpoint for this direction, in order. */
  | {
      readonly kind: 'tier';
      readonly tier: string;
      readonly policies: readonly string[];
      /** The same policies as Felix ids (`gnp/name`, `np/ns/name`): what flow logs name (src/flows/policy-hits.ts). */
      readonly policyIds: readonly string[];
      readonly stage: Stage;
    }
  | { readonly kind: 'hit'; readonly hit: RuleHit }
  /** A tier ended with no verdict and its default action is Pass (or it held only staged policies). */
  | { readonly kind: 'tierPass'; readonly tier: string; readonly reason: 'defaultActionPass' | 'onlyStaged' }
  | { readonly kind: 'profiles'; readonly profiles: readonly string[] }
  | { readonly kind: 'profileLog'; readonly profile: string; readonly ruleIndex: number }
  | { readonly kind: 'missingProfile'; readonly profile: string }
  /**
   * The preDNAT policy that applied is the `*` endpoint's: the interface the packet arrived through has no
   * endpoint with preDNAT policy of its own (Felix's mangle dispatch default).
   */
  | { readonly kind: 'stageFrom'; readonly stage: 'preDNAT'; readonly endpoint: string }
  /** A failsafe port: the raw (untracked) or mangle (preDNAT) failsafe chain accepted it past that stage. */
  | {
      readonly kind: 'failsafeSkip';
      readonly stage: 'untracked' | 'preDNAT';
      readonly protocol: number;
      readonly port: number;
    };

export interface DirectionTrace {
  readonly direction: Direction;
  /** The endpoint whose policy was evaluated (`production/web`, `hostendpoint eth0-node1`). */
  readonly endpoint: string;
  /** Set for a host endpoint's policy on traffic the host forwards through it (`forward`). */
  readonly stage?: 'forward';
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
  /**
   * Host endpoints the packet is forwarded through, in the order it meets them: on each node that routes
   * it, the endpoint of the interface it arrives through (ingress) and of the one it leaves through (egress).
   */
  readonly forward?: readonly DirectionTrace[];
  /** What the evaluator could not know and left out (which host interface a node routes the packet through). */
  readonly caveats?: readonly string[];
  /** The same evaluation with staged policies treated as enforced: what would happen if they were applied. */
  readonly pending: {
    readonly verdict: Verdict;
    readonly egress?: DirectionTrace;
    readonly ingress?: DirectionTrace;
    readonly forward?: readonly DirectionTrace[];
  };
}
