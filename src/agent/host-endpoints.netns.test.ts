/**
 * Host endpoint stages on the real kernel, each connection probed and asked of the reference evaluator
 * (hep-lab.ts: both must give the expected verdict): preDNAT Allow ending host processing, established
 * flows ahead of preDNAT policy, the `*` endpoint's preDNAT policy where an interface has none of its own,
 * the host's traffic to its own workloads, one endpoint per interface and one `*` endpoint (the lowest name),
 * and disableConntrackInvalidCheck in host endpoint chains (docs/design/dataplane.md, "Host endpoints").
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../datastore/index.js';
import { kernelTestSkipReason } from '../labkit/netns.js';
import type { Decider, TraceEvent } from '../policy/trace.js';
import { repoRoot } from '../test-support/repo.js';
import { edgeEndpoints, gnp, hep, HepLab, NODE_ETH1 } from './hep-lab.js';
import { knp } from './testing.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip = kernelTestSkipReason() || (built ? false : 'dist/src/agent/main.js not built');

function ruleOf(d: Decider | undefined): [string, string, string] {
  assert.ok(d?.kind === 'rule', `decided by a rule: ${JSON.stringify(d)}`);
  return [d.stage, d.hit.policyName, d.hit.action];
}

const preDnat = (name: string, selector: string, ingress: unknown[]): Resource =>
  gnp(name, { selector, preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress });

describe('host endpoint stages, kernel and evaluator', { skip }, () => {
  const lab = new HepLab();
  before(async () => {
    await lab.setup();
    await lab.settle(...edgeEndpoints(), hep('node1-all', '*', [], { role: 'all' }));
  });
  after(() => lab[Symbol.asyncDispose]());

  it('a preDNAT Allow ends host processing; a preDNAT Deny leaves the replies of established flows alone', async () => {
    const { outside, node, a } = lab;
    await lab.check('outside -> node:7071', outside, node, 7071, 'Deny');
    await lab.settle(
      preDnat('edge-pre', "side == 'near'", [
        { action: 'Allow', protocol: 'TCP', destination: { ports: [7071] } },
        { action: 'Deny', protocol: 'TCP', source: { ports: [80] } },
      ]),
    );
    const d = await lab.check('outside -> node:7071 (preDNAT Allow)', outside, node, 7071, 'Allow');
    assert.deepEqual(ruleOf(d.ingress?.decidedBy), ['preDNAT', 'edge-pre', 'Allow']);
    await lab.check('outside -> node:7070', outside, node, 7070, 'Allow');
    // The replies from outside:80 arrive through eth1 and match the Deny: conntrack lets them in first.
    await lab.check('a -> outside:80', a, outside, 80, 'Allow', { out: 'eth1-node1' });
  });

  it("the * endpoint's preDNAT policy applies where the arriving interface has none of its own", async () => {
    const { outside, far, a, b } = lab;
    await lab.settle(
      preDnat('all-pre', "role == 'all'", [
        { action: 'Deny', protocol: 'TCP', destination: { ports: [80] } },
      ]),
    );
    const d = await lab.check('far -> a:80 (eth2)', far, a, 80, 'Deny', { in: 'eth2-node1' });
    assert.deepEqual(ruleOf(d.forward?.[0]?.decidedBy), ['preDNAT', 'all-pre', 'Deny']);
    assert.ok(
      d.forward?.[0]?.path.some(
        (e: TraceEvent) => e.kind === 'stageFrom' && e.endpoint === 'hostendpoint node1-all',
      ),
    );
    await lab.check('b -> a:80 (from a workload interface)', b, a, 80, 'Deny');
    await lab.check('far -> a:8080', far, a, 8080, 'Allow', { in: 'eth2-node1' });
    // eth1 has preDNAT policy of its own (edge-pre), which passes this: the * endpoint's does not apply.
    await lab.check('outside -> a:80 (eth1)', outside, a, 80, 'Allow', { in: 'eth1-node1' });
  });

  it("the host's traffic to its own workloads meets neither host endpoint nor workload policy", async () => {
    const { outside, node, a, b } = lab;
    await lab.settle(
      knp('fwd', 'a-from-pods', {
        podSelector: { matchLabels: { app: 'a' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ ipBlock: { cidr: '10.67.0.0/16' } }] }],
      }),
    );
    await lab.check('outside -> a:8080 (a-from-pods)', outside, a, 8080, 'Deny', { in: 'eth1-node1' });
    const d = await lab.check('node -> a:8080', node, a, 8080, 'Allow');
    assert.deepEqual(d.ingress?.decidedBy, { kind: 'hostToLocalWorkload' });
    assert.deepEqual(d.egress?.decidedBy, { kind: 'hostToLocalWorkload' });
    // eth1-node1 has no egress policy (default deny) and all-pre denies port 80, yet the host reaches b:80.
    await lab.check('node -> b:80', node, b, 80, 'Allow');
  });

  it('one endpoint per interface and one * endpoint: the lowest name applies, the other is logged', async () => {
    const { outside, node, a, b } = lab;
    await lab.check('b -> a:8080', b, a, 8080, 'Allow');
    await lab.settle(
      hep('a-eth1', 'eth1', [NODE_ETH1], {}),
      hep('node1-all-z', '*', [], { role: 'all-z' }),
      gnp('all-z-fwd', {
        selector: "role == 'all-z'",
        applyOnForward: true,
        types: ['Ingress'],
        ingress: [{ action: 'Deny' }],
      }),
    );
    // a-eth1 (no labels, no profiles) takes eth1 from eth1-node1: default deny for the host.
    const d = await lab.check('outside -> node:7070', outside, node, 7070, 'Deny');
    assert.equal(d.ingress?.endpoint, 'hostendpoint a-eth1');
    // node1-all-z is ignored: node1-all stays the endpoint for all interfaces.
    const w = await lab.check('b -> a:8080', b, a, 8080, 'Allow');
    assert.deepEqual(
      w.forward?.map((t) => t.endpoint),
      ['hostendpoint node1-all', 'hostendpoint node1-all'],
    );
    const log = lab.h.agentLog();
    assert.match(log, /host endpoint ignored[^\n]*eth1-node1/);
    assert.match(log, /host endpoint ignored[^\n]*node1-all-z/);
    await lab.remove(hep('a-eth1', 'eth1', [], {}));
    await lab.check('outside -> node:7070 (eth1-node1 again)', outside, node, 7070, 'Allow');
  });

  it('disableConntrackInvalidCheck removes the invalid-state drop from host endpoint chains too', async () => {
    const { far, a } = lab;
    const chain = (text: string, name: string): string =>
      new RegExp(`chain ${name} \\{[^}]*\\}`).exec(text)?.[0] ?? assert.fail(`no chain ${name}`);
    const before = await lab.h.tableText();
    for (const c of ['filter-cali-fh-eth1', 'filter-cali-thfw-eth2', 'mangle-cali-fh-any'])
      assert.match(chain(before, c), /ct state invalid (counter )?drop/, c);
    await lab.settle({
      apiVersion: 'projectcalico.org/v3',
      kind: 'FelixConfiguration',
      metadata: { name: 'default' },
      spec: { disableConntrackInvalidCheck: true },
    } as Resource);
    const after = await lab.h.tableText();
    assert.doesNotMatch(after, /ct state invalid/);
    assert.match(chain(after, 'filter-cali-fh-eth1'), /ct state established,related (counter )?accept/);
    await lab.check('far -> a:80 (all-pre)', far, a, 80, 'Deny', { in: 'eth2-node1' });
  });
});
