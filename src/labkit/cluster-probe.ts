/**
 * Probes as the lab reports them: the probe agent's verdict, except that a timeout is checked against the
 * routes of the path (probe-path.ts) before it is called `denied`. Routing tables are read with `ip -j route`
 * once the probe has timed out; a read that began after a probe began serves that probe too, so the many
 * probes of a matrix that time out together share one read per node. A probe to a name looks it up from
 * the pod first (`probeFrom`).
 */
import { performance } from 'node:perf_hooks';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { cidrContains, parseCidr, parseIp } from '../lib/net/ip.js';
import { resolveFromPod } from './cluster-dns.js';
import type { LabProbe } from './cluster-options.js';
import { isQueryName } from './dns-lookup.js';
import type { ProbeAgentClient } from './probe-client.js';
import { FABRIC, hopProblem, probeHops, type Hop, type PodEnd } from './probe-path.js';
import type { ProbeOutcome } from './probe-protocol.js';
import { nodeRoutes, type RouteEntry } from './routes.js';
import type { HostPodRecord, LabState, PodRecord } from './state.js';
import { LAB_POOL_CIDR, agentRouted, nodeAddresses } from './topology.js';

type Signal = { readonly signal?: AbortSignal };

const POOL = parseCidr(LAB_POOL_CIDR);

function inPool(ip: string): boolean {
  const a = parseIp(ip);
  return POOL !== undefined && a !== undefined && a.family === POOL.family && cidrContains(POOL, a);
}

export class ProbePaths {
  readonly #runner: CommandRunner;
  readonly #state: LabState;
  readonly #pods: () => readonly PodRecord[];
  /** The latest read of each namespace's table per family, and when it began. */
  readonly #reads = new Map<string, { readonly at: number; readonly routes: Promise<RouteEntry[]> }>();

  /** `pods`: every pod a probe may start or end at (the lab's own and those its kubelets run). */
  constructor(runner: CommandRunner, state: LabState, pods: () => readonly PodRecord[] = () => state.pods) {
    this.#runner = runner;
    this.#state = state;
    this.#pods = pods;
  }

  /** When a probe starts (pass it to `judge`). */
  now(): number {
    return performance.now();
  }

  /**
   * The outcome to report for a probe that began at `startedAt` from `from` (a pod key, or `outside`) to
   * `dstIp`: a `denied` whose path lacks a route becomes `no-route`, naming the hop; anything else is reported
   * as the agent saw it.
   */
  async judge(
    from: string,
    dstIp: string,
    o: ProbeOutcome,
    startedAt: number,
    options: Signal = {},
  ): Promise<ProbeOutcome> {
    if (o.verdict !== 'denied') return o;
    const problem = await this.#pathProblem(from, dstIp, startedAt, options);
    return problem === undefined ? o : { ...o, verdict: 'no-route', detail: `${problem}; ${o.detail}` };
  }

  async #pathProblem(
    from: string,
    dstIp: string,
    startedAt: number,
    options: Signal,
  ): Promise<string | undefined> {
    const pods = this.#pods();
    const hosts = this.#state.hostPods ?? [];
    const addr = parseIp(dstIp);
    const at = (p: { readonly ip: string }): boolean => p.ip !== '' && parseIp(p.ip)?.value === addr?.value;
    const src =
      this.#podEnd(pods.find((p) => `${p.namespace}/${p.name}` === from)) ??
      this.#hostEnd(hosts.find((p) => `${p.namespace}/${p.name}` === from));
    const dst = this.#podEnd(pods.find(at)) ?? this.#hostEnd(hosts.find(at));
    // natOutgoing on the agents' pool (topology.ts) hides a pod behind its node's address outside the pool.
    const masquerade =
      agentRouted(this.#state.network ?? 'static') && src !== undefined && inPool(src.ip) && !inPool(dstIp);
    for (const hop of probeHops(src, dstIp, dst, { masquerade })) {
      const family = parseIp(hop.ip)?.family ?? 4;
      const problem = hopProblem(hop, await this.#routes(hop, family, startedAt, options));
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  #podEnd(p: PodRecord | undefined): PodEnd | undefined {
    const n = p === undefined ? undefined : this.#state.nodes.find((x) => x.name === p.node);
    if (p === undefined || n === undefined || p.ip === '') return undefined;
    const a = nodeAddresses(n.index, n.rack ?? 1);
    return {
      key: `${p.namespace}/${p.name}`,
      ip: p.ip,
      node: n.name,
      hostIfname: p.hostIfname,
      nodeAddress: p.family === 4 ? a.v4 : a.v6,
    };
  }

  /** A hostNetwork pod's end: its address is its node's own. */
  #hostEnd(p: HostPodRecord | undefined): PodEnd | undefined {
    const n = p === undefined ? undefined : this.#state.nodes.find((x) => x.name === p.node);
    if (p === undefined || n === undefined) return undefined;
    const a = nodeAddresses(n.index, n.rack ?? 1);
    return {
      key: `${p.namespace}/${p.name}`,
      ip: p.ip,
      node: n.name,
      hostIfname: '',
      nodeAddress: p.family === 4 ? a.v4 : a.v6,
      host: true,
    };
  }

  /** The hop's routing table as read after `since` (a read in flight or done since then is shared). */
  #routes(hop: Hop, family: 4 | 6, since: number, options: Signal): Promise<RouteEntry[]> {
    const ns =
      hop.node === FABRIC ? this.#state.fabricNs : this.#state.nodes.find((x) => x.name === hop.node)?.netns;
    if (ns === undefined) return Promise.resolve([]);
    const key = `${ns} ${family}`;
    const last = this.#reads.get(key);
    if (last !== undefined && last.at >= since) return last.routes;
    const read = { at: performance.now(), routes: nodeRoutes(this.#runner, ns, { family, ...options }) };
    this.#reads.set(key, read);
    read.routes.catch(() => {
      if (this.#reads.get(key) === read) this.#reads.delete(key);
    });
    return read.routes;
  }
}

/** What a probe needs of the lab to name its target (LabCluster has these). */
export interface ProbeTargets {
  hasPod(key: string): boolean;
  /** The address of a pod key, `outside`, or an address; throws for anything else. */
  addressOf(to: string): string;
  clusterDnsAddress(): string | undefined;
}

/**
 * One connect probe by `client` (the probe agent of `from`) to a pod, `outside`, an address or a name
 * (looked up from `from` first: a lookup that fails is the probe's outcome, saying so); or, with
 * `dnsQuery`, a DNS query to the target.
 */
export async function probeFrom(
  lab: ProbeTargets,
  paths: ProbePaths,
  from: string,
  client: ProbeAgentClient,
  p: LabProbe,
  /** The address to probe from (a hostNetwork pod's); absent: the kernel picks one. */
  source?: string,
): Promise<ProbeOutcome> {
  const src = source !== undefined ? { source } : {};
  const timeoutMs = p.timeoutMs ?? 1000;
  const startedAt = paths.now();
  // A silent drop is "denied" only when the packets had a route both ways.
  const judge = (ip: string, o: ProbeOutcome): Promise<ProbeOutcome> => paths.judge(from, ip, o, startedAt);
  if (p.dnsQuery !== undefined) {
    const ip = lab.addressOf(p.to);
    const o = await client.resolve({ name: p.dnsQuery, type: 'A', server: ip, port: p.port, timeoutMs });
    return judge(ip, {
      verdict: o.verdict,
      detail: `DNS ${p.dnsQuery}: ${o.detail}`,
      elapsedMs: o.elapsedMs,
    });
  }
  const byName = !lab.hasPod(p.to) && p.to !== 'outside' && parseIp(p.to) === undefined && isQueryName(p.to);
  if (!byName) {
    const ip = lab.addressOf(p.to);
    return judge(ip, await client.probe({ protocol: p.protocol, ip, port: p.port, timeoutMs, ...src }));
  }
  const r = await resolveFromPod(client, p.to, { timeoutMs });
  const dnsIp = lab.clusterDnsAddress();
  if (r.verdict !== 'allowed') {
    const o = {
      verdict: r.verdict,
      detail: `lookup of ${p.to} via ${r.server || '?'}: ${r.detail}`,
      elapsedMs: r.elapsedMs,
    };
    return dnsIp !== undefined ? judge(dnsIp, o) : o;
  }
  const ip = r.addresses[0];
  if (ip === undefined)
    return { verdict: 'error', detail: `${p.to}: ${r.detail}, no address`, elapsedMs: r.elapsedMs };
  const o = await judge(
    ip,
    await client.probe({ protocol: p.protocol, ip, port: p.port, timeoutMs, ...src }),
  );
  return { ...o, detail: `${p.to} is ${ip} (${r.detail}); ${o.detail}` };
}
