/**
 * applyOnForward on the real kernel: calico-node in a node namespace with two host interfaces carrying host
 * endpoints (eth1 towards an "outside" namespace, eth2 towards a "far" one) and two workloads, routing
 * between all of them (hep-lab.ts). Every connection is probed on the kernel and decided by the reference
 * evaluator on the model built from the same datastore contents; both must give the expected verdict, so the
 * kernel and `calicoctl policy explain` are shown to agree on forwarded traffic (docs/design/dataplane.md,
 * "Forwarded traffic through host endpoints").
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kernelTestSkipReason } from '../labkit/netns.js';
import { summarizeDecision } from '../policy/format.js';
import type { Decision } from '../policy/trace.js';
import { repoRoot } from '../test-support/repo.js';
import { edgeEndpoints, gnp, hep, HepLab, type Place } from './hep-lab.js';
import { knp } from './testing.js';

const built = existsSync(join(repoRoot(), 'dist', 'src', 'agent', 'main.js'));
const skip = kernelTestSkipReason() || (built ? false : 'dist/src/agent/main.js not built');

describe('applyOnForward: forwarded traffic through host endpoints, kernel and evaluator', { skip }, () => {
  const lab = new HepLab();
  let outside: Place;
  let far: Place;
  let node: Place;
  let a: Place;
  let b: Place;

  const forwardDeny = (d: Decision, endpoint: string, direction: 'ingress' | 'egress'): void => {
    const t = d.forward?.find((x) => x.verdict === 'Deny');
    assert.ok(t !== undefined, `a forward stage denies: ${summarizeDecision(d)}`);
    assert.deepEqual([t.stage, t.endpoint, t.direction], ['forward', `hostendpoint ${endpoint}`, direction]);
  };

  before(async () => {
    await lab.setup();
    ({ outside, far, node, a, b } = lab);
    await lab.settle(...edgeEndpoints());
  });
  after(() => lab[Symbol.asyncDispose]());

  it('without applyOnForward policy, forwarded traffic passes; host traffic follows normal policy', async () => {
    const d = await lab.check('outside -> a', outside, a, 80, 'Allow', { in: 'eth1-node1' });
    assert.deepEqual(
      d.forward?.map((t) => [t.stage, t.decidedBy.kind]),
      [['forward', 'forwardDefault']],
    );
    await lab.check('a -> outside', a, outside, 80, 'Allow', { out: 'eth1-node1' });
    await lab.check('outside -> far', outside, far, 80, 'Allow', { in: 'eth1-node1', out: 'eth2-node1' });
    await lab.check('a -> b', a, b, 80, 'Allow');
    await lab.check('outside -> node:7070', outside, node, 7070, 'Allow');
    await lab.check('outside -> node:7071 (host endpoint default deny)', outside, node, 7071, 'Deny');
    assert.match(await lab.h.tableText(), /chain filter-cali-fhfw-eth1 /);
  });

  it('an ingress applyOnForward policy decides what arrives through its host endpoint, and only that', async () => {
    await lab.settle(
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
    forwardDeny(await lab.check('outside -> a:8080', outside, a, 8080, 'Deny', via), 'eth1-node1', 'ingress');
    await lab.check('outside -> a:80', outside, a, 80, 'Allow', via);
    const eot = await lab.check('outside -> far:9090', outside, far, 9090, 'Deny', {
      ...via,
      out: 'eth2-node1',
    });
    assert.equal(eot.forward?.[0]?.decidedBy.kind, 'endOfTier');
    await lab.check('outside -> far:80', outside, far, 80, 'Allow', { ...via, out: 'eth2-node1' });
    // Leaving through eth1: the policy has no egress side, so forwarded traffic out is not affected.
    await lab.check('far -> outside:8080', far, outside, 8080, 'Allow', {
      in: 'eth2-node1',
      out: 'eth1-node1',
    });
    await lab.check('a -> outside:8080', a, outside, 8080, 'Allow', { out: 'eth1-node1' });
    // Host traffic is policed as before (the policy is normal policy too, and allows nothing new here).
    await lab.check('outside -> node:7070', outside, node, 7070, 'Allow');
    await lab.check('outside -> node:7071', outside, node, 7071, 'Deny');
  });

  it('an egress applyOnForward policy polices what leaves through its host endpoint; workload policy still applies', async () => {
    await lab.settle(
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
      await lab.check('a -> far:9090', a, far, 9090, 'Deny', { out: 'eth2-node1' }),
      'eth2-node1',
      'egress',
    );
    await lab.check('a -> far:80', a, far, 80, 'Allow', { out: 'eth2-node1' });
    const wl = await lab.check('outside -> b:80', outside, b, 80, 'Deny', { in: 'eth1-node1' });
    assert.equal(wl.forward?.[0]?.verdict, 'Allow', 'the host endpoint lets it through');
    assert.equal(wl.ingress?.verdict, 'Deny', "b's own policy denies it");
    await lab.check('a -> b:80', a, b, 80, 'Allow');
  });

  it('the * host endpoint applies its forward policy to traffic between local workloads', async () => {
    await lab.settle(
      hep('node1-all', '*', [], { role: 'all' }),
      gnp('all-fwd', {
        selector: "role == 'all'",
        applyOnForward: true,
        types: ['Egress'],
        egress: [{ action: 'Deny', destination: { selector: "app == 'b'" } }, { action: 'Allow' }],
      }),
    );
    const d = await lab.check('a -> b:80', a, b, 80, 'Deny');
    forwardDeny(d, 'node1-all', 'egress');
    assert.equal(d.caveats, undefined, 'both interfaces are workload interfaces: nothing to guess');
    await lab.check('b -> a:80', b, a, 80, 'Allow');
    await lab.check('outside -> a:80', outside, a, 80, 'Allow', { in: 'eth1-node1' });
    await lab.check('a -> outside:80', a, outside, 80, 'Allow', { out: 'eth1-node1' });
  });

  it('a preDNAT Allow on the arriving interface skips its forward policy', async () => {
    await lab.settle(
      gnp('edge-pre', {
        selector: "side == 'near'",
        preDNAT: true,
        applyOnForward: true,
        types: ['Ingress'],
        ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } }],
      }),
    );
    const d = await lab.check('outside -> a:8080', outside, a, 8080, 'Allow', { in: 'eth1-node1' });
    const by = d.forward?.[0]?.decidedBy;
    assert.ok(by?.kind === 'rule' && by.stage === 'preDNAT', JSON.stringify(by));
  });
});
