/**
 * Test support for host-endpoint kernel tests: calico-node in a node namespace with two host interfaces
 * (eth1 towards an "outside" namespace, eth2 towards a "far" one) and two workloads, routing between all of
 * them, with listeners on each. `check` probes a connection on the kernel and asks the reference evaluator
 * about it on the model built from the same datastore contents; both must give the expected verdict, so the
 * kernel and `calicoctl policy explain` are shown to agree (docs/design/dataplane.md, "Host endpoints").
 */
import assert from 'node:assert/strict';
import { decodeResource } from '../api/decode.js';
import type { Resource } from '../datastore/index.js';
import { parseIp } from '../lib/net/ip.js';
import { buildSnapshot, isModelInput } from '../model/snapshot.js';
import type { ModelInput, ModelSnapshot } from '../model/snapshot.js';
import type { ModelEndpoint } from '../model/types.js';
import { PolicyEvaluator, type EvaluatorOptions } from '../policy/evaluator.js';
import { summarizeDecision } from '../policy/format.js';
import type { Decision, Verdict } from '../policy/trace.js';
import { AgentHarness, namespaceObject } from './testing.js';

const C = 'projectcalico.org/v3';
const MODEL_KINDS = [
  'Namespace',
  'WorkloadEndpoint',
  'HostEndpoint',
  'GlobalNetworkPolicy',
  'NetworkPolicy',
  'KubernetesNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'Tier',
  'Profile',
];

export function gnp(name: string, spec: Record<string, unknown>): Resource {
  return { apiVersion: C, kind: 'GlobalNetworkPolicy', metadata: { name }, spec } as Resource;
}

export function hep(name: string, iface: string, ips: string[], labels: Record<string, string>): Resource {
  return {
    apiVersion: C,
    kind: 'HostEndpoint',
    metadata: { name, labels },
    spec: { node: 'node1', interfaceName: iface, expectedIPs: ips },
  } as Resource;
}

export interface Place {
  readonly ns: string;
  readonly ip: string;
}

/** Host endpoints the packet is forwarded through, by name (`calicoctl policy explain --in-via/--out-via`). */
export interface Via {
  readonly in?: string;
  readonly out?: string;
}

export const NODE_ETH1 = '198.51.100.1';

/**
 * Host endpoints on eth1 (`side: near`) and eth2 (`side: far`), both `role: edge`, and normal policy letting
 * TCP 7070 in to the host through them.
 */
export function edgeEndpoints(): Resource[] {
  return [
    hep('eth1-node1', 'eth1', [NODE_ETH1], { role: 'edge', side: 'near' }),
    hep('eth2-node1', 'eth2', ['203.0.113.1'], { role: 'edge', side: 'far' }),
    gnp('edge-host', {
      selector: "role == 'edge'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [7070] } }],
    }),
  ];
}

export class HepLab implements AsyncDisposable {
  readonly h = new AgentHarness();
  outside!: Place;
  far!: Place;
  /** The node itself, by its eth1 address. */
  node!: Place;
  a!: Place;
  b!: Place;
  readonly #listening = new Set<string>();
  readonly #env: Record<string, string>;
  readonly #options: EvaluatorOptions;
  #evaluator: PolicyEvaluator | undefined;
  #snapshot: ModelSnapshot | undefined;

  /** `env`: the agent's environment (FELIX_*); `options`: the same settings for the evaluator. */
  constructor(env: Record<string, string> = {}, options: EvaluatorOptions = {}) {
    this.#env = env;
    this.#options = options;
  }

  async setup(): Promise<void> {
    const h = this.h;
    await h.setup();
    const o = await h.scope.namespace();
    const f = await h.scope.namespace();
    await h.scope.veth(
      { ns: h.node, name: 'eth1', address: `${NODE_ETH1}/24` },
      { ns: o, name: 'eth0', address: '198.51.100.2/24' },
    );
    await h.scope.veth(
      { ns: h.node, name: 'eth2', address: '203.0.113.1/24' },
      { ns: f, name: 'eth0', address: '203.0.113.2/24' },
    );
    await h.scope.addRoute(o, 'default', { via: NODE_ETH1 });
    await h.scope.addRoute(f, 'default', { via: '203.0.113.1' });
    this.outside = { ns: o, ip: '198.51.100.2' };
    this.far = { ns: f, ip: '203.0.113.2' };
    this.node = { ns: h.node, ip: NODE_ETH1 };
    h.startAgent(this.#env);
    const pa = await h.plumbPod('fwd', 'a', '10.67.0.1', { app: 'a' });
    const pb = await h.plumbPod('fwd', 'b', '10.67.0.2', { app: 'b' });
    this.a = pa;
    this.b = pb;
    await this.#listen(this.a, [80, 8080]);
    await this.#listen(this.b, [80]);
    await this.#listen(this.outside, [80, 8080]);
    await this.#listen(this.far, [80, 9090]);
    await this.#listen(this.node, [7070, 7071]);
    await this.settle(namespaceObject('fwd'), h.workloadEndpoint(pa), h.workloadEndpoint(pb));
  }

  async #listen(p: Place, ports: number[]): Promise<void> {
    for (const port of ports) {
      await this.h.scope.listen(p.ns, { protocol: 'tcp', address: p.ip, port });
      this.#listening.add(`${p.ip}:${port}`);
    }
  }

  /** Stores the objects and waits until the agent has programmed them; the model follows. */
  async settle(...objs: Resource[]): Promise<void> {
    for (const o of objs) await this.h.put(o);
    await this.h.settle();
    await this.#refreshModel();
  }

  async remove(...objs: Resource[]): Promise<void> {
    for (const o of objs) await this.h.remove(o);
    await this.h.settle();
    await this.#refreshModel();
  }

  /** The policy model of what the datastore holds now: what the agent programmed at its last settle. */
  async #refreshModel(): Promise<void> {
    const inputs: ModelInput[] = [];
    for (const kind of MODEL_KINDS) {
      for (const item of (await this.h.backend.list({ kind })).items) {
        const r = decodeResource(item);
        assert.ok(r.ok, `stored ${kind} ${item.metadata.name} does not decode`);
        if (isModelInput(r.value)) inputs.push(r.value);
      }
    }
    this.#snapshot = buildSnapshot(inputs);
    this.#evaluator = new PolicyEvaluator(this.#snapshot, this.#options);
  }

  explain(from: Place, to: Place, port: number, via: Via): Decision {
    const evaluator = this.#evaluator;
    const snap = this.#snapshot;
    assert.ok(evaluator !== undefined && snap !== undefined);
    const hepNamed = (name: string | undefined): ModelEndpoint | undefined => {
      if (name === undefined) return undefined;
      const ep = snap.endpoints.find((e) => e.key.kind === 'hep' && e.key.name === name);
      assert.ok(ep !== undefined, `host endpoint ${name} in the model`);
      return ep;
    };
    const src = parseIp(from.ip);
    const dst = parseIp(to.ip);
    assert.ok(src !== undefined && dst !== undefined);
    const viaIn = hepNamed(via.in);
    const viaOut = hepNamed(via.out);
    return evaluator.decide({
      src: { ip: src },
      dst: { ip: dst, port },
      protocol: 6,
      via: {
        ...(viaIn !== undefined ? { in: viaIn } : {}),
        ...(viaOut !== undefined ? { out: viaOut } : {}),
      },
    });
  }

  /** Probes `from -> to:port` on the kernel and asks the evaluator; both must say `want`. */
  async check(
    what: string,
    from: Place,
    to: Place,
    port: number,
    want: Verdict,
    via: Via = {},
  ): Promise<Decision> {
    assert.ok(this.#listening.has(`${to.ip}:${port}`), `${what}: nothing listens on ${to.ip}:${port}`);
    const d = this.explain(from, to, port, via);
    const probe = await this.h.scope.probe(
      from.ns,
      { protocol: 'tcp', address: to.ip, port },
      { timeoutMs: 700 },
    );
    const kernel: Verdict = probe.connected ? 'Allow' : 'Deny';
    assert.equal(d.verdict, want, `${what}: evaluator says ${summarizeDecision(d)}`);
    assert.equal(
      kernel,
      want,
      `${what}: kernel says ${kernel} (${probe.detail}); evaluator: ${summarizeDecision(d)}`,
    );
    return d;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.h[Symbol.asyncDispose]();
  }
}
