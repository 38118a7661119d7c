/**
 * The lab against the real kernel (root only; skipped with the reason otherwise): pod plumbing for both
 * families, probes (allowed, denied by a drop rule, refused, no-route when a hop lacks its route, unreachable
 * on an ICMP error), the hairpin of pod -> own IP through the node, and cleanup. No agent runs here; the end-to-end test with the agent is in lab-agent.netns.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { netnsRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { LabCluster } from './cluster.js';
import { kernelTestSkipReason, listNamespaces, runChecked } from './netns.js';

const skip = kernelTestSkipReason(['ip', 'nft', 'sysctl', 'conntrack']);
const runner = new NodeCommandRunner();

async function ipJson<T>(ns: string, ...args: string[]): Promise<T> {
  return JSON.parse(await runChecked(runner, 'ip', ['-j', '-n', ns, ...args])) as T;
}

type Addr = { ifname: string; address?: string; addr_info: { local: string; prefixlen: number }[] };
type Route = { dst: string; gateway?: string; dev?: string; scope?: string };
type Rule = { priority: number; table: string; dst?: string; iif?: string };

/** Counts, in the node's forward hook, packets from `ip` to itself (the hairpin). */
async function hairpinCounter(nodeNs: string, ip: string): Promise<() => Promise<number>> {
  const nft = netnsRunner(runner, nodeNs);
  const fam = ip.includes(':') ? 'ip6' : 'ip';
  await runChecked(nft, 'nft', ['-f', '-'], {
    stdin: `table inet labtest {\n chain count {\n  type filter hook forward priority -300;\n  ${fam} saddr ${ip} ${fam} daddr ${ip} counter\n }\n}\n`,
  });
  return async () => {
    const out = await runChecked(nft, 'nft', ['list', 'chain', 'inet', 'labtest', 'count']);
    const m = /counter packets (\d+)/.exec(out);
    await runChecked(nft, 'nft', ['delete', 'table', 'inet', 'labtest']);
    return Number(m?.[1] ?? -1);
  };
}

describe('LabCluster on the real kernel (no agent)', { skip }, () => {
  let lab: LabCluster;
  before(async () => {
    lab = await LabCluster.create({ runner, agentEntry: null });
    await lab.addNode('node-1');
    await lab.addPods([
      {
        node: 'node-1',
        spec: { namespace: 'x', name: 'a', ip: '10.244.1.10', ports: [80], labels: { pod: 'a' } },
      },
      { node: 'node-1', spec: { namespace: 'x', name: 'b', ip: '10.244.2.10', ports: [80, 81] } },
      { node: 'node-1', spec: { namespace: 'y', name: 'a', ip: 'fd00::af4:10a', ports: [80] } },
      { node: 'node-1', spec: { namespace: 'y', name: 'b', ip: 'fd00::af4:20a', ports: [80] } },
    ]);
  });
  after(() => lab.destroy());

  test('IPv4 pod: veth with the Calico MAC, /32, routes via 169.254.1.1, node route, hairpin rules', async () => {
    const pod = lab.pod('x/a');
    const node = lab.node('node-1');
    const host = await ipJson<Addr[]>(node.netns, 'addr', 'show', 'dev', pod.hostIfname);
    assert.equal(host[0]?.address, 'ee:ee:ee:ee:ee:ee');
    const eth0 = await ipJson<Addr[]>(pod.netns, 'addr', 'show', 'dev', 'eth0');
    assert.deepEqual(
      eth0[0]?.addr_info.map((a) => `${a.local}/${a.prefixlen}`).filter((a) => !a.startsWith('fe80')),
      ['10.244.1.10/32'],
    );
    const routes = await ipJson<Route[]>(pod.netns, '-4', 'route', 'show');
    assert.ok(routes.some((r) => r.dst === 'default' && r.gateway === '169.254.1.1' && r.dev === 'eth0'));
    assert.ok(routes.some((r) => r.dst === '169.254.1.1' && r.scope === 'link'));
    const nodeRoutes = await ipJson<Route[]>(node.netns, '-4', 'route', 'show');
    assert.ok(nodeRoutes.some((r) => r.dst === '10.244.1.10' && r.dev === pod.hostIfname));
    const rules = await ipJson<Rule[]>(pod.netns, '-4', 'rule', 'show');
    assert.deepEqual(
      rules.map((r) => [r.priority, r.table]),
      [
        [10, '100'],
        [100, 'local'],
        [32766, 'main'],
        [32767, 'default'],
      ],
    );
    assert.equal(lab.pod('x/a').mac !== undefined, true);
  });

  test('IPv6 pod: /128, default via fe80::ecee:eeff:feee:eeee, node route', async () => {
    const pod = lab.pod('y/a');
    const eth0 = await ipJson<Addr[]>(pod.netns, 'addr', 'show', 'dev', 'eth0');
    assert.ok(eth0[0]?.addr_info.some((a) => a.local === 'fd00::af4:10a' && a.prefixlen === 128));
    const routes = await ipJson<Route[]>(pod.netns, '-6', 'route', 'show');
    assert.ok(routes.some((r) => r.dst === 'default' && r.gateway === 'fe80::ecee:eeff:feee:eeee'));
    const nodeRoutes = await ipJson<Route[]>(lab.node('node-1').netns, '-6', 'route', 'show');
    assert.ok(nodeRoutes.some((r) => r.dst === 'fd00::af4:10a' && r.dev === pod.hostIfname));
  });

  test('the WorkloadEndpoints are in the datastore', async () => {
    const { items } = await lab.datastore.list({ kind: 'WorkloadEndpoint' });
    assert.deepEqual(items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`).sort(), [
      'x/node--1-k8s-a-eth0',
      'x/node--1-k8s-b-eth0',
      'y/node--1-k8s-a-eth0',
      'y/node--1-k8s-b-eth0',
    ]);
  });

  test('probes: TCP and UDP connect both ways and in both families; a closed port is refused', async () => {
    for (const [from, to] of [
      ['x/a', 'x/b'],
      ['x/b', 'x/a'],
      ['y/a', 'y/b'],
    ] as const) {
      for (const protocol of ['tcp', 'udp'] as const) {
        const o = await lab.probe(from, { to, protocol, port: 80, timeoutMs: 2000 });
        assert.equal(o.verdict, 'allowed', `${from} -> ${to} ${protocol}: ${o.detail}`);
      }
    }
    assert.equal((await lab.probe('x/a', { to: 'x/b', protocol: 'tcp', port: 82 })).verdict, 'refused');
    assert.equal((await lab.probe('x/a', { to: 'x/b', protocol: 'udp', port: 82 })).verdict, 'refused');
  });

  test('probes: dropped traffic times out as denied', async () => {
    const nft = netnsRunner(runner, lab.node('node-1').netns);
    await runChecked(nft, 'nft', ['-f', '-'], {
      stdin:
        'table inet labdrop {\n chain count {\n  type filter hook forward priority 0;\n  th dport 81 drop\n }\n}\n',
    });
    try {
      for (const protocol of ['tcp', 'udp'] as const) {
        const o = await lab.probe('x/a', { to: 'x/b', protocol, port: 81, timeoutMs: 300 });
        assert.equal(o.verdict, 'denied', `${protocol}: ${o.detail}`);
        assert.ok(o.elapsedMs >= 300);
      }
      assert.equal((await lab.probe('x/a', { to: 'x/b', protocol: 'tcp', port: 80 })).verdict, 'allowed');
    } finally {
      await runChecked(nft, 'nft', ['delete', 'table', 'inet', 'labdrop']);
    }
  });

  test('probes: a timeout on a path without a route is no-route, naming the hop, not denied', async () => {
    const node = lab.node('node-1');
    const pod = lab.pod('x/b');
    await runChecked(runner, 'ip', ['-n', node.netns, 'route', 'del', `${pod.ip}/32`]);
    try {
      for (const protocol of ['tcp', 'udp'] as const) {
        const o = await lab.probe('x/a', { to: 'x/b', protocol, port: 80, timeoutMs: 300 });
        assert.equal(o.verdict, 'no-route', `${protocol}: ${o.detail}`);
        assert.match(
          o.detail,
          /node-1 routes 10\.244\.2\.10 \(x\/b\) by the default route .*not to its interface/,
        );
      }
    } finally {
      await runChecked(runner, 'ip', [
        ...['-n', node.netns, 'route', 'replace', `${pod.ip}/32`],
        ...['dev', pod.hostIfname, 'scope', 'link'],
      ]);
    }
    assert.equal((await lab.probe('x/a', { to: 'x/b', protocol: 'tcp', port: 80 })).verdict, 'allowed');
  });

  test('probes: an ICMP host unreachable (nobody answers ARP) is unreachable, not denied', async () => {
    // On the node's fabric subnet, but no namespace holds it: the node gives up on ARP after ~3 s.
    const o = await lab.probe('x/a', { to: '172.31.1.77', protocol: 'tcp', port: 80, timeoutMs: 8000 });
    assert.equal(o.verdict, 'unreachable', o.detail);
    assert.match(o.detail, /EHOSTUNREACH/);
  });

  test('hairpin: a pod reaching its own IP crosses the node forward hook (IPv4 and IPv6)', async () => {
    for (const key of ['x/a', 'y/a']) {
      const pod = lab.pod(key);
      const counted = await hairpinCounter(lab.node('node-1').netns, pod.ip);
      for (const protocol of ['tcp', 'udp'] as const) {
        const o = await lab.probe(key, { to: key, protocol, port: 80, timeoutMs: 2000 });
        assert.equal(o.verdict, 'allowed', `${key} ${protocol}: ${o.detail}`);
      }
      // TCP: SYN, SYN-ACK, ACK and FINs; UDP: datagram and echo. Loopback would count none.
      assert.ok((await counted()) >= 5, `${key}: hairpin packets did not cross the node`);
    }
  });

  test('labels, served ports and removal', async () => {
    await lab.setPodLabels('x/a', { pod: 'a', role: 'web' });
    const wep = await lab.datastore.get({
      kind: 'WorkloadEndpoint',
      namespace: 'x',
      name: 'node--1-k8s-a-eth0',
    });
    assert.equal(wep.metadata.labels?.role, 'web');
    await lab.updatePod('x/a', { ports: [80, 8080] });
    assert.equal((await lab.probe('x/b', { to: 'x/a', protocol: 'tcp', port: 8080 })).verdict, 'allowed');
    const ns = lab.pod('x/b').netns;
    await lab.removePod('x/b');
    assert.equal(lab.hasPod('x/b'), false);
    assert.ok(!(await listNamespaces(runner)).includes(ns));
    await assert.rejects(
      lab.datastore.get({ kind: 'WorkloadEndpoint', namespace: 'x', name: 'node--1-k8s-b-eth0' }),
      /does not exist/,
    );
    await assert.rejects(lab.addPod('node-1', { namespace: 'z', name: 'c', ip: '10.244.1.10' }), /is taken/);
  });
});

describe('LabCluster cleanup', { skip }, () => {
  test('dispose removes every namespace and the run dir, even with pods and processes alive', async () => {
    let names: string[];
    let runDir: string;
    {
      await using lab = await LabCluster.create({ runner, agentEntry: null });
      await lab.addNode('node-1');
      await lab.addNode('node-2');
      await lab.addPods([
        { node: 'node-1', spec: { namespace: 'x', name: 'a', ip: '10.244.1.10', ports: [80] } },
        { node: 'node-2', spec: { namespace: 'x', name: 'b', ip: '10.244.2.10', ports: [80] } },
      ]);
      // Two nodes: the static cross-node routes carry pod traffic over the fabric.
      assert.equal((await lab.probe('x/a', { to: 'x/b', protocol: 'tcp', port: 80 })).verdict, 'allowed');
      names = [...lab.nodes().map((n) => n.netns), ...lab.pods().map((p) => p.netns), lab.state.fabricNs!];
      runDir = lab.runDir;
      assert.equal(names.length, 5);
    }
    const left = await listNamespaces(runner);
    assert.deepEqual(
      names.filter((n) => left.includes(n)),
      [],
    );
    assert.equal(existsSync(runDir), false);
  });
});
