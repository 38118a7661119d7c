/**
 * The reference evaluator: decides a connection against a ModelSnapshot exactly as Felix's rules would
 * (reference §3.3-3.5, §3.8-3.9), and explains the decision. Pure; build once per snapshot, decide many times.
 *
 * Per endpoint and direction: tiers in order; in each tier the policies selecting the endpoint in order; the
 * first matching Allow/Deny rule decides, Log continues, Pass skips the rest of the tier; a tier that ends
 * without Pass applies its default action (Deny, or Pass); tiers with no applicable policy are skipped; after
 * the tiers, the endpoint's profiles in order; nothing allowed => Deny. Staged policies never decide; they are
 * evaluated into the `pending` trace as if enforced. Traffic a node forwards through host endpoints also
 * meets their applyOnForward policy (forward.ts finds the endpoints; `evaluateForward`); any Deny drops.
 */
import type { IpAddr } from '../lib/net/ip.js';
import { policyDisplayName, policyIdString, policyQualifiedName } from '../model/ids.js';
import type { ModelSnapshot } from '../model/snapshot.js';
import type { ModelEndpoint, ModelPolicy, ModelRule, ModelTier } from '../model/types.js';
import { IpIndex } from './ip-index.js';
import type { Holder } from './ip-index.js';
import { ruleMatches } from './match.js';
import type { Packet, PacketEnd } from './match.js';
import { orderPolicies } from '../model/order.js';
import type { TierPlan } from '../model/order.js';
import { DEFAULT_FAILSAFE_INBOUND, DEFAULT_FAILSAFE_OUTBOUND } from './failsafe.js';
import type { FailsafePort } from './failsafe.js';
import { forwardHops, hostEndpointsByNode } from './forward.js';
import type { ForwardVia, HostEndpointsByNode } from './forward.js';
import type {
  Decider,
  Decision,
  Direction,
  DirectionTrace,
  RuleHit,
  Stage,
  TraceEvent,
  Verdict,
} from './trace.js';

export { DEFAULT_FAILSAFE_INBOUND, DEFAULT_FAILSAFE_OUTBOUND } from './failsafe.js';

export interface EvaluatorOptions {
  /** Felix defaultEndpointToHostAction (default Drop). */
  readonly endpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  readonly failsafeInbound?: readonly FailsafePort[];
  readonly failsafeOutbound?: readonly FailsafePort[];
}

export interface FlowEnd {
  readonly ip?: IpAddr;
  /** The Calico endpoint at this end; when absent it is looked up by `ip`. */
  readonly endpoint?: ModelEndpoint;
  readonly port?: number;
}

export interface Flow {
  readonly src: FlowEnd;
  readonly dst: FlowEnd;
  readonly protocol: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /**
   * Host endpoints a node forwards the packet through, when the caller knows them (the interfaces facing
   * the network); the rest is derived from the ends (forward.ts).
   */
  readonly via?: ForwardVia;
}

interface StageResult {
  readonly decided?: { verdict: Verdict; by: Decider };
}

function hitOf(tier: string, p: ModelPolicy, rule: ModelRule): RuleHit {
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
  };
}

/** The closure that ends one direction's evaluation with a verdict and what decided it. */
function finish(ep: ModelEndpoint, dir: Direction, path: TraceEvent[], stage?: 'forward') {
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

type Run = {
  verdict: Verdict;
  egress?: DirectionTrace;
  ingress?: DirectionTrace;
  forward?: DirectionTrace[];
};

export class PolicyEvaluator {
  private readonly index: IpIndex;
  private readonly plans = new Map<ModelEndpoint, readonly TierPlan[]>();
  private readonly opts: Required<EvaluatorOptions>;

  private readonly snapshot: ModelSnapshot;
  private readonly hasStaged: boolean;
  private readonly hepsByNode: HostEndpointsByNode;

  constructor(snapshot: ModelSnapshot, options: EvaluatorOptions = {}) {
    this.snapshot = snapshot;
    this.hasStaged = snapshot.policies.some((p) => p.staged);
    this.hepsByNode = hostEndpointsByNode(snapshot.endpoints);
    this.index = new IpIndex(snapshot.endpoints, snapshot.networkSets, snapshot.profiles);
    this.opts = {
      endpointToHostAction: options.endpointToHostAction ?? 'Drop',
      failsafeInbound: options.failsafeInbound ?? DEFAULT_FAILSAFE_INBOUND,
      failsafeOutbound: options.failsafeOutbound ?? DEFAULT_FAILSAFE_OUTBOUND,
    };
  }

  /** Endpoints holding exactly this address. */
  endpointsAt(ip: IpAddr): ModelEndpoint[] {
    return this.index.endpointsAt(ip);
  }

  decide(flow: Flow): Decision {
    const srcEp =
      flow.src.endpoint ?? (flow.src.ip !== undefined ? this.index.endpointsAt(flow.src.ip)[0] : undefined);
    const dstEp =
      flow.dst.endpoint ?? (flow.dst.ip !== undefined ? this.index.endpointsAt(flow.dst.ip)[0] : undefined);
    const family =
      flow.src.ip?.family ?? flow.dst.ip?.family ?? srcEp?.ips[0]?.family ?? dstEp?.ips[0]?.family ?? 4;
    const packet: Packet = {
      family,
      protocol: flow.protocol,
      src: this.packetEnd(flow.src, srcEp),
      dst: this.packetEnd(flow.dst, dstEp),
      ...(flow.icmpType !== undefined ? { icmpType: flow.icmpType } : {}),
      ...(flow.icmpCode !== undefined ? { icmpCode: flow.icmpCode } : {}),
    };
    const { hops, caveats } = forwardHops(this.hepsByNode, srcEp, dstEp, flow.via);
    const run = (includeStaged: boolean): Run => {
      const forward = hops.flatMap((h) => [
        ...(h.in !== undefined ? [this.evaluateForward(h.in, 'ingress', packet, includeStaged)] : []),
        ...(h.out !== undefined ? [this.evaluateForward(h.out, 'egress', packet, includeStaged)] : []),
      ]);
      const egress = srcEp !== undefined ? this.evaluate(srcEp, 'egress', packet, includeStaged) : undefined;
      let ingress: DirectionTrace | undefined;
      if (dstEp !== undefined) {
        const toOwnHost = srcEp?.key.kind === 'wep' && dstEp.key.kind === 'hep' && srcEp.node === dstEp.node;
        const action = this.opts.endpointToHostAction;
        if (toOwnHost && action !== 'Return') {
          ingress = {
            direction: 'ingress',
            endpoint: dstEp.display,
            verdict: action === 'Accept' ? 'Allow' : 'Deny',
            decidedBy: { kind: 'endpointToHost', action },
            path: [],
          };
        } else {
          ingress = this.evaluate(dstEp, 'ingress', packet, includeStaged);
        }
      }
      const denied = [egress, ingress, ...forward].some((t) => t?.verdict === 'Deny');
      return {
        verdict: denied ? 'Deny' : 'Allow',
        ...(egress !== undefined ? { egress } : {}),
        ...(ingress !== undefined ? { ingress } : {}),
        ...(forward.length > 0 ? { forward } : {}),
      };
    };
    const enforced = run(false);
    // Without staged policies the pending evaluation is the enforced one.
    return {
      ...enforced,
      ...(caveats.length > 0 ? { caveats } : {}),
      pending: this.hasStaged ? run(true) : enforced,
    };
  }

  private packetEnd(end: FlowEnd, ep: ModelEndpoint | undefined): PacketEnd {
    const holders: Holder[] = end.ip !== undefined ? this.index.holdersOf(end.ip) : [];
    if (ep !== undefined) {
      const h = this.index.holderOf(ep);
      if (h !== undefined && !holders.includes(h)) holders.unshift(h);
    }
    return {
      holders,
      ...(end.ip !== undefined ? { ip: end.ip } : {}),
      ...(end.port !== undefined ? { port: end.port } : {}),
    };
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

  private evaluate(
    ep: ModelEndpoint,
    dir: Direction,
    packet: Packet,
    includeStaged: boolean,
  ): DirectionTrace {
    const path: TraceEvent[] = [];
    const done = finish(ep, dir, path);
    if (ep.key.kind === 'hep') {
      const failsafe = dir === 'ingress' ? this.opts.failsafeInbound : this.opts.failsafeOutbound;
      const port = packet.dst.port;
      const hit = failsafe.find((f) => f.protocol === packet.protocol && f.port === port);
      if (hit !== undefined)
        return done('Allow', { kind: 'failsafe', protocol: hit.protocol, port: hit.port });
      const stages: Stage[] = dir === 'ingress' ? ['untracked', 'preDNAT'] : ['untracked'];
      for (const stage of stages) {
        const r = this.runTiers(ep, dir, packet, includeStaged, stage, path);
        if (r.decided !== undefined && (r.decided.verdict === 'Deny' || stage === 'untracked')) {
          return done(r.decided.verdict, r.decided.by);
        }
      }
    }
    const r = this.runTiers(ep, dir, packet, includeStaged, 'normal', path);
    if (r.decided !== undefined) return done(r.decided.verdict, r.decided.by);
    return this.runProfiles(ep, dir, packet, path, done);
  }

  /**
   * A host endpoint's policy on traffic the host forwards through it (Felix's cali-fhfw-/cali-thfw- chains,
   * rules/endpoints.go chainTypeForward). An arriving packet first meets the interface's untracked (raw) and
   * preDNAT (mangle) policy, as all traffic does: Deny drops; Allow accepts it past the forward policy (the
   * accept mark skips cali-from-hep-forward); a failsafe port only skips that stage. Untracked policy of the
   * `*` endpoint is ignored, as Felix does. Then the applyOnForward tiers: no failsafe, no profiles; a
   * packet no tier allowed or denied is not dropped.
   */
  private evaluateForward(
    hep: ModelEndpoint,
    dir: Direction,
    packet: Packet,
    includeStaged: boolean,
  ): DirectionTrace {
    const path: TraceEvent[] = [];
    const done = finish(hep, dir, path, 'forward');
    if (dir === 'ingress') {
      for (const stage of ['untracked', 'preDNAT'] as const) {
        if (stage === 'untracked' && hep.interfaceName === '*') continue;
        if (this.stageTiers(hep, dir, stage, includeStaged).length === 0) continue;
        const fs = this.failsafeIn(packet, stage === 'untracked');
        if (fs !== undefined) {
          path.push({ kind: 'failsafeSkip', stage, protocol: fs.protocol, port: fs.port });
          continue;
        }
        const r = this.runTiers(hep, dir, packet, includeStaged, stage, path);
        if (r.decided !== undefined) return done(r.decided.verdict, r.decided.by);
      }
    }
    const r = this.runTiers(hep, dir, packet, includeStaged, 'forward', path);
    if (r.decided !== undefined) return done(r.decided.verdict, r.decided.by);
    const ran = this.stageTiers(hep, dir, 'forward', includeStaged).length > 0;
    return done('Allow', { kind: 'forwardDefault', reason: ran ? 'noVerdict' : 'noPolicy' });
  }

  /**
   * The raw failsafe chain accepts inbound failsafe ports and responses to outbound failsafe connections
   * (source port); the mangle one only inbound failsafe ports.
   */
  private failsafeIn(packet: Packet, raw: boolean): FailsafePort | undefined {
    const { protocol } = packet;
    const dst = this.opts.failsafeInbound.find((f) => f.protocol === protocol && f.port === packet.dst.port);
    if (dst !== undefined || !raw) return dst;
    return this.opts.failsafeOutbound.find((f) => f.protocol === protocol && f.port === packet.src.port);
  }

  /** The endpoint's tiers holding policies of `stage` for `dir`, with those policies in order. */
  private stageTiers(
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

  private runTiers(
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
        stage,
      });
      let passed = false;
      for (const pol of pols) {
        for (const rule of dir === 'ingress' ? pol.inbound : pol.outbound) {
          if (!ruleMatches(rule, packet)) continue;
          const hit = hitOf(tierName, pol, rule);
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

  private runProfiles(
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
        if (!ruleMatches(rule, packet)) continue;
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

export type { ModelTier };
