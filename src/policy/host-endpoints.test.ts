import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp } from '../lib/net/ip.js';
import type { ModelInput } from '../model/snapshot.js';
import { buildSnapshot } from '../model/snapshot.js';
import { PolicyEvaluator } from './evaluator.js';
import { formatDecision } from './format.js';
import { HostEndpointIndex } from './host-endpoints.js';
import type { Decider, DirectionTrace, TraceEvent } from './trace.js';
import { decider, forwardDecider, gnp, hep, ns, pod } from './testing.js';

const TCP = 6;
const UDP = 17;
const NODE = '192.168.50.1';
const NODE_ALL = '192.168.50.9';
const OUTSIDE = '192.168.60.7';
const LOCAL = '10.0.0.20';

const eth0 = hep(
  'node1-eth0',
  { node: 'node1', interfaceName: 'eth0', expectedIPs: [NODE] },
  { role: 'eth0' },
);
const star = hep(
  'node1-all',
  { node: 'node1', interfaceName: '*', expectedIPs: [NODE_ALL] },
  { role: 'all' },
);
const prod = ns('prod');
const local = pod('prod', 'local', LOCAL, { app: 'local' }, { node: 'node1' });
const remote = pod('prod', 'remote', '10.0.1.20', { app: 'remote' }, { node: 'node2' });
const base: ModelInput[] = [prod, local, remote, eth0, star];

function by(t: DirectionTrace | undefined): Decider {
  assert.ok(t !== undefined, 'direction was not evaluated');
  return t.decidedBy;
}

function rule(d: Decider): [string, string, number, string] {
  assert.ok(d.kind === 'rule', `decided by a rule: ${JSON.stringify(d)}`);
  return [d.stage, d.hit.policyName, d.hit.ruleIndex, d.hit.action];
}

const preDnat = (name: string, selector: string, ingress: unknown[]) =>
  gnp(name, { selector, preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress } as never);

const allowAll = (name: string, selector: string) =>
  gnp(name, {
    selector,
    types: ['Ingress', 'Egress'],
    ingress: [{ action: 'Allow' }],
    egress: [{ action: 'Allow' }],
  });

const denyAll = (name: string, selector: string) =>
  gnp(name, {
    selector,
    types: ['Ingress', 'Egress'],
    ingress: [{ action: 'Deny' }],
    egress: [{ action: 'Deny' }],
  });

describe('preDNAT and untracked policy of the * host endpoint', () => {
  const starDeny = preDnat('star-pre', "role == 'all'", [
    { action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } },
  ]);

  it('applies to traffic arriving through an interface whose endpoint has no preDNAT policy of its own', () => {
    const decide = decider([...base, starDeny, allowAll('eth0-open', "role == 'eth0'")]);
    const d = decide(OUTSIDE, NODE, TCP, 8080);
    assert.equal(d.verdict, 'Deny');
    assert.deepEqual(rule(by(d.ingress)), ['preDNAT', 'star-pre', 0, 'Deny']);
    assert.deepEqual(d.ingress?.path[0], {
      kind: 'stageFrom',
      stage: 'preDNAT',
      endpoint: 'hostendpoint node1-all',
    });
    assert.ok(
      formatDecision(d).includes(
        "    preDNAT policy of hostendpoint node1-all, the endpoint for all interfaces (no preDNAT policy of the interface's own)",
      ),
      formatDecision(d).join('\n'),
    );
    assert.equal(decide(OUTSIDE, NODE, TCP, 8081).verdict, 'Allow');
    // The endpoint's own preDNAT policy replaces the * endpoint's (Felix's mangle dispatch lists it).
    const own = preDnat('eth0-pre', "role == 'eth0'", [{ action: 'Log' }]);
    const d2 = decider([...base, starDeny, own, allowAll('eth0-open', "role == 'eth0'")])(
      OUTSIDE,
      NODE,
      TCP,
      8080,
    );
    assert.equal(d2.verdict, 'Allow');
    assert.ok(!d2.ingress?.path.some((e: TraceEvent) => e.kind === 'stageFrom'));
  });

  it("applies to a workload's traffic to its own host, which arrives through the workload's interface", () => {
    const accept = { endpointToHostAction: 'Accept' } as const;
    const d = decider([...base, starDeny], accept)(LOCAL, NODE, TCP, 8080);
    assert.equal(d.verdict, 'Deny');
    assert.deepEqual(rule(by(d.ingress)), ['preDNAT', 'star-pre', 0, 'Deny']);
    const ok = decider([...base, starDeny], accept)(LOCAL, NODE, TCP, 80);
    assert.deepEqual(by(ok.ingress), { kind: 'endpointToHost', action: 'Accept' });
    // Its preDNAT Allow does not skip defaultEndpointToHostAction (Felix's INPUT sends workload traffic on
    // before it looks at the accept mark).
    const allow = preDnat('star-allow', "role == 'all'", [{ action: 'Allow' }]);
    assert.deepEqual(by(decider([...base, allow])(LOCAL, NODE, TCP, 80).ingress), {
      kind: 'endpointToHost',
      action: 'Drop',
    });
  });

  it('untracked policy of the * endpoint is ignored, in both directions (Felix does not render it)', () => {
    const untracked = gnp('star-untracked', {
      selector: "role == 'all'",
      doNotTrack: true,
      applyOnForward: true,
      types: ['Ingress', 'Egress'],
      ingress: [{ action: 'Allow' }],
      egress: [{ action: 'Allow' }],
    });
    const decide = decider([...base, untracked]);
    assert.deepEqual(by(decide(OUTSIDE, NODE_ALL, TCP, 80).ingress), {
      kind: 'noProfileAllowed',
      profiles: [],
    });
    assert.deepEqual(by(decide(NODE_ALL, OUTSIDE, TCP, 80).egress), {
      kind: 'noProfileAllowed',
      profiles: [],
    });
    // On an interface-specific endpoint it applies.
    const own = gnp('eth0-untracked', {
      selector: "role == 'eth0'",
      doNotTrack: true,
      applyOnForward: true,
      types: ['Egress'],
      egress: [{ action: 'Allow' }],
    });
    assert.deepEqual(rule(by(decider([...base, own])(NODE, OUTSIDE, TCP, 80).egress)), [
      'untracked',
      'eth0-untracked',
      0,
      'Allow',
    ]);
  });
});

describe('preDNAT and untracked Allow end host processing', () => {
  it('a preDNAT Allow accepts traffic to the host past its normal policy and profiles', () => {
    const pre = preDnat('eth0-pre', "role == 'eth0'", [
      { action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } },
    ]);
    const decide = decider([...base, pre, denyAll('eth0-closed', "role == 'eth0'")]);
    const d = decide(OUTSIDE, NODE, TCP, 8080);
    assert.equal(d.verdict, 'Allow');
    assert.deepEqual(rule(by(d.ingress)), ['preDNAT', 'eth0-pre', 0, 'Allow']);
    assert.ok(!d.ingress?.path.some((e) => e.kind === 'tier' && e.stage === 'normal'));
    assert.deepEqual(rule(by(decide(OUTSIDE, NODE, TCP, 8081).ingress)), [
      'normal',
      'eth0-closed',
      0,
      'Deny',
    ]);
  });

  it('the raw failsafe chain also lets replies of outbound failsafe connections skip untracked policy', () => {
    const untracked = gnp('eth0-untracked', {
      selector: "role == 'eth0'",
      doNotTrack: true,
      applyOnForward: true,
      types: ['Ingress'],
      ingress: [{ action: 'Deny', protocol: 'UDP' }],
    });
    const ev = new PolicyEvaluator(buildSnapshot([...base, untracked, allowAll('open', "role == 'eth0'")]));
    const dns = ev.decide({
      src: { ip: parseIp(OUTSIDE)!, port: 53 },
      dst: { ip: parseIp(NODE)!, port: 40000 },
      protocol: UDP,
    });
    assert.equal(dns.verdict, 'Allow');
    assert.deepEqual(dns.ingress?.path[0], {
      kind: 'failsafeSkip',
      stage: 'untracked',
      protocol: UDP,
      port: 53,
    });
    assert.equal(
      ev.decide({ src: { ip: parseIp(OUTSIDE)! }, dst: { ip: parseIp(NODE)!, port: 40000 }, protocol: UDP })
        .verdict,
      'Deny',
    );
  });
});

describe('one host endpoint per interface: the lowest name applies', () => {
  const a = hep('a-eth0', { node: 'node1', interfaceName: 'eth0', expectedIPs: [NODE] }, { role: 'a' });
  const b = hep('b-eth0', { node: 'node1', interfaceName: 'eth0', expectedIPs: [NODE] }, { role: 'b' });
  const byIp = hep('0-by-ip', { node: 'node1', expectedIPs: [NODE] }, { role: 'ip' });
  const openB = allowAll('open-b', "role == 'b'");

  it('two endpoints naming one interface: the lower name, whichever holds the address first', () => {
    for (const inputs of [
      [prod, a, b, openB],
      [prod, b, a, openB],
    ]) {
      const d = decider(inputs)(OUTSIDE, NODE, TCP, 80);
      assert.equal(d.ingress?.endpoint, 'hostendpoint a-eth0');
      assert.deepEqual(by(d.ingress), { kind: 'noProfileAllowed', profiles: [] });
      assert.equal(d.caveats, undefined);
    }
    // Naming the other one explains why it was not used.
    const snap = buildSnapshot([prod, a, b, openB]);
    const named = snap.endpoints.find((e) => e.key.name === 'b-eth0')!;
    const d = new PolicyEvaluator(snap).decide({
      src: { ip: parseIp(OUTSIDE)! },
      dst: { endpoint: named, port: 80 },
      protocol: TCP,
    });
    assert.equal(d.ingress?.endpoint, 'hostendpoint a-eth0');
    assert.match(
      d.caveats?.[0] ?? '',
      /host endpoint hostendpoint b-eth0 does not apply: hostendpoint a-eth0/,
    );
  });

  it('an endpoint matched by address competes with the one naming the interface', () => {
    const idx = new HostEndpointIndex(buildSnapshot([prod, a, b, byIp]).endpoints);
    const names = [...(idx.byNode.get('node1') ?? [])].map((e) => idx.inForce(e).key.name);
    assert.deepEqual(names, ['0-by-ip', '0-by-ip', '0-by-ip']);
  });

  it('two * endpoints: the lower name applies, to forwarded traffic too', () => {
    const allA = hep('all-a', { node: 'node1', interfaceName: '*' }, { role: 'all-a' });
    const allZ = hep('all-z', { node: 'node1', interfaceName: '*' }, { role: 'all-z' });
    const fwdDeny = (name: string, selector: string) =>
      gnp(name, { selector, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny' }] });
    const other = pod('prod', 'other', '10.0.0.21', {}, { node: 'node1' });
    const decide = forwardDecider([prod, local, other, allZ, allA, fwdDeny('z-deny', "role == 'all-z'")]);
    const d = decide({ from: LOCAL, to: '10.0.0.21', protocol: TCP, port: 80 });
    assert.equal(d.verdict, 'Allow', 'all-z is ignored');
    assert.deepEqual(
      d.forward?.map((t) => t.endpoint),
      ['hostendpoint all-a', 'hostendpoint all-a'],
    );
    const decideA = forwardDecider([prod, local, other, allZ, allA, fwdDeny('a-deny', "role == 'all-a'")]);
    assert.equal(decideA({ from: LOCAL, to: '10.0.0.21', protocol: TCP, port: 80 }).verdict, 'Deny');
  });
});

describe('host and its own workloads', () => {
  it("a host's traffic to its own workloads is not policed at either end", () => {
    const decide = decider([...base, denyAll('closed', "role == 'eth0' || app == 'local'")]);
    const d = decide(NODE, LOCAL, TCP, 80);
    assert.equal(d.verdict, 'Allow');
    assert.deepEqual(by(d.egress), { kind: 'hostToLocalWorkload' });
    assert.deepEqual(by(d.ingress), { kind: 'hostToLocalWorkload' });
    assert.ok(
      formatDecision(d).includes(
        "ingress of prod/local: ALLOW, allowed: Calico does not police a host's traffic to its own workloads (neither host endpoint egress nor workload ingress policy applies)",
      ),
      formatDecision(d).join('\n'),
    );
    // To a workload on another node both apply.
    const far = decide(NODE, '10.0.1.20', TCP, 80);
    assert.deepEqual(rule(by(far.egress)), ['normal', 'closed', 0, 'Deny']);
  });

  it('defaultEndpointToHostAction Return hands workload traffic back to INPUT: no host endpoint policy', () => {
    const inputs = [...base, denyAll('closed', "role == 'eth0'"), allowAll('open', "app == 'local'")];
    const d = decider(inputs, { endpointToHostAction: 'Return' })(LOCAL, NODE, TCP, 80);
    assert.equal(d.verdict, 'Allow');
    assert.deepEqual(by(d.ingress), { kind: 'endpointToHost', action: 'Return' });
    assert.equal(decider(inputs)(LOCAL, NODE, TCP, 80).verdict, 'Deny');
  });
});
