/**
 * calico-node against the real kernel, in namespaces the tests create: restart safety (established
 * connections survive, policy stays enforced while the agent is down, a restarted agent converges on a
 * changed datastore with nothing stale), the no-window rule, and host endpoints.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kernelTestSkipReason, runChecked } from '../labkit/netns.js';
import { waitFor } from '../lib/async.js';
import { repoRoot } from '../test-support/repo.js';
import { AgentHarness, knp, namespaceObject, runner } from './testing.js';
import type { TestPod } from './testing.js';
import type { Resource } from '../datastore/index.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip = kernelTestSkipReason() || (built ? false : 'dist/src/agent/main.js not built');

/** Canonical table text: chain/set/map blocks sorted (nft lists them in creation order). */
function canonical(text: string): string {
  const blocks: string[] = [];
  let cur: string[] | undefined;
  for (const line of text.split('\n')) {
    if (/^\t(chain|set|map) /.test(line)) cur = [line];
    else if (cur !== undefined) {
      cur.push(line);
      if (line === '\t}') {
        blocks.push(cur.join('\n'));
        cur = undefined;
      }
    }
  }
  return blocks.sort().join('\n');
}

/** A TCP client in a pod that pings every 50 ms over one connection and reports what came back. */
const PINGER = `
const net = require('node:net');
const [host, port, ms] = process.argv.slice(1);
let sent = 0, received = 0, err = null;
const s = net.connect(Number(port), host);
s.setEncoding('utf8');
s.on('data', (d) => { received += d.split('\\n').filter(Boolean).length; });
s.on('error', (e) => { err = String(e); });
const t = setInterval(() => { sent++; s.write('ping\\n'); }, 50);
setTimeout(() => { clearInterval(t); setTimeout(() => { console.log(JSON.stringify({ sent, received, err })); process.exit(0); }, 300); }, Number(ms));
`;

async function ping(
  h: AgentHarness,
  from: TestPod,
  to: TestPod,
  ms: number,
): Promise<{ sent: number; received: number; err: string | null }> {
  const r = await h.scope
    .runner(from.ns)
    .run(process.execPath, ['-e', PINGER, to.ip, '80', String(ms)], { timeoutMs: ms + 5000 });
  return JSON.parse(r.stdout) as { sent: number; received: number; err: string | null };
}

async function reach(h: AgentHarness, from: TestPod, to: TestPod): Promise<boolean> {
  return (await h.scope.probe(from.ns, { protocol: 'tcp', address: to.ip, port: 80 }, { timeoutMs: 700 }))
    .connected;
}

describe('calico-node on the real kernel', { skip }, () => {
  describe('restart safety', () => {
    const h = new AgentHarness();
    let a: TestPod;
    let b: TestPod;
    let c: TestPod;
    before(async () => {
      await h.setup();
      h.startAgent();
      a = await h.plumbPod('x', 'a', '10.65.0.1', { app: 'a' });
      b = await h.plumbPod('x', 'b', '10.65.0.2', { app: 'b' });
      c = await h.plumbPod('x', 'c', '10.65.0.3', { app: 'c' });
      for (const o of [
        namespaceObject('x'),
        h.workloadEndpoint(a),
        h.workloadEndpoint(b),
        h.workloadEndpoint(c),
      ])
        await h.put(o);
      await h.put(
        knp('x', 'b-from-a', {
          podSelector: { matchLabels: { app: 'b' } },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }], ports: [{ port: 80 }] }],
        }),
      );
      await h.settle();
      await h.scope.listen(b.ns, { protocol: 'tcp', address: b.ip, port: 80 });
    });
    after(() => h[Symbol.asyncDispose]());

    it('keeps established connections and enforcement while the agent is down', async () => {
      assert.equal(await reach(h, a, b), true, 'a -> b allowed by policy');
      assert.equal(await reach(h, c, b), false, 'c -> b denied by policy');
      const pinging = ping(h, a, b, 2500);
      // The agent dies only once the pinger's connection is established.
      await waitFor(
        async () =>
          (
            await runChecked(runner, 'ip', [
              'netns',
              'exec',
              b.ns,
              'ss',
              '-Htn',
              'state',
              'established',
              'sport = :80',
            ])
          ).trim() !== '',
        { timeoutMs: 2000, what: "the pinger's connection to be established" },
      );
      await h.killAgent('SIGKILL');
      assert.equal(await reach(h, c, b), false, 'still denied with the agent down');
      assert.equal(await reach(h, a, b), true, 'new allowed connections still work with the agent down');
      const p = await pinging;
      assert.equal(p.err, null);
      assert.ok(
        p.sent > 30 && p.received === p.sent,
        `established connection kept working: ${JSON.stringify(p)}`,
      );
    });

    it('a restarted agent converges on a changed datastore and leaves nothing stale', async () => {
      // While the agent is down: a's endpoint goes away, b now admits only c, a tier and a network set appear.
      await h.remove(h.workloadEndpoint(a));
      await h.remove(knp('x', 'b-from-a', {}));
      await h.put(
        knp('x', 'b-from-c', {
          podSelector: { matchLabels: { app: 'b' } },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: { matchLabels: { app: 'c' } } }] }],
        }),
      );
      h.startAgent();
      await h.settle();
      assert.equal(await reach(h, c, b), true, 'c -> b now allowed');
      assert.equal(await reach(h, a, b), false, "a's interface has no endpoint any more: dropped");
      const table = await h.tableText();
      assert.doesNotMatch(table, /b-from-a/, 'the deleted policy left no chain');
      assert.doesNotMatch(
        table,
        new RegExp(a.iface),
        "the deleted endpoint's chains and map entries are gone",
      );
      // A fresh agent on an empty node computes exactly the same table.
      const fresh = new AgentHarness();
      try {
        await fresh.setup();
        await fresh.backend.close();
        fresh.startAgent({ CALICO_DATASTORE_PATH: h.dbPath, CALICO_RUN_DIR: fresh.runDir });
        fresh.backend = h.backend;
        await fresh.settle();
        assert.equal(canonical(await h.tableText()), canonical(await fresh.tableText(fresh.node)));
      } finally {
        await fresh.killAgent('SIGTERM');
        await fresh.scope[Symbol.asyncDispose]();
        rmSync(fresh.dir, { recursive: true, force: true });
      }
    });
  });

  describe('no window without policy', () => {
    const h = new AgentHarness();
    after(() => h[Symbol.asyncDispose]());

    it('drops traffic to and from a new workload interface until its endpoint is programmed', async () => {
      await h.setup();
      h.startAgent();
      const a = await h.plumbPod('y', 'a', '10.66.0.1', { app: 'a' });
      await h.put(namespaceObject('y'));
      await h.put(h.workloadEndpoint(a));
      await h.settle();
      // The interface exists, addresses and the host route are in place, the endpoint is not written yet.
      const n = await h.plumbPod('y', 'new', '10.66.0.9', { app: 'new' });
      await h.scope.listen(n.ns, { protocol: 'tcp', address: n.ip, port: 80 });
      await h.scope.listen(a.ns, { protocol: 'tcp', address: a.ip, port: 80 });
      const before: boolean[] = [];
      for (let i = 0; i < 6; i++) {
        before.push(
          (await h.scope.probe(a.ns, { protocol: 'tcp', address: n.ip, port: 80 }, { timeoutMs: 300 }))
            .connected,
        );
        before.push(
          (await h.scope.probe(n.ns, { protocol: 'tcp', address: a.ip, port: 80 }, { timeoutMs: 300 }))
            .connected,
        );
      }
      assert.deepEqual(
        before,
        new Array<boolean>(12).fill(false),
        'nothing passes before the endpoint is programmed',
      );
      const counters = await runChecked(runner, 'ip', [
        'netns',
        'exec',
        h.node,
        'nft',
        'list',
        'chain',
        'inet',
        'calico',
        'filter-cali-to-wl-dispatch',
      ]);
      // The dispatch drop's counter shows the probes it dropped.
      assert.match(counters, /oifname "cali\*" counter packets [1-9]\d* bytes \d+ drop/);
      await h.put(h.workloadEndpoint(n));
      await h.settle();
      assert.equal(
        (await h.scope.probe(a.ns, { protocol: 'tcp', address: n.ip, port: 80 }, { timeoutMs: 1000 }))
          .connected,
        true,
      );
      assert.equal(
        (await h.scope.probe(n.ns, { protocol: 'tcp', address: a.ip, port: 80 }, { timeoutMs: 1000 }))
          .connected,
        true,
      );
    });
  });

  describe('host endpoints', () => {
    const h = new AgentHarness();
    let outside = '';
    const nodeIp = '198.51.100.1';
    const hep = (labels: Record<string, string>): Resource =>
      ({
        apiVersion: 'projectcalico.org/v3',
        kind: 'HostEndpoint',
        metadata: { name: 'node1-eth1', labels },
        spec: { node: 'node1', interfaceName: 'eth1', expectedIPs: [nodeIp] },
      }) as Resource;
    const gnp = (name: string, spec: Record<string, unknown>): Resource =>
      ({
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name },
        spec,
      }) as Resource;
    const reachNode = async (port: number): Promise<boolean> =>
      (await h.scope.probe(outside, { protocol: 'tcp', address: nodeIp, port }, { timeoutMs: 600 }))
        .connected;

    before(async () => {
      await h.setup();
      outside = await h.scope.namespace();
      await h.scope.veth(
        { ns: h.node, name: 'eth1', address: `${nodeIp}/24` },
        { ns: outside, name: 'eth0', address: '198.51.100.2/24' },
      );
      for (const port of [22, 8080, 9090])
        await h.scope.listen(h.node, { protocol: 'tcp', address: nodeIp, port });
      h.startAgent();
      await h.settle();
    });
    after(() => h[Symbol.asyncDispose]());

    it('without a host endpoint, host traffic is not policed', async () => {
      assert.equal(await reachNode(8080), true);
    });

    it('a host endpoint without profiles denies by default but keeps the failsafe ports open', async () => {
      await h.put(hep({ role: 'edge' }));
      await h.settle();
      assert.equal(await reachNode(8080), false);
      assert.equal(await reachNode(22), true, 'failsafe tcp:22');
    });

    it('normal policy allows; preDNAT policy denies before it; untracked policy allows both ways', async () => {
      await h.put(
        gnp('edge-web', {
          selector: "role == 'edge'",
          types: ['Ingress'],
          ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } }],
        }),
      );
      await h.settle();
      assert.equal(await reachNode(8080), true);
      await h.put(
        gnp('edge-block', {
          selector: "role == 'edge'",
          preDNAT: true,
          applyOnForward: true,
          types: ['Ingress'],
          ingress: [
            {
              action: 'Deny',
              protocol: 'TCP',
              source: { nets: ['198.51.100.0/24'] },
              destination: { ports: [8080] },
            },
          ],
        }),
      );
      await h.settle();
      assert.equal(await reachNode(8080), false, 'preDNAT deny wins over the normal allow');
      assert.equal(await reachNode(9090), false, 'not allowed by anything');
      await h.put(
        gnp('edge-fast', {
          selector: "role == 'edge'",
          doNotTrack: true,
          applyOnForward: true,
          types: ['Ingress', 'Egress'],
          ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [9090] } }],
          egress: [{ action: 'Allow', protocol: 'TCP', source: { ports: [9090] } }],
        }),
      );
      await h.settle();
      assert.equal(await reachNode(9090), true, 'untracked allow in both directions');
    });

    it('a host endpoint with only expectedIPs applies to the interface that carries the address', async () => {
      await h.remove(gnp('edge-block', {}));
      await h.remove(gnp('edge-fast', {}));
      await h.remove(hep({}));
      await h.settle();
      assert.equal(await reachNode(9090), true, 'no host endpoint any more');
      await h.put({
        apiVersion: 'projectcalico.org/v3',
        kind: 'HostEndpoint',
        metadata: { name: 'node1-by-ip', labels: { role: 'edge' } },
        spec: { node: 'node1', expectedIPs: [nodeIp] },
      } as Resource);
      await h.settle();
      assert.equal(await reachNode(9090), false, 'denied by the endpoint found by its address');
      assert.equal(await reachNode(8080), true, 'allowed by edge-web, which selects it');
      assert.equal(await reachNode(22), true, 'failsafe tcp:22');
      assert.match(await h.tableText(), /cali-fh-eth1/);
    });
  });
});
