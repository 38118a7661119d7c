/**
 * One endpoint's policy in one stage and direction (reference §3.3-3.5), for the evaluator: the tiers in
 * order; in each the policies of that stage selecting the endpoint, in order; the first matching Allow or
 * Deny rule decides, Log continues, Pass skips the rest of the tier; a tier that ends without a verdict
 * applies its default action (Deny, or Pass; untracked and preDNAT tiers always pass, as Felix forces);
 * tiers with no applicable policy are skipped. Then, for normal policy, the endpoint's profiles in order;
 * nothing allowed => Deny. Pure.
 */
import { policyDisplayName, policyIdString, policyQualifiedName } from '../model/ids.js';
import { orderPolicies } from '../model/order.js';
import type { TierPlan } from '../model/order.js';
import type { ModelSnapshot } from '../model/snapshot.js';
import type { ModelEndpoint, ModelPolicy, ModelRule, ModelTier } from '../model/types.js';
import type { IpIndex } from './ip-index.js';
import { type RuleMatch, ruleMatches } from './match.js';
import type { Packet } from './match.js';
import type { Decider, Direction, DirectionTrace, RuleHit, Stage, TraceEvent, Verdict } from './trace.js';

export interface StageResult {
  readonly decided?: { readonly verdict: Verdict; readonly by: Decider };
}

function hitOf(tier: string, p: ModelPolicy, rule: ModelRule, m: RuleMatch): RuleHit {
  const action =
    rule.action === 'allow'
      ? 'Allow'
      : rule.action === 'deny'
        ? 'Deny'
        : rule.action === 'pass'
          ? 'Pass'
          : 'Log';
  return {
    tier,
    policyId: policyIdString(p.key),
    policyName: policyDisplayName(p.key),
    kind: p.key.kind,
    ...(p.key.namespace !== undefined ? { namespace: p.key.namespace } : {}),
    ruleIndex: rule.index,
    action,
    ...(m.domain !== undefined ? { domain: m.domain } : {}),
  };
}

/** The closure that ends one direction's evaluation with a verdict and what decided it. */
export function finish(ep: ModelEndpoint, dir: Direction, path: TraceEvent[], stage?: 'forward') {
  return (verdict: Verdict, by: Decider): DirectionTrace => ({
    direction: dir,
    endpoint: ep.display,
    ...(stage !== undefined ? { stage } : {}),
    verdict,
    decidedBy: by,
    path,
  });
}

function inStage(p: ModelPolicy, stage: Stage): boolean {
  switch (stage) {
    case 'untracked':
      return p.doNotTrack;
    case 'preDNAT':
      return p.preDNAT;
    case 'normal':
      return !p.doNotTrack && !p.preDNAT;
    case 'forward':
      return p.applyOnForward && !p.doNotTrack && !p.preDNAT;
  }
}

export class TierRunner {
  private readonly plans = new Map<ModelEndpoint, readonly TierPlan[]>();
  private readonly snapshot: ModelSnapshot;
  private readonly index: IpIndex;

  constructor(snapshot: ModelSnapshot, index: IpIndex) {
    this.snapshot = snapshot;
    this.index = index;
  }

  /** The endpoint's applicable policies grouped into ordered tiers (cached per endpoint). */
  planFor(ep: ModelEndpoint): readonly TierPlan[] {
    let plan = this.plans.get(ep);
    if (plan === undefined) {
      const labels = this.index.holderOf(ep)?.labels ?? ep.labels;
      const selected = this.snapshot.policies.filter((p) => p.selector.matches(labels));
      plan = orderPolicies(selected, this.snapshot.tiers);
      this.plans.set(ep, plan);
    }
    return plan;
  }

  /** The endpoint's tiers holding policies of `stage` for `dir`, with those policies in order. */
  stageTiers(
    ep: ModelEndpoint,
    dir: Direction,
    stage: Stage,
    includeStaged: boolean,
  ): { tier: ModelTier; policies: ModelPolicy[] }[] {
    return this.planFor(ep).flatMap((plan) => {
      const policies = plan.policies.filter(
        (p) =>
          (dir === 'ingress' ? p.ingress : p.egress) && inStage(p, stage) && (includeStaged || !p.staged),
      );
      return policies.length > 0 ? [{ tier: plan.tier, policies }] : [];
    });
  }

  runTiers(
    ep: ModelEndpoint,
    dir: Direction,
    packet: Packet,
    includeStaged: boolean,
    stage: Stage,
    path: TraceEvent[],
  ): StageResult {
    for (const plan of this.stageTiers(ep, dir, stage, includeStaged)) {
      const pols = plan.policies;
      const tierName = plan.tier.name;
      path.push({
        kind: 'tier',
        tier: tierName,
        policies: pols.map((p) => policyQualifiedName(p.key)),
        policyIds: pols.map((p) => policyIdString(p.key)),
        stage,
      });
      let passed = false;
      for (const pol of pols) {
        for (const rule of dir === 'ingress' ? pol.inbound : pol.outbound) {
          const m = ruleMatches(rule, packet, dir);
          if (m === undefined) continue;
          const hit = hitOf(tierName, pol, rule, m);
          path.push({ kind: 'hit', hit });
          if (rule.action === 'log') continue;
          if (rule.action === 'pass') {
            passed = true;
            break;
          }
          return {
            decided: {
              verdict: rule.action === 'allow' ? 'Allow' : 'Deny',
              by: { kind: 'rule', hit, stage },
            },
          };
        }
        if (passed) break;
      }
      if (passed) continue;
      // Untracked and preDNAT tiers never default-drop (Felix forces their end of tier to Pass).
      if (plan.tier.defaultAction === 'pass' || stage === 'untracked' || stage === 'preDNAT') {
        path.push({ kind: 'tierPass', tier: tierName, reason: 'defaultActionPass' });
        continue;
      }
      return {
        decided: {
          verdict: 'Deny',
          by: { kind: 'endOfTier', tier: tierName, policies: pols.map((p) => policyQualifiedName(p.key)) },
        },
      };
    }
    return {};
  }

  runProfiles(
    ep: ModelEndpoint,
    dir: Direction,
    packet: Packet,
    path: TraceEvent[],
    done: (v: Verdict, by: Decider) => DirectionTrace,
  ): DirectionTrace {
    path.push({ kind: 'profiles', profiles: ep.profiles });
    for (const name of ep.profiles) {
      const prof = this.snapshot.profiles.get(name);
      if (prof === undefined) {
        path.push({ kind: 'missingProfile', profile: name });
        continue;
      }
      for (const rule of dir === 'ingress' ? prof.inbound : prof.outbound) {
        if (ruleMatches(rule, packet, dir) === undefined) continue;
        if (rule.action === 'log') {
          path.push({ kind: 'profileLog', profile: name, ruleIndex: rule.index });
          continue;
        }
        if (rule.action === 'pass') break;
        const verdict: Verdict = rule.action === 'allow' ? 'Allow' : 'Deny';
        return done(verdict, { kind: 'profile', profile: name, ruleIndex: rule.index, action: verdict });
      }
    }
    return done('Deny', { kind: 'noProfileAllowed', profiles: ep.profiles });
  }
}
