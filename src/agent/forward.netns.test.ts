/**
 * applyOnForward on the real kernel: calico-node in a node namespace with two host interfaces carrying host
 * endpoints (eth1 towards an "outside" namespace, eth2 towards a "far" one) and two workloads, routing
 * between all of them. Every connection is probed on the kernel and decided by the reference evaluator on
 * the model built from the same datastore contents; both must give the expected verdict, so the kernel and
 * `calicoctl policy explain` are shown to agree on forwarded traffic (docs/design/dataplane.md,
 * "Forwarded traffic through host endpoints").
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeResource } from '../api/decode.js';
import type { Resource } from '../datastore/index.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { parseIp } from '../lib/net/ip.js';
import { buildSnapshot, isModelInput } from '../model/snapshot.js';
import type { ModelInput, ModelSnapshot } from '../model/snapshot.js';
import type { ModelEndpoint } from '../model/types.js';
import { PolicyEvaluator } from '../policy/evaluator.js';
import { summarizeDecision } from '../policy/format.js';
import type { Decision, Verdict } from '../policy/trace.js';
import { repoRoot } from '../test-support/repo.js';
import { AgentHarness, knp, namespaceObject } from './testing.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip = kernelTestSkipReason() || (built ? false : 'dist/src/agent/main.js not built');

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

function gnp(name: string, spec: Record<string, unknown>): Resource {
  return { apiVersion: C, kind: 'GlobalNetworkPolicy', metadata: { name }, spec } as Resource;
}

function hep(name: string, iface: string, ips: string[], labels: Record<string, string>): Resource {
  return {
    apiVersion: C,
    kind: 'HostEndpoint',
    metadata: { name, labels },
    spec: { node: 'node1', interfaceName: iface, expectedIPs: ips },
  } as Resource;
}

interface Place {
  readonly ns: string;
  readonly ip: string;
}

describe('applyOnForward: forwarded traffic through host endpoints, kernel and evaluator', { skip }, () => {
  const h = new AgentHarness();
  const NODE_ETH1 = '198.51.100.1';
  let outside: Place;
  let far: Place;
  let node: Place;
  let a: Place;
  let b: Place;
  const listening = new Set<string>();
  let evaluator: PolicyEvaluator | undefined;
  let snapshot: ModelSnapshot | undefined;

  /** The policy model of what the datastore holds now: what the agent programmed at its last settle. */
  async function refreshModel(): Promise<void> {
    const inputs: ModelInput[] = [];
    for (const kind of MODEL_KINDS) {
      for (const item of (await h.backend.list({ kind })).items) {
        const r = decodeResource(item);
        assert.ok(r.ok, `stored ${kind} ${item.metadata.name} does not decode`);
        if (isModelInput(r.value)) inputs.push(r.value);
      }
    }
    snapshot = buildSnapshot(inputs);
    evaluator = new PolicyEvaluator(snapshot);
  }

  async function settle(...objs: Resource[]): Promise<void> {
    for (const o of objs) await h.put(o);
    await h.settle();
    await refreshModel();
  }

  function explain(from: Place, to: Place, port: number, via: { in?: string; out?: string }): Decision {
    assert.ok(evaluator !== undefined && snapshot !== undefined);
    const snap = snapshot;
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
  async function check(
    what: string,
    from: Place,
    to: Place,
    port: number,
    want: Verdict,
    via: { in?: string; out?: string } = {},
  ): Promise<Decision> {
    assert.ok(listening.has(`${to.ip}:${port}`), `${what}: nothing listens on ${to.ip}:${port}`);
    const d = explain(from, to, port, via);
    const probe = await h.scope.probe(from.ns, { protocol: 'tcp', address: to.ip, port }, { timeoutMs: 700 });
    const kernel: Verdict = probe.connected ? 'Allow' : 'Deny';
    assert.equal(d.verdict, want, `${what}: evaluator says ${summarizeDecision(d)}`);
    assert.equal(
      kernel,
      want,
      `${what}: kernel says ${kernel} (${probe.detail}); evaluator: ${summarizeDecision(d)}`,
    );
    return d;
  }

  const forwardDeny = (d: Decision, endpoint: string, direction: 'ingress' | 'egress'): void => {
    const t = d.forward?.find((x) => x.verdict === 'Deny');
    assert.ok(t !== undefined, `a forward stage denies: ${summarizeDecision(d)}`);
    assert.deepEqual([t.stage, t.endpoint, t.direction], ['forward', `hostendpoint ${endpoint}`, direction]);
  };

  before(async () => {
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
    outside = { ns: o, ip: '198.51.100.2' };
    far = { ns: f, ip: '203.0.113.2' };
    node = { ns: h.node, ip: NODE_ETH1 };
    h.startAgent();
    const pa = await h.plumbPod('fwd', 'a', '10.67.0.1', { app: 'a' });
    const pb = await h.plumbPod('fwd', 'b', '10.67.0.2', { app: 'b' });
    a = pa;
    b = pb;
    const listen = async (p: Place, ports: number[]) => {
      for (const port of ports) {
        await h.scope.listen(p.ns, { protocol: 'tcp', address: p.ip, port });
        listening.add(`${p.ip}:${port}`);
      }
    };
    await listen(a, [80, 8080]);
    await listen(b, [80]);
    await listen(outside, [80, 8080]);
    await listen(far, [80, 9090]);
    await listen(node, [7070, 7071]);
    await settle(
      namespaceObject('fwd'),
      h.workloadEndpoint(pa),
      h.workloadEndpoint(pb),
      hep('eth1-node1', 'eth1', [NODE_ETH1], { role: 'edge', side: 'near' }),
      hep('eth2-node1', 'eth2', ['203.0.113.1'], { role: 'edge', side: 'far' }),
      gnp('edge-host', {
        selector: "role == 'edge'",
        types: ['Ingress'],
        ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [7070] } }],
      }),
    );
  });
  after(() => h[Symbol.asyncDispose]());

  it('without applyOnForward policy, forwarded traffic passes; host traffic follows normal policy', async () => {
    const d = await check('outside -> a', outside, a, 80, 'Allow', { in: 'eth1-node1' });
    assert.deepEqual(
      d.forward?.map((t) => [t.stage, t.decidedBy.kind]),
      [['forward', 'forwardDefault']],
    );
    await check('a -> outside', a, outside, 80, 'Allow', { out: 'eth1-node1' });
    await check('outside -> far', outside, far, 80, 'Allow', { in: 'eth1-node1', out: 'eth2-node1' });
    await check('a -> b', a, b, 80, 'Allow');
    await check('outside -> node:7070', outside, node, 7070, 'Allow');
    await check('outside -> node:7071 (host endpoint default deny)', outside, node, 7071, 'Deny');
    assert.match(await h.tableText(), /chain filter-cali-fhfw-eth1 /);
  });

  it('an ingress applyOnForward policy decides what arrives through its host endpoint, and only that', async () => {
    await settle(
      gnp('edge-fwd-in', {
        selector: "side == 'near'",
        applyOnForward: true,
        types: ['Ingress'],
        ingress: [
          { action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } },
          { action: 'Allow', protocol: 'TCP', destination: { ports: [80] } },
        ],
      }),
    );
    const via = { in: 'eth1-node1' };
    forwardDeny(await check('outside -> a:8080', outside, a, 8080, 'Deny', via), 'eth1-node1', 'ingress');
    await check('outside -> a:80', outside, a, 80, 'Allow', via);
    const eot = await check('outside -> far:9090', outside, far, 9090, 'Deny', { ...via, out: 'eth2-node1' });
    assert.equal(eot.forward?.[0]?.decidedBy.kind, 'endOfTier');
    await check('outside -> far:80', outside, far, 80, 'Allow', { ...via, out: 'eth2-node1' });
    // Leaving through eth1: the policy has no egress side, so forwarded traffic out is not affected.
    await check('far -> outside:8080', far, outside, 8080, 'Allow', { in: 'eth2-node1', out: 'eth1-node1' });
    await check('a -> outside:8080', a, outside, 8080, 'Allow', { out: 'eth1-node1' });
    // Host traffic is policed as before (the policy is normal policy too, and allows nothing new here).
    await check('outside -> node:7070', outside, node, 7070, 'Allow');
    await check('outside -> node:7071', outside, node, 7071, 'Deny');
  });

  it('an egress applyOnForward policy polices what leaves through its host endpoint; workload policy still applies', async () => {
    await settle(
      gnp('far-fwd-out', {
        selector: "side == 'far'",
        applyOnForward: true,
        types: ['Egress'],
        egress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [9090] } }, { action: 'Allow' }],
      }),
      knp('fwd', 'b-from-pods', {
        podSelector: { matchLabels: { app: 'b' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ ipBlock: { cidr: '10.67.0.0/16' } }] }],
      }),
    );
    forwardDeny(
      await check('a -> far:9090', a, far, 9090, 'Deny', { out: 'eth2-node1' }),
      'eth2-node1',
      'egress',
    );
    await check('a -> far:80', a, far, 80, 'Allow', { out: 'eth2-node1' });
    const wl = await check('outside -> b:80', outside, b, 80, 'Deny', { in: 'eth1-node1' });
    assert.equal(wl.forward?.[0]?.verdict, 'Allow', 'the host endpoint lets it through');
    assert.equal(wl.ingress?.verdict, 'Deny', "b's own policy denies it");
    await check('a -> b:80', a, b, 80, 'Allow');
  });

  it('the * host endpoint applies its forward policy to traffic between local workloads', async () => {
    await settle(
      hep('node1-all', '*', [], { role: 'all' }),
      gnp('all-fwd', {
        selector: "role == 'all'",
        applyOnForward: true,
        types: ['Egress'],
        egress: [{ action: 'Deny', destination: { selector: "app == 'b'" } }, { action: 'Allow' }],
      }),
    );
    const d = await check('a -> b:80', a, b, 80, 'Deny');
    forwardDeny(d, 'node1-all', 'egress');
    assert.equal(d.caveats, undefined, 'both interfaces are workload interfaces: nothing to guess');
    await check('b -> a:80', b, a, 80, 'Allow');
    await check('outside -> a:80', outside, a, 80, 'Allow', { in: 'eth1-node1' });
    await check('a -> outside:80', a, outside, 80, 'Allow', { out: 'eth1-node1' });
  });

  it('a preDNAT Allow on the arriving interface skips its forward policy', async () => {
    await settle(
      gnp('edge-pre', {
        selector: "side == 'near'",
        preDNAT: true,
        applyOnForward: true,
        types: ['Ingress'],
        ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } }],
      }),
    );
    const d = await check('outside -> a:8080', outside, a, 8080, 'Allow', { in: 'eth1-node1' });
    const by = d.forward?.[0]?.decidedBy;
    assert.ok(by?.kind === 'rule' && by.stage === 'preDNAT', JSON.stringify(by));
  });
});
