/**
 * hostNetwork pods in a LabCluster. Kubernetes runs such a pod in its node's network namespace and gives it
 * the node's address; Calico makes no endpoint for it, so traffic to it is traffic to the node: a workload's
 * packets to it leave through Calico's from-workload chains (towards its own node in the INPUT path, towards
 * another node in the FORWARD path), as in Felix.
 *
 * The lab does the same: a node may hold addresses besides its fabric ones (`setNodeAddresses`: on its `lo`
 * as /32 or /128, and routed by the fabric to the node's fabric address, so pods and other nodes reach them
 * as they reach a node's InternalIP), and a hostNetwork pod is a probe agent started in its node's namespace,
 * serving its ports on its address only (the node's own programs keep theirs) and probing from that address.
 * Its record is saved before the agent starts; the agent dies with the node's namespace, or when the pod is
 * removed.
 */
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { CalicoError } from '../lib/errors.js';
import { formatIp, parseIp } from '../lib/net/ip.js';
import { runChecked } from './netns.js';
import { podFiles } from './paths.js';
import { startProbeAgent, type ProbeAgentClient, type ProbeAgents } from './probe-client.js';
import { LabProcess } from './process.js';
import { saveState, type HostPodRecord, type LabState, type NodeRecord } from './state.js';
import { nodeAddresses, rackAddresses } from './topology.js';

type Signal = { readonly signal?: AbortSignal };

export interface HostPodSpec {
  readonly namespace: string;
  readonly name: string;
  /** One of its node's addresses (`setNodeAddresses`). */
  readonly ip: string;
  readonly ports: readonly number[];
}

export function hostPodKey(p: Pick<HostPodRecord, 'namespace' | 'name'>): string {
  return `${p.namespace}/${p.name}`;
}

/** The probe agents' key (apart from the pods' own keys). */
function agentKey(key: string): string {
  return `host:${key}`;
}

/** An address in canonical text, with its family; throws naming it when it is none. */
function canonical(ip: string): { text: string; family: 4 | 6 } {
  const a = parseIp(ip);
  if (a === undefined) throw new CalicoError('CALICO_ERR_USAGE', `not an IP address: "${ip}"`);
  return { text: formatIp(a.family, a.value), family: a.family };
}

export class LabHostPods {
  readonly #runner: CommandRunner;
  readonly #state: LabState;
  readonly #probes: ProbeAgents;

  constructor(runner: CommandRunner, state: LabState, probes: ProbeAgents) {
    this.#runner = runner;
    this.#state = state;
    this.#probes = probes;
  }

  list(): readonly Readonly<HostPodRecord>[] {
    return this.#state.hostPods ?? [];
  }

  get(key: string): Readonly<HostPodRecord> | undefined {
    return this.list().find((p) => hostPodKey(p) === key);
  }

  #node(name: string): NodeRecord {
    const n = this.#state.nodes.find((x) => x.name === name);
    if (n === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab node ${name}`);
    return n;
  }

  /**
   * Makes `ips` the node's addresses besides its fabric ones: added on its `lo` and routed to it by the
   * fabric, removed (with their routes) when no longer listed. An address another node holds is refused.
   */
  async setNodeAddresses(nodeName: string, ips: readonly string[], options: Signal = {}): Promise<void> {
    const node = this.#node(nodeName);
    const fabric = this.#state.fabricNs;
    if (fabric === undefined) throw new CalicoError('CALICO_ERR_BUG', 'the lab has no fabric');
    const want = [...new Set(ips.map((ip) => canonical(ip).text))];
    for (const other of this.#state.nodes) {
      const clash = other === node ? undefined : want.find((ip) => other.hostAddresses?.includes(ip));
      if (clash !== undefined)
        throw new CalicoError(
          'CALICO_ERR_ALREADY_EXISTS',
          `${clash} is an address of lab node ${other.name}`,
        );
    }
    const have = node.hostAddresses ?? [];
    const users = this.list().filter((p) => p.node === nodeName && !want.includes(p.ip));
    if (users.length > 0)
      throw new CalicoError(
        'CALICO_ERR_USAGE',
        `hostNetwork pods ${users.map(hostPodKey).join(', ')} use addresses of ${nodeName} being removed`,
      );
    const fabricAddr = nodeAddresses(node.index, node.rack ?? 1);
    const rack = rackAddresses(node.rack ?? 1).bridge;
    for (const ip of have.filter((a) => !want.includes(a))) {
      const { family } = canonical(ip);
      const cidr = `${ip}/${family === 4 ? 32 : 128}`;
      // Best effort: what is gone already needs no removal.
      await this.#runner.run(
        'ip',
        [`-${family}`, '-n', node.netns, 'addr', 'del', cidr, 'dev', 'lo'],
        options,
      );
      await this.#runner.run('ip', [`-${family}`, '-n', fabric, 'route', 'del', cidr], options);
    }
    // Recorded before they are made, so that a failure leaves nothing unrecorded.
    node.hostAddresses = [...new Set([...have, ...want])];
    saveState(this.#state);
    for (const ip of want.filter((a) => !have.includes(a))) {
      const { family } = canonical(ip);
      const cidr = `${ip}/${family === 4 ? 32 : 128}`;
      const via = family === 4 ? fabricAddr.v4 : fabricAddr.v6;
      await runChecked(
        this.#runner,
        'ip',
        [`-${family}`, '-n', node.netns, 'addr', 'replace', cidr, 'dev', 'lo'],
        options,
      );
      await runChecked(
        this.#runner,
        'ip',
        [`-${family}`, '-n', fabric, 'route', 'replace', cidr, 'via', via, 'dev', rack],
        options,
      );
    }
    node.hostAddresses = want;
    saveState(this.#state);
  }

  /** A hostNetwork pod on `node`: its probe agent in the node's namespace, serving `ports` on its address. */
  async add(nodeName: string, spec: HostPodSpec): Promise<Readonly<HostPodRecord>> {
    const node = this.#node(nodeName);
    const key = hostPodKey(spec);
    if (this.get(key) !== undefined)
      throw new CalicoError('CALICO_ERR_ALREADY_EXISTS', `hostNetwork pod ${key} exists`);
    const { text: ip, family } = canonical(spec.ip);
    if (node.hostAddresses?.includes(ip) !== true)
      throw new CalicoError(
        'CALICO_ERR_USAGE',
        `hostNetwork pod ${key}: ${ip} is not an address of lab node ${nodeName} (setNodeAddresses first)`,
      );
    const files = podFiles(this.#state.runDir, agentKey(key));
    const record: HostPodRecord = {
      namespace: spec.namespace,
      name: spec.name,
      node: nodeName,
      ip,
      family,
      ports: [...spec.ports],
      ...files,
    };
    (this.#state.hostPods ??= []).push(record);
    saveState(this.#state);
    try {
      const agent = await startProbeAgent({
        netns: node.netns,
        socketPath: files.socketPath,
        ports: record.ports,
        logFile: files.logFile,
        bind: ip,
        detached: this.#state.detached,
      });
      record.probePid = agent.process.pid;
      this.#probes.add(agentKey(key), agent.process, agent.client);
      return record;
    } catch (e) {
      this.#forget(record);
      throw e;
    } finally {
      saveState(this.#state);
    }
  }

  /** Stops the pods' probe agents and forgets them. */
  async remove(keys: readonly string[]): Promise<void> {
    try {
      for (const key of keys) {
        const r = this.get(key);
        if (r === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no hostNetwork pod ${key}`);
        this.#probes.forget(agentKey(key));
        if (r.probePid !== undefined) await LabProcess.adopt(r.probePid, r.logFile).kill();
        this.#forget(r);
      }
    } finally {
      saveState(this.#state);
    }
  }

  #forget(r: Readonly<HostPodRecord>): void {
    const list = this.#state.hostPods ?? [];
    const i = list.indexOf(r);
    if (i >= 0) list.splice(i, 1);
  }

  /** Sets the ports the pod serves. */
  async setPorts(key: string, ports: readonly number[]): Promise<void> {
    const r = this.get(key) as HostPodRecord | undefined;
    if (r === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no hostNetwork pod ${key}`);
    if (r.ports.length === ports.length && r.ports.every((p, i) => p === ports[i])) return;
    r.ports = [...ports];
    saveState(this.#state);
    await (await this.client(key)).serve(r.ports);
  }

  client(key: string): Promise<ProbeAgentClient> {
    const r = this.get(key);
    if (r === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no hostNetwork pod ${key}`);
    return this.#probes.client(agentKey(key), r.socketPath);
  }

  /** Registers the probe agents an earlier process started (attach). */
  adopt(): void {
    for (const r of this.list())
      if (r.probePid !== undefined)
        this.#probes.add(agentKey(hostPodKey(r)), LabProcess.adopt(r.probePid, r.logFile));
  }
}
