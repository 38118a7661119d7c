import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelInput } from '../model/snapshot.js';
import { buildSnapshot } from '../model/snapshot.js';
import { formatDecision } from './format.js';
import { forwardHops } from './forward.js';
import { HostEndpointIndex } from './host-endpoints.js';
import type { Decider, DirectionTrace } from './trace.js';
import { forwardDecider, gnp, hep, np, ns, pod, sgnp, tier } from './testing.js';

const TCP = 6;
const x = ns('x');
const a = pod('x', 'a', '10.67.0.1', { app: 'a' }, { node: 'node1' });
const b = pod('x', 'b', '10.67.0.2', { app: 'b' }, { node: 'node1' });
const eth1 = hep(
  'eth1-node1',
  { node: 'node1', interfaceName: 'eth1', expectedIPs: ['198.51.100.1'] },
  { role: 'edge' },
);
const eth2 = hep(
  'eth2-node1',
  { node: 'node1', interfaceName: 'eth2', expectedIPs: ['203.0.113.1'] },
  { role: 'edge', side: 'far' },
);
const star = hep('node1-all', { node: 'node1', interfaceName: '*' }, { role: 'all' });
const OUTSIDE = '198.51.100.2';
const FAR = '203.0.113.2';
const A = '10.67.0.1';
const B = '10.67.0.2';

const fwdIn = gnp('fwd-in', {
  selector: "role == 'edge'",
  applyOnForward: true,
  types: ['Ingress'],
  ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } }, { action: 'Allow' }],
});

function only(ts: readonly DirectionTrace[] | undefined): DirectionTrace {
  assert.equal(ts?.length, 1, `one forward trace expected: ${JSON.stringify(ts)}`);
  return ts[0]!;
}

function ruleOf(d: Decider): [string, string, number, string] {
  assert.ok(d.kind === 'rule', `decided by a rule: ${JSON.stringify(d)}`);
  return [d.stage, d.hit.policyName, d.hit.ruleIndex, d.hit.action];
}

const base: ModelInput[] = [x, a, b, eth1];

describe('forwarded traffic through host endpoints (applyOnForward)', () => {
  it('without applyOnForward policy, forwarded traffic is allowed; the same host endpoint polices host traffic', () => {
    const hostOnly = gnp('host-only', {
      selector: "role == 'edge'",
      types: ['Ingress', 'Egress'],
      ingress: [{ action: 'Deny' }],
      egress: [{ action: 'Deny' }],
    });
    const decide = forwardDecider([...base, hostOnly]);
    const d = decide({ from: OUTSIDE, to: A, protocol: TCP, port: 80, via: { in: 'eth1-node1' } });
    assert.equal(d.verdict, 'Allow');
    const f = only(d.forward);
    assert.deepEqual(
      [f.direction, f.endpoint, f.stage, f.verdict, f.decidedBy],
      [
        'ingress',
        'hostendpoint eth1-node1',
        'forward',
        'Allow',
        { kind: 'forwardDefault', reason: 'noPolicy' },
      ],
    );
    const host = decide({ from: OUTSIDE, to: '198.51.100.1', protocol: TCP, port: 80 });
    assert.equal(host.verdict, 'Deny');
    assert.deepEqual(ruleOf(host.ingress!.decidedBy), ['normal', 'host-only', 0, 'Deny']);
    assert.equal(host.forward, undefined, 'traffic to the host is not forwarded');
  });

  it('an applyOnForward policy decides forwarded traffic in its direction, and is normal policy too', () => {
    const decide = forwardDecider([...base, fwdIn]);
    const denied = decide({ from: OUTSIDE, to: A, protocol: TCP, port: 8080, via: { in: 'eth1-node1' } });
    assert.equal(denied.verdict, 'Deny');
    const f = only(denied.forward);
    assert.deepEqual(ruleOf(f.decidedBy), ['forward', 'fwd-in', 0, 'Deny']);
    assert.deepEqual(f.path[0], {
      kind: 'tier',
      tier: 'default',
      policies: ['fwd-in'],
      policyIds: ['gnp/fwd-in'],
      stage: 'forward',
    });
    const allowed = decide({ from: OUTSIDE, to: A, protocol: TCP, port: 80, via: { in: 'eth1-node1' } });
    assert.equal(allowed.verdict, 'Allow');
    assert.deepEqual(ruleOf(only(allowed.forward).decidedBy), ['forward', 'fwd-in', 1, 'Allow']);
    // Leaving through eth1: no egress applyOnForward policy.
    const out = decide({ from: A, to: OUTSIDE, protocol: TCP, port: 8080, via: { out: 'eth1-node1' } });
    assert.equal(out.verdict, 'Allow');
    assert.deepEqual(only(out.forward).decidedBy, { kind: 'forwardDefault', reason: 'noPolicy' });
    assert.equal(only(out.forward).direction, 'egress');
    const host = decide({ from: OUTSIDE, to: '198.51.100.1', protocol: TCP, port: 8080 });
    assert.deepEqual(ruleOf(host.ingress!.decidedBy), ['normal', 'fwd-in', 0, 'Deny']);
  });

  it('between two host endpoints: the arriving one in ingress, the leaving one in egress', () => {
    const fwdOut = gnp('fwd-out', {
      selector: "side == 'far'",
      applyOnForward: true,
      types: ['Egress'],
      egress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [9090] } }, { action: 'Allow' }],
    });
    const decide = forwardDecider([...base, eth2, fwdIn, fwdOut]);
    const via = { in: 'eth1-node1', out: 'eth2-node1' };
    const d = decide({ from: OUTSIDE, to: FAR, protocol: TCP, port: 9090, via });
    assert.equal(d.verdict, 'Deny');
    assert.deepEqual(
      d.forward?.map((t) => [t.direction, t.endpoint, t.verdict]),
      [
        ['ingress', 'hostendpoint eth1-node1', 'Allow'],
        ['egress', 'hostendpoint eth2-node1', 'Deny'],
      ],
    );
    assert.deepEqual(ruleOf(d.forward[1]!.decidedBy), ['forward', 'fwd-out', 0, 'Deny']);
    assert.equal(decide({ from: OUTSIDE, to: FAR, protocol: TCP, port: 80, via }).verdict, 'Allow');
    assert.equal(decide({ from: OUTSIDE, to: FAR, protocol: TCP, port: 8080, via }).verdict, 'Deny');
  });

  it('forward tiers end like normal ones: default Deny drops, a Pass tier leaves no verdict', () => {
    const only80 = (name: string, tierName: string) =>
      gnp(name, {
        tier: tierName,
        selector: "role == 'edge'",
        applyOnForward: true,
        types: ['Ingress'],
        ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }],
      });
    const via = { in: 'eth1-node1' };
    const deny = forwardDecider([...base, tier('sec', 100), only80('sec.only80', 'sec')]);
    const d = deny({ from: OUTSIDE, to: A, protocol: TCP, port: 8080, via });
    assert.equal(d.verdict, 'Deny');
    assert.deepEqual(only(d.forward).decidedBy, {
      kind: 'endOfTier',
      tier: 'sec',
      policies: ['sec.only80'],
    });
    const pass = forwardDecider([...base, tier('sec', 100, 'Pass'), only80('sec.only80', 'sec')]);
    const p = pass({ from: OUTSIDE, to: A, protocol: TCP, port: 8080, via });
    assert.equal(p.verdict, 'Allow');
    assert.deepEqual(only(p.forward).decidedBy, { kind: 'forwardDefault', reason: 'noVerdict' });
  });

  it('workload policy still applies to forwarded traffic', () => {
    const isolateA = np('x', 'isolate-a', { selector: "app == 'a'", types: ['Ingress'] });
    const decide = forwardDecider([...base, fwdIn, isolateA]);
    const d = decide({ from: OUTSIDE, to: A, protocol: TCP, port: 80, via: { in: 'eth1-node1' } });
    assert.equal(d.verdict, 'Deny');
    assert.equal(only(d.forward).verdict, 'Allow');
    assert.equal(d.ingress?.decidedBy.kind, 'endOfTier');
  });

  it('the * host endpoint applies to traffic between local workloads, in and out', () => {
    const noB = gnp('star-no-b', {
      selector: "role == 'all'",
      applyOnForward: true,
      types: ['Egress'],
      egress: [{ action: 'Deny', destination: { selector: "app == 'b'" } }, { action: 'Allow' }],
    });
    const decide = forwardDecider([x, a, b, star, noB]);
    const d = decide({ from: A, to: B, protocol: TCP, port: 80 });
    assert.equal(d.verdict, 'Deny');
    assert.deepEqual(
      d.forward?.map((t) => [t.direction, t.endpoint, t.verdict, t.decidedBy.kind]),
      [
        ['ingress', 'hostendpoint node1-all', 'Allow', 'forwardDefault'],
        ['egress', 'hostendpoint node1-all', 'Deny', 'rule'],
      ],
    );
    assert.equal(d.caveats, undefined);
    assert.equal(decide({ from: B, to: A, protocol: TCP, port: 80 }).verdict, 'Allow');
    // Out to the network: with only the * endpoint on the node, it is the one.
    const out = decide({ from: A, to: OUTSIDE, protocol: TCP, port: 80 });
    assert.deepEqual(
      out.forward?.map((t) => t.endpoint),
      ['hostendpoint node1-all', 'hostendpoint node1-all'],
    );
    // With an interface-specific endpoint as well, the leaving interface is not known.
    const both = forwardDecider([x, a, b, star, eth1, noB])({
      from: A,
      to: OUTSIDE,
      protocol: TCP,
      port: 80,
    });
    assert.deepEqual(
      both.forward?.map((t) => t.direction),
      ['ingress'],
    );
    assert.match(
      both.caveats?.[0] ?? '',
      /node node1 has host endpoints for specific interfaces \(hostendpoint eth1-node1\)/,
    );
  });

  it('untracked and preDNAT policy of the arriving interface come first; failsafe ports only skip them', () => {
    const pre = gnp('pre', {
      selector: "role == 'edge'",
      preDNAT: true,
      applyOnForward: true,
      types: ['Ingress'],
      ingress: [
        { action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } },
        { action: 'Deny', protocol: 'TCP', destination: { ports: [22, 8081] } },
      ],
    });
    const decide = forwardDecider([...base, fwdIn, pre]);
    const via = { in: 'eth1-node1' };
    const accepted = only(decide({ from: OUTSIDE, to: A, protocol: TCP, port: 8080, via }).forward);
    assert.equal(accepted.verdict, 'Allow', 'a preDNAT Allow skips the forward policy that would deny');
    assert.deepEqual(ruleOf(accepted.decidedBy), ['preDNAT', 'pre', 0, 'Allow']);
    assert.ok(!accepted.path.some((e) => e.kind === 'tier' && e.stage === 'forward'));
    const denied = only(decide({ from: OUTSIDE, to: A, protocol: TCP, port: 8081, via }).forward);
    assert.deepEqual(ruleOf(denied.decidedBy), ['preDNAT', 'pre', 1, 'Deny']);
    const ssh = only(decide({ from: OUTSIDE, to: A, protocol: TCP, port: 22, via }).forward);
    assert.deepEqual(ssh.path[0], { kind: 'failsafeSkip', stage: 'preDNAT', protocol: TCP, port: 22 });
    assert.deepEqual(ruleOf(ssh.decidedBy), ['forward', 'fwd-in', 1, 'Allow']);
    const untracked = gnp('untracked', {
      selector: "role == 'edge' || role == 'all'",
      doNotTrack: true,
      applyOnForward: true,
      types: ['Ingress'],
      ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [80] } }],
    });
    const u = forwardDecider([...base, star, untracked]);
    const named = u({ from: OUTSIDE, to: A, protocol: TCP, port: 80, via });
    assert.deepEqual(ruleOf(named.forward![0]!.decidedBy), ['untracked', 'untracked', 0, 'Deny']);
    // Untracked policy on the * endpoint is ignored (Felix does not render it).
    const local = u({ from: A, to: B, protocol: TCP, port: 80 });
    assert.equal(local.verdict, 'Allow');
  });

  it('a staged applyOnForward policy only changes the pending verdict', () => {
    const staged = sgnp('staged-fwd', {
      selector: "role == 'edge'",
      applyOnForward: true,
      types: ['Ingress'],
      ingress: [{ action: 'Deny' }],
    });
    const d = forwardDecider([...base, staged])({
      from: OUTSIDE,
      to: A,
      protocol: TCP,
      port: 80,
      via: { in: 'eth1-node1' },
    });
    assert.equal(d.verdict, 'Allow');
    assert.equal(d.pending.verdict, 'Deny');
    assert.equal(only(d.pending.forward).decidedBy.kind, 'rule');
  });

  it('explains the forward stage', () => {
    const d = forwardDecider([...base, fwdIn])({
      from: OUTSIDE,
      to: A,
      protocol: TCP,
      port: 8080,
      via: { in: 'eth1-node1' },
    });
    const lines = formatDecision(d);
    assert.ok(
      lines.includes(
        'forward ingress of hostendpoint eth1-node1: DENY, denied by tier default, policy fwd-in, rule 0 (Deny) [forward] in ingress rules',
      ),
      lines.join('\n'),
    );
    assert.ok(lines.includes('    tier default (forward): fwd-in'), lines.join('\n'));
  });
});

describe('which host endpoints a connection is forwarded through', () => {
  const c = pod('x', 'c', '10.68.0.1', { app: 'c' }, { node: 'node2' });
  const star2 = hep('node2-all', { node: 'node2', interfaceName: '*' });
  const snap = buildSnapshot([x, a, b, c, eth1, star, star2]);
  const ep = (name: string) => {
    const e = snap.endpoints.find((n) => n.key.name === name || n.display === name);
    assert.ok(e !== undefined, name);
    return e;
  };
  const summary = (src: string | undefined, dst: string | undefined, via = {}) => {
    const r = forwardHops(
      new HostEndpointIndex(snap.endpoints),
      src !== undefined ? ep(src) : undefined,
      dst !== undefined ? ep(dst) : undefined,
      via,
    );
    return {
      hops: r.hops.map((h) => `${h.node}: ${h.in?.key.name ?? '-'} -> ${h.out?.key.name ?? '-'}`),
      caveats: r.caveats.length,
    };
  };

  it('derives the nodes that route a connection and the endpoints of the interfaces it knows', () => {
    assert.deepEqual(summary('x/a', 'x/b'), { hops: ['node1: node1-all -> node1-all'], caveats: 0 });
    // node1 has eth1 as well: which interface leads to node2 depends on routes.
    assert.deepEqual(summary('x/a', 'x/c'), {
      hops: ['node1: node1-all -> -', 'node2: node2-all -> node2-all'],
      caveats: 1,
    });
    assert.deepEqual(summary('x/a', 'x/c', { out: ep('eth1-node1') }), {
      hops: ['node1: node1-all -> eth1-node1', 'node2: node2-all -> node2-all'],
      caveats: 0,
    });
    // The host's own traffic and traffic to a host are not forwarded on that host.
    assert.deepEqual(summary('eth1-node1', 'x/c'), { hops: ['node2: node2-all -> node2-all'], caveats: 0 });
    assert.deepEqual(summary('x/a', 'eth1-node1'), { hops: [], caveats: 0 });
    assert.deepEqual(summary('eth1-node1', 'x/a'), { hops: [], caveats: 0 });
    assert.deepEqual(summary(undefined, undefined, { in: ep('eth1-node1') }), {
      hops: ['node1: eth1-node1 -> -'],
      caveats: 1,
    });
    assert.deepEqual(summary('eth1-node1', undefined, { out: ep('eth1-node1') }), { hops: [], caveats: 1 });
  });
});
