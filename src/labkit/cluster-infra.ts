/**
 * The shared parts of a lab that are not pods: the fabric namespace, the nodes' namespaces on it, the private etcd (which
 * runs inside the fabric namespace), the outside namespace with its probe agent, the CNI plugins installed
 * in the run dir, and the cluster-wide waits on routing state (IPAM block affinities, BIRD sessions).
 */
import { join } from 'node:path';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import type { Backend } from '../datastore/index.js';
import { CalicoError } from '../lib/errors.js';
import { cidrContains, parseCidr, parseIp } from '../lib/net/ip.js';
import { addNodeNetwork, addOutsideNetwork, createFabric, wirePodRoutes } from './cluster-net.js';
import { LAB_NETNS_PREFIX, sig } from './cluster-options.js';
import { installLabCni } from './cni.js';
import { waitUntilNoneMissing } from './concurrency.js';
import { etcdRecord, startLabEtcd } from './datastore.js';
import { uniqueNamespaceName } from './netns.js';
import { podFiles } from './paths.js';
import { startProbeAgent, type ProbeAgentClient, type ProbeAgents } from './probe-client.js';
import { LabProcess } from './process.js';
import { birdSessions, unroutedTargets } from './routes.js';
import { startPacketLog } from './packet-log.js';
import { saveState, type LabState, type NodeRecord, type PodRecord } from './state.js';
import { OUTSIDE, agentRouted, rackOf } from './topology.js';
import { ensureDirSync } from '../sys/files.js';

type Signal = { readonly signal?: AbortSignal };

const OUTSIDE_KEY = 'outside';
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

export class LabInfra {
  readonly #runner: CommandRunner;
  readonly #state: LabState;
  readonly #probes: ProbeAgents;

  constructor(runner: CommandRunner, state: LabState, probes: ProbeAgents) {
    this.#runner = runner;
    this.#state = state;
    this.#probes = probes;
  }

  #newNamespaceName(): string {
    return uniqueNamespaceName(LAB_NETNS_PREFIX, this.#state.ownerPid);
  }

  /** The fabric namespace, created on first use. */
  async ensureFabric(options: Signal = {}): Promise<string> {
    if (this.#state.fabricNs !== undefined) return this.#state.fabricNs;
    const ns = this.#newNamespaceName();
    this.#state.fabricNs = ns;
    saveState(this.#state);
    await createFabric(this.#runner, ns, options);
    return ns;
  }

  /**
   * A node: its record (saved first, so cleanup finds a half-made node), run dir, namespace on its rack of
   * the fabric, packet log, and in a `static` lab the routes to the other nodes' pods.
   */
  async addNode(name: string, options: Signal = {}): Promise<NodeRecord> {
    if (!NODE_NAME.test(name)) throw new CalicoError('CALICO_ERR_USAGE', `invalid node name "${name}"`);
    if (this.#state.nodes.some((n) => n.name === name))
      throw new CalicoError('CALICO_ERR_ALREADY_EXISTS', `lab node ${name} exists`);
    const fabricNs = await this.ensureFabric(options);
    const index = Math.max(0, ...this.#state.nodes.map((n) => n.index)) + 1;
    const record: NodeRecord = {
      name,
      index,
      rack: rackOf(index, this.#state.racks ?? 1),
      netns: this.#newNamespaceName(),
      runDir: join(this.#state.runDir, 'nodes', name),
    };
    this.#state.nodes.push(record);
    saveState(this.#state);
    ensureDirSync(record.runDir);
    await addNodeNetwork(this.#runner, fabricNs, record, options);
    startPacketLog(this.#state, record);
    if (!agentRouted(this.#state.network ?? 'static')) {
      for (const p of this.#state.pods) {
        if (p.node === name) continue;
        const home = this.#state.nodes.find((n) => n.name === p.node);
        if (home === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `no lab node ${p.node}`);
        await wirePodRoutes(this.#runner, [record], p, home, options);
      }
    }
    return record;
  }

  /** Starts the lab's etcd in the fabric namespace and records it as the lab's datastore. */
  async startEtcd(options: Signal = {}): Promise<void> {
    const fabric = await this.ensureFabric(options);
    const ds = etcdRecord(join(this.#state.runDir, 'etcd'));
    (this.#state as { datastore?: LabState['datastore'] }).datastore = ds;
    saveState(this.#state);
    try {
      await startLabEtcd(ds, fabric, { detached: this.#state.detached, ...options });
    } finally {
      saveState(this.#state);
    }
  }

  /** Creates the outside namespace and its probe agent unless they exist; returns its address. */
  async addOutside(ports: readonly number[], options: Signal = {}): Promise<string> {
    if (this.#state.outside !== undefined) return this.#state.outside.ip;
    const fabric = await this.ensureFabric(options);
    const netns = this.#newNamespaceName();
    const files = podFiles(this.#state.runDir, OUTSIDE_KEY);
    this.#state.outside = { netns, ip: OUTSIDE.address, ports: [...ports], ...files };
    saveState(this.#state);
    await addOutsideNetwork(this.#runner, fabric, netns, options);
    const agent = await startProbeAgent({
      netns,
      socketPath: files.socketPath,
      ports,
      logFile: files.logFile,
      detached: this.#state.detached,
    });
    this.#state.outside.probePid = agent.process.pid;
    saveState(this.#state);
    this.#probes.add(OUTSIDE_KEY, agent.process, agent.client);
    return OUTSIDE.address;
  }

  /** Registers the outside probe agent an earlier process started (attach). */
  adoptOutside(): void {
    const o = this.#state.outside;
    if (o?.probePid !== undefined) this.#probes.add(OUTSIDE_KEY, LabProcess.adopt(o.probePid, o.logFile));
  }

  outsideClient(): Promise<ProbeAgentClient> {
    const o = this.#state.outside;
    if (o === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', 'the lab has no outside namespace');
    return this.#probes.client(OUTSIDE_KEY, o.socketPath);
  }

  /** The outside or fabric namespace. */
  netnsOf(target: 'outside' | 'fabric'): string {
    const ns = target === 'outside' ? this.#state.outside?.netns : this.#state.fabricNs;
    if (ns === undefined) throw new CalicoError('CALICO_ERR_NOT_FOUND', `the lab has no ${target} namespace`);
    return ns;
  }

  /**
   * Waits (bounded) until every node routes each of `pods` (IPv4) and every block affine to another node
   * towards its node; returns what is still unrouted.
   */
  async waitRoutes(
    backend: Backend,
    pods: readonly Pick<PodRecord, 'ip' | 'family' | 'node'>[],
    options: Signal & { readonly timeoutMs?: number; readonly pollMs?: number },
  ): Promise<string[]> {
    const targets = [
      ...pods.filter((p) => p.ip !== '' && p.family === 4).map((p) => ({ dst: p.ip, home: p.node })),
      ...(await this.affineBlocks(backend, options)),
    ];
    return waitUntilNoneMissing(
      () => unroutedTargets(this.#runner, this.#state.nodes, targets, sig(options)),
      {
        timeoutMs: options.timeoutMs ?? 30_000,
        intervalMs: options.pollMs ?? 100,
        what: 'cluster routes',
        ...sig(options),
      },
    );
  }

  /** The CNI plugins in the run dir (installed once per lab). */
  async ensureCni(options: Signal = {}): Promise<string> {
    if (this.#state.cniBinDir !== undefined) return this.#state.cniBinDir;
    this.#state.cniBinDir = await installLabCni(this.#runner, this.#state.runDir, options);
    saveState(this.#state);
    return this.#state.cniBinDir;
  }

  /** Every confirmed host affinity of the lab's nodes: each block must be routed to its node elsewhere. */
  async affineBlocks(backend: Backend, options: Signal = {}): Promise<{ dst: string; home: string }[]> {
    {
      const { items } = await backend.list({ kind: 'BlockAffinity' }, options);
      const nodes = new Set(this.#state.nodes.map((n) => n.name));
      return items.flatMap((i) => {
        const s = (i as { spec?: { node?: unknown; cidr?: unknown; state?: unknown; deleted?: unknown } })
          .spec;
        const ok =
          typeof s?.node === 'string' &&
          typeof s.cidr === 'string' &&
          nodes.has(s.node) &&
          s.state === 'confirmed' &&
          s.deleted !== true &&
          !s.cidr.includes(':');
        return ok ? [{ dst: s.cidr as string, home: s.node as string }] : [];
      });
    }
  }

  /** The node whose confirmed IPAM block holds `ip`, if any. */
  async blockOwner(backend: Backend, ip: string, options: Signal = {}): Promise<string | undefined> {
    const addr = parseIp(ip);
    if (addr === undefined) return undefined;
    const blocks = await this.affineBlocks(backend, options);
    return blocks.find((b) => {
      const c = parseCidr(b.dst);
      return c !== undefined && c.family === addr.family && cidrContains(c, addr);
    })?.home;
  }

  /** Waits until every node's BIRD has Established sessions to all other nodes; returns nodes still short. */
  async waitBgpMesh(timeoutMs: number, options: Signal = {}): Promise<string[]> {
    const want = this.#state.nodes.length - 1;
    const short = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const n of this.#state.nodes) {
        const up = (await birdSessions(this.#runner, n, options)).filter((s) =>
          s.info.startsWith('Established'),
        );
        if (up.length < want) out.push(`${n.name} (${up.length}/${want} sessions Established)`);
      }
      return out;
    };
    return waitUntilNoneMissing(short, { timeoutMs, intervalMs: 250, what: 'the BGP mesh', ...sig(options) });
  }
}
