/**
 * The reference evaluator: decides a connection against a ModelSnapshot exactly as Felix's rules would
 * (reference §3.3-3.5, §3.8-3.9), and explains the decision. Pure; build once per snapshot, decide many times.
 *
 * Per endpoint and direction: tiers in order; in each tier the policies selecting the endpoint in order; the
 * first matching Allow/Deny rule decides, Log continues, Pass skips the rest of the tier; a tier that ends
 * without Pass applies its default action (Deny, or Pass); tiers with no applicable policy are skipped; after
 * the tiers, the endpoint's profiles in order; nothing allowed => Deny. Staged policies never decide; they are
 * evaluated into the `pending` trace as if enforced (tiers.ts). Host endpoints (docs/design/dataplane.md,
 * "Host endpoints"): the one in force on an interface (host-endpoints.ts); untracked and preDNAT policy
 * where a packet arrives, the `*` endpoint's preDNAT policy for interfaces without their own; failsafe
 * ports; a host's traffic to its own workloads is not policed, a workload's traffic to its own host follows
 * defaultEndpointToHostAction. Traffic a node forwards through host endpoints also meets their
 * applyOnForward policy (forward.ts finds the endpoints; `evaluateForward`); any Deny drops.
 */
import type { IpAddr } from '../lib/net/ip.js';
import type { ModelSnapshot } from '../model/snapshot.js';
import type { ModelEndpoint, ModelTier } from '../model/types.js';
import { DEFAULT_FAILSAFE_INBOUND, DEFAULT_FAILSAFE_OUTBOUND, failsafeHit } from './failsafe.js';
import type { FailsafePort } from './failsafe.js';
import { forwardHops } from './forward.js';
import type { ForwardVia } from './forward.js';
import { HostEndpointIndex, notInForceCaveat } from './host-endpoints.js';
import { IpIndex } from './ip-index.js';
import type { Holder } from './ip-index.js';
import type { Packet, PacketEnd } from './match.js';
import { finish, TierRunner } from './tiers.js';
import type { StageResult } from './tiers.js';
import type { Decision, Direction, DirectionTrace, TraceEvent, Verdict } from './trace.js';
import type { ResolvedNames } from '../model/dns-cache.js';

export { DEFAULT_FAILSAFE_INBOUND, DEFAULT_FAILSAFE_OUTBOUND } from './failsafe.js';

export interface EvaluatorOptions {
  /** Felix defaultEndpointToHostAction (default Drop). */
  readonly endpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  readonly failsafeInbound?: readonly FailsafePort[];
  readonly failsafeOutbound?: readonly FailsafePort[];
  /** DNS policy: the names addresses are currently mapped from (none: domain rules match nothing). */
  readonly resolvedNames?: ResolvedNames;
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

type Run = {
  verdict: Verdict;
  egress?: DirectionTrace;
  ingress?: DirectionTrace;
  forward?: DirectionTrace[];
};

export class PolicyEvaluator {
  private readonly index: IpIndex;
  private readonly tiers: TierRunner;
  private readonly opts: Required<Omit<EvaluatorOptions, 'resolvedNames'>>;
  private readonly resolved: ResolvedNames | undefined;
  private readonly hasStaged: boolean;
  private readonly heps: HostEndpointIndex;

  constructor(snapshot: ModelSnapshot, options: EvaluatorOptions = {}) {
    this.hasStaged = snapshot.policies.some((p) => p.staged);
    this.heps = new HostEndpointIndex(snapshot.endpoints);
    this.index = new IpIndex(snapshot.endpoints, snapshot.networkSets, snapshot.profiles);
    this.tiers = new TierRunner(snapshot, this.index);
    this.opts = {
      endpointToHostAction: options.endpointToHostAction ?? 'Drop',
      failsafeInbound: options.failsafeInbound ?? DEFAULT_FAILSAFE_INBOUND,
      failsafeOutbound: options.failsafeOutbound ?? DEFAULT_FAILSAFE_OUTBOUND,
    };
    this.resolved = options.resolvedNames;
  }

  /** Endpoints holding exactly this address. */
  endpointsAt(ip: IpAddr): ModelEndpoint[] {
    return this.index.endpointsAt(ip);
  }

  decide(flow: Flow): Decision {
    const caveats: string[] = [];
    const srcEp = this.endOf(flow.src, caveats);
    const dstEp = this.endOf(flow.dst, caveats);
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
    const fwd = forwardHops(this.heps, srcEp, dstEp, flow.via);
    caveats.push(...fwd.caveats);
    const sameNode =
      srcEp !== undefined && dstEp !== undefined && srcEp.node !== '' && srcEp.node === dstEp.node;
    const run = (includeStaged: boolean): Run => {
      if (sameNode && srcEp.key.kind === 'hep' && dstEp.key.kind === 'wep') {
        // Felix's cali-OUTPUT returns for workload interfaces: no policy at either end.
        const by = { kind: 'hostToLocalWorkload' } as const;
        const egress = finish(srcEp, 'egress', [])('Allow', by);
        return { verdict: 'Allow', egress, ingress: finish(dstEp, 'ingress', [])('Allow', by) };
      }
      const forward = fwd.hops.flatMap((h) => [
        ...(h.in !== undefined ? [this.evaluateForward(h.in, 'ingress', packet, includeStaged)] : []),
        ...(h.out !== undefined ? [this.evaluateForward(h.out, 'egress', packet, includeStaged)] : []),
      ]);
      const egress = srcEp !== undefined ? this.evaluate(srcEp, 'egress', packet, includeStaged) : undefined;
      let ingress: DirectionTrace | undefined;
      if (dstEp !== undefined) {
        ingress =
          sameNode && srcEp.key.kind === 'wep' && dstEp.key.kind === 'hep'
            ? this.workloadToHost(dstEp, packet, includeStaged)
            : this.evaluate(dstEp, 'ingress', packet, includeStaged);
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

  /**
   * The Calico endpoint at one end: the one given, else the one holding the address. A host endpoint is
   * replaced by the one in force on its interface (a lower name wins it); a caveat says so when the caller
   * named the endpoint.
   */
  private endOf(end: FlowEnd, caveats: string[]): ModelEndpoint | undefined {
    const ep = end.endpoint ?? (end.ip !== undefined ? this.index.endpointsAt(end.ip)[0] : undefined);
    if (ep === undefined) return undefined;
    const inForce = this.heps.inForce(ep);
    if (inForce !== ep && end.endpoint !== undefined) caveats.push(notInForceCaveat(ep, inForce));
    return inForce;
  }

  private packetEnd(end: FlowEnd, ep: ModelEndpoint | undefined): PacketEnd {
    const holders: Holder[] = end.ip !== undefined ? this.index.holdersOf(end.ip) : [];
    if (ep !== undefined) {
      const h = this.index.holderOf(ep);
      if (h !== undefined && !holders.includes(h)) holders.unshift(h);
    }
    const names = end.ip !== undefined ? (this.resolved?.namesFor(end.ip) ?? []) : [];
    return {
      holders,
      ...(names.length > 0 ? { names, domainHolders: this.index.domainHoldersOf(names) } : {}),
      ...(end.ip !== undefined ? { ip: end.ip } : {}),
      ...(end.port !== undefined ? { port: end.port } : {}),
    };
  }

  /**
   * One endpoint's policy for one direction. A host endpoint's own traffic first meets its untracked policy
   * (raw OUTPUT), traffic arriving for the host its untracked and preDNAT policy (raw and mangle PREROUTING,
   * `prerouting`); an Allow there is final, as Felix's filter INPUT and OUTPUT accept what those stages
   * accepted. Then the failsafe ports, the normal tiers and the profiles.
   */
  private evaluate(
    ep: ModelEndpoint,
    dir: Direction,
    packet: Packet,
    includeStaged: boolean,
  ): DirectionTrace {
    const path: TraceEvent[] = [];
    const done = finish(ep, dir, path);
    if (ep.key.kind === 'hep') {
      const early =
        dir === 'ingress'
          ? this.prerouting(ep, ep.node, packet, includeStaged, path)
          : this.rawOutput(ep, packet, includeStaged, path);
      if (early.decided !== undefined) return done(early.decided.verdict, early.decided.by);
      const hit = this.failsafe(dir, packet, false);
      if (hit !== undefined)
        return done('Allow', { kind: 'failsafe', protocol: hit.protocol, port: hit.port });
    }
    const r = this.tiers.runTiers(ep, dir, packet, includeStaged, 'normal', path);
    if (r.decided !== undefined) return done(r.decided.verdict, r.decided.by);
    return this.tiers.runProfiles(ep, dir, packet, path, done);
  }

  /**
   * A workload's traffic to its own host (`ep` is the host's endpoint), besides the workload's egress
   * policy: the packet arrives through the workload's interface, which has no endpoint of its own, so the
   * `*` endpoint's preDNAT policy applies in mangle PREROUTING (an Allow there does not skip the workload's
   * egress policy: Felix's filter INPUT sends workload traffic on first); then defaultEndpointToHostAction.
   */
  private workloadToHost(ep: ModelEndpoint, packet: Packet, includeStaged: boolean): DirectionTrace {
    const path: TraceEvent[] = [];
    const done = finish(ep, 'ingress', path);
    const pre = this.prerouting(undefined, ep.node, packet, includeStaged, path);
    if (pre.decided?.verdict === 'Deny') return done('Deny', pre.decided.by);
    const action = this.opts.endpointToHostAction;
    return done(action === 'Drop' ? 'Deny' : 'Allow', { kind: 'endpointToHost', action });
  }

  /**
   * A host endpoint's policy on traffic the host forwards through it (Felix's cali-fhfw-/cali-thfw- chains,
   * rules/endpoints.go chainTypeForward). An arriving packet first meets untracked and preDNAT policy, as
   * all arriving traffic does (`prerouting`): Deny drops; Allow accepts it past the forward policy (the
   * accept mark skips cali-from-hep-forward). Then the applyOnForward tiers: no failsafe, no profiles; a
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
      const pre = this.prerouting(hep, hep.node, packet, includeStaged, path);
      if (pre.decided !== undefined) return done(pre.decided.verdict, pre.decided.by);
    }
    const r = this.tiers.runTiers(hep, dir, packet, includeStaged, 'forward', path);
    if (r.decided !== undefined) return done(r.decided.verdict, r.decided.by);
    const ran = this.tiers.stageTiers(hep, dir, 'forward', includeStaged).length > 0;
    return done('Allow', { kind: 'forwardDefault', reason: ran ? 'noVerdict' : 'noPolicy' });
  }

  /**
   * Untracked and preDNAT policy where a packet arrives at `node` (raw and mangle PREROUTING), through an
   * interface whose endpoint is `arrival` (undefined: none of its own, as for a workload's interface).
   * Untracked policy is the arrival endpoint's, never the `*` endpoint's (Felix ignores it there). PreDNAT
   * policy is the arrival endpoint's when it has some, else the node's `*` endpoint's (the mangle dispatch
   * lists only endpoints with preDNAT policy; its default is the `*` endpoint). A failsafe port skips a
   * stage (its chain accepts the packet for that table only). What a verdict means is the caller's.
   */
  private prerouting(
    arrival: ModelEndpoint | undefined,
    node: string,
    packet: Packet,
    includeStaged: boolean,
    path: TraceEvent[],
  ): StageResult {
    const has = (ep: ModelEndpoint | undefined, stage: 'untracked' | 'preDNAT'): ep is ModelEndpoint =>
      ep !== undefined && this.tiers.stageTiers(ep, 'ingress', stage, includeStaged).length > 0;
    for (const stage of ['untracked', 'preDNAT'] as const) {
      let source: ModelEndpoint | undefined;
      if (stage === 'untracked')
        source = arrival?.interfaceName !== '*' && has(arrival, stage) ? arrival : undefined;
      else {
        const any = this.heps.allInterfaces(node);
        source = has(arrival, stage) ? arrival : has(any, stage) ? any : undefined;
        if (source !== undefined && source !== arrival)
          path.push({ kind: 'stageFrom', stage, endpoint: source.display });
      }
      if (source === undefined) continue;
      const fs = this.failsafe('ingress', packet, stage === 'untracked');
      if (fs !== undefined) {
        path.push({ kind: 'failsafeSkip', stage, protocol: fs.protocol, port: fs.port });
        continue;
      }
      const r = this.tiers.runTiers(source, 'ingress', packet, includeStaged, stage, path);
      if (r.decided !== undefined) return r;
    }
    return {};
  }

  /** A host endpoint's untracked policy on the host's own traffic (raw OUTPUT; not for `*` endpoints). */
  private rawOutput(
    ep: ModelEndpoint,
    packet: Packet,
    includeStaged: boolean,
    path: TraceEvent[],
  ): StageResult {
    if (ep.interfaceName === '*') return {};
    if (this.tiers.stageTiers(ep, 'egress', 'untracked', includeStaged).length === 0) return {};
    const fs = this.failsafe('egress', packet, true);
    if (fs !== undefined) {
      path.push({ kind: 'failsafeSkip', stage: 'untracked', protocol: fs.protocol, port: fs.port });
      return {};
    }
    return this.tiers.runTiers(ep, 'egress', packet, includeStaged, 'untracked', path);
  }

  private failsafe(dir: Direction, packet: Packet, raw: boolean): FailsafePort | undefined {
    const ports = { inbound: this.opts.failsafeInbound, outbound: this.opts.failsafeOutbound };
    return failsafeHit(ports, dir, packet, raw);
  }
}

export type { ModelTier };
