import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decider, DirectionTrace } from './trace.js';
import { decider, gnp, gns, hep, netset, np, ns, pod, profile, sa, sgnp, tier } from './testing.js';

const TCP = 6;
const UDP = 17;
const ICMP = 1;

function by(t: DirectionTrace | undefined): Decider {
  assert.ok(t !== undefined, 'direction was not evaluated');
  return t.decidedBy;
}

const base = [ns('prod', { env: 'prod' }), ns('dev', { env: 'dev' }), ns('trusted', { trust: 'yes' })];
const web = pod('prod', 'web', '10.0.0.10', { app: 'web' }, { ports: [{ name: 'http', port: 8080 }] });
const client = pod('dev', 'client', '10.0.1.10', { app: 'client' });
const trustedClient = pod('trusted', 'probe', '10.0.2.10', { app: 'probe' });

describe('tiers, Pass and default actions', () => {
  const security = tier('security', 100);
  const secPolicy = gnp('sec-web', {
    tier: 'security',
    order: 10,
    selector: "app == 'web'",
    types: ['Ingress'],
    ingress: [{ action: 'Pass', source: { namespaceSelector: "trust == 'yes'" } }, { action: 'Deny' }],
  });
  const allowProbe = np('prod', 'allow-probe', {
    selector: "app == 'web'",
    types: ['Ingress'],
    ingress: [{ action: 'Allow', source: { namespaceSelector: 'all()', selector: "app == 'probe'" } }],
  });
  const decide = decider([...base, web, client, trustedClient, security, secPolicy, allowProbe]);

  it('Pass skips to the next tier, whose rule decides', () => {
    const d = decide('10.0.2.10', '10.0.0.10', TCP, 80);
    assert.equal(d.verdict, 'Allow');
    const ing = by(d.ingress);
    assert.ok(ing.kind === 'rule');
    assert.equal(ing.hit.tier, 'default');
    assert.equal(ing.hit.policyName, 'allow-probe');
    assert.equal(ing.hit.ruleIndex, 0);
    const hits = d.ingress?.path.flatMap((e) =>
      e.kind === 'hit' ? [`${e.hit.tier}:${e.hit.policyName}:${e.hit.ruleIndex}:${e.hit.action}`] : [],
    );
    assert.deepEqual(hits, ['security:sec-web:0:Pass', 'default:allow-probe:0:Allow']);
  });

  it('a Deny rule in an earlier tier decides before later tiers', () => {
    const d = decide('10.0.1.10', '10.0.0.10', TCP, 80);
    assert.equal(d.verdict, 'Deny');
    const ing = by(d.ingress);
    assert.ok(ing.kind === 'rule');
    assert.deepEqual(
      [ing.hit.tier, ing.hit.policyName, ing.hit.ruleIndex, ing.hit.action],
      ['security', 'sec-web', 1, 'Deny'],
    );
    // egress of the client is not governed by any policy: its namespace profile allows.
    const eg = by(d.egress);
    assert.deepEqual(eg, { kind: 'profile', profile: 'kns.dev', ruleIndex: 0, action: 'Allow' });
  });

  it('a tier whose policies do not match ends in its default action Deny, naming the tier', () => {
    const only = gnp('sec-only', {
      tier: 'security',
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 'UDP' }],
    });
    const d = decider([...base, web, client, security, only])('10.0.1.10', '10.0.0.10', TCP, 80);
    assert.equal(d.verdict, 'Deny');
    assert.deepEqual(by(d.ingress), { kind: 'endOfTier', tier: 'security', policies: ['sec-only'] });
  });

  it('a tier with default action Pass continues to the next tier and then to profiles', () => {
    const monitor = tier('monitor', 50, 'Pass');
    const watch = gnp('watch', {
      tier: 'monitor',
      selector: 'all()',
      types: ['Ingress'],
      ingress: [{ action: 'Deny', protocol: 'UDP' }],
    });
    const d = decider([...base, web, client, monitor, watch])('10.0.1.10', '10.0.0.10', TCP, 80);
    assert.equal(d.verdict, 'Allow');
    assert.deepEqual(by(d.ingress), { kind: 'profile', profile: 'kns.prod', ruleIndex: 0, action: 'Allow' });
    assert.ok(d.ingress?.path.some((e) => e.kind === 'tierPass' && e.tier === 'monitor'));
    // The same policy's Deny rule still applies to UDP.
    const u = decider([...base, web, client, monitor, watch])('10.0.1.10', '10.0.0.10', UDP, 53);
    assert.equal(u.verdict, 'Deny');
  });

  it('orders policies within a tier by order, then by name', () => {
    const a = gnp('b-allow', {
      order: 5,
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow' }],
    });
    const b = gnp('a-deny', {
      order: 5,
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Deny' }],
    });
    const d = decider([...base, web, client, a, b])('10.0.1.10', '10.0.0.10', TCP, 80);
    const ing = by(d.ingress);
    assert.ok(ing.kind === 'rule');
    assert.equal(ing.hit.policyName, 'a-deny');
    const c = gnp('c-first', {
      order: 1,
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow' }],
    });
    const d2 = decider([...base, web, client, a, b, c])('10.0.1.10', '10.0.0.10', TCP, 80);
    const ing2 = by(d2.ingress);
    assert.ok(ing2.kind === 'rule');
    assert.equal(ing2.hit.policyName, 'c-first');
  });
});

describe('Log, staged and profiles', () => {
  it('Log rules record the hit and evaluation continues', () => {
    const p = gnp('log-then-allow', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Log' }, { action: 'Allow', protocol: 'TCP' }],
    });
    const d = decider([...base, web, client, p])('10.0.1.10', '10.0.0.10', TCP, 80);
    assert.equal(d.verdict, 'Allow');
    const actions = d.ingress?.path.flatMap((e) => (e.kind === 'hit' ? [e.hit.action] : []));
    assert.deepEqual(actions, ['Log', 'Allow']);
  });

  it('staged policies are not enforced but decide the pending trace', () => {
    const s = sgnp('lockdown', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Deny' }],
    });
    const d = decider([...base, web, client, s])('10.0.1.10', '10.0.0.10', TCP, 80);
    assert.equal(d.verdict, 'Allow');
    assert.deepEqual(by(d.ingress), { kind: 'profile', profile: 'kns.prod', ruleIndex: 0, action: 'Allow' });
    assert.equal(d.pending.verdict, 'Deny');
    const pend = by(d.pending.ingress);
    assert.ok(pend.kind === 'rule');
    assert.equal(pend.hit.kind, 'sgnp');
    assert.equal(pend.hit.policyName, 'lockdown');
  });

  it('a staged Delete policy is not evaluated at all', () => {
    const s = sgnp('gone', { stagedAction: 'Delete' });
    const d = decider([...base, web, client, s])('10.0.1.10', '10.0.0.10', TCP, 80);
    assert.equal(d.pending.verdict, 'Allow');
  });

  it('profiles apply in order and an endpoint without profiles is denied', () => {
    const deny = profile('deny-dev', {
      ingress: [{ action: 'Deny', source: { selector: "app == 'client'" } }],
    });
    const wep = {
      apiVersion: 'projectcalico.org/v3' as const,
      kind: 'WorkloadEndpoint' as const,
      metadata: { name: 'n1-k8s-x-eth0', namespace: 'prod', labels: { app: 'x' } },
      spec: { node: 'n1', pod: 'x', ipNetworks: ['10.0.0.99/32'], profiles: ['deny-dev', 'kns.prod'] },
    };
    const decide = decider([...base, client, web, deny, wep]);
    assert.deepEqual(by(decide('10.0.1.10', '10.0.0.99', TCP, 80).ingress), {
      kind: 'profile',
      profile: 'deny-dev',
      ruleIndex: 0,
      action: 'Deny',
    });
    assert.deepEqual(by(decide('10.0.0.10', '10.0.0.99', TCP, 80).ingress), {
      kind: 'profile',
      profile: 'kns.prod',
      ruleIndex: 0,
      action: 'Allow',
    });
    const bare = {
      ...wep,
      metadata: { ...wep.metadata, name: 'n1-k8s-y-eth0' },
      spec: { ...wep.spec, pod: 'y', ipNetworks: ['10.0.0.98/32'], profiles: [] },
    };
    const d = decider([...base, client, bare])('10.0.1.10', '10.0.0.98', TCP, 80);
    assert.deepEqual(by(d.ingress), { kind: 'noProfileAllowed', profiles: [] });
  });
});

describe('host endpoints', () => {
  const host = hep(
    'node1-eth0',
    { node: 'node1', interfaceName: 'eth0', expectedIPs: ['192.168.50.1'] },
    { role: 'node' },
  );
  const outside = '192.168.60.7';

  it('default-denies a host endpoint without profiles, but failsafe ports stay open', () => {
    const decide = decider([host]);
    assert.deepEqual(by(decide(outside, '192.168.50.1', TCP, 80).ingress), {
      kind: 'noProfileAllowed',
      profiles: [],
    });
    assert.deepEqual(by(decide(outside, '192.168.50.1', TCP, 22).ingress), {
      kind: 'failsafe',
      protocol: TCP,
      port: 22,
    });
    assert.deepEqual(by(decide(outside, '192.168.50.1', TCP, 2379).ingress), {
      kind: 'failsafe',
      protocol: TCP,
      port: 2379,
    });
  });

  it('normal, untracked and preDNAT policies apply in their stages', () => {
    const allowWeb = gnp('host-web', {
      selector: "role == 'node'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80, 443] } }],
    });
    const decide = decider([host, allowWeb]);
    const d = decide(outside, '192.168.50.1', TCP, 443);
    assert.equal(d.verdict, 'Allow');
    const ing = by(d.ingress);
    assert.ok(ing.kind === 'rule' && ing.stage === 'normal');
    const untracked = gnp('drop-bad', {
      selector: "role == 'node'",
      doNotTrack: true,
      applyOnForward: true,
      types: ['Ingress'],
      ingress: [{ action: 'Deny', source: { nets: ['192.168.60.0/24'] } }],
    });
    const u = decider([host, allowWeb, untracked])(outside, '192.168.50.1', TCP, 443);
    assert.equal(u.verdict, 'Deny');
    const ub = by(u.ingress);
    assert.ok(ub.kind === 'rule' && ub.stage === 'untracked');
    const pre = gnp('pre', {
      selector: "role == 'node'",
      preDNAT: true,
      applyOnForward: true,
      types: ['Ingress'],
      ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [443] } }],
    });
    const p = decider([host, allowWeb, pre])(outside, '192.168.50.1', TCP, 443);
    const pb = by(p.ingress);
    assert.ok(pb.kind === 'rule' && pb.stage === 'preDNAT' && pb.hit.policyName === 'pre');
    // preDNAT and untracked policies never apply to workload endpoints.
    const w = decider([...base, web, client, pre])('10.0.1.10', '10.0.0.10', TCP, 443);
    assert.equal(w.verdict, 'Allow');
  });

  it('workload to its own host follows defaultEndpointToHostAction', () => {
    const local = pod('prod', 'local', '10.0.0.20', {}, { node: 'node1' });
    const drop = decider([...base, local, host])('10.0.0.20', '192.168.50.1', TCP, 80);
    assert.deepEqual(by(drop.ingress), { kind: 'endpointToHost', action: 'Drop' });
    const accept = decider([...base, local, host], { endpointToHostAction: 'Accept' })(
      '10.0.0.20',
      '192.168.50.1',
      TCP,
      80,
    );
    assert.equal(accept.verdict, 'Allow');
  });
});

describe('network sets, global() and service accounts', () => {
  it('matches source addresses through global network set labels (longest prefixes included)', () => {
    const ext = gns('partners', ['203.0.113.0/24', '198.51.100.0/25'], { role: 'partner' });
    const p = gnp('partners-in', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', source: { selector: "role == 'partner'" } }],
    });
    const decide = decider([...base, web, ext, p]);
    assert.equal(decide('203.0.113.9', '10.0.0.10', TCP, 80).verdict, 'Allow');
    assert.equal(decide('198.51.100.200', '10.0.0.10', TCP, 80).verdict, 'Deny');
    assert.deepEqual(by(decide('198.51.100.200', '10.0.0.10', TCP, 80).ingress), {
      kind: 'endOfTier',
      tier: 'default',
      policies: ['partners-in'],
    });
    assert.equal(decide('198.51.100.7', '10.0.0.10', TCP, 80).egress, undefined);
  });

  it('namespaceSelector global() selects only non-namespaced holders; a namespaced set inherits namespace labels', () => {
    const ext = gns('ext', ['203.0.113.0/24'], { kind: 'ext' });
    const nsSet = netset('dev', 'dev-ext', ['198.51.100.0/24'], { kind: 'ext' });
    const g = gnp('only-global', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', source: { namespaceSelector: 'global()', selector: "kind == 'ext'" } }],
    });
    const decide = decider([...base, web, ext, nsSet, g]);
    assert.equal(decide('203.0.113.1', '10.0.0.10', TCP, 80).verdict, 'Allow');
    assert.equal(decide('198.51.100.1', '10.0.0.10', TCP, 80).verdict, 'Deny');
    const byNs = gnp('dev-sets', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [
        { action: 'Allow', source: { namespaceSelector: "env == 'dev'", selector: "kind == 'ext'" } },
      ],
    });
    const d2 = decider([...base, web, ext, nsSet, byNs]);
    assert.equal(d2('198.51.100.1', '10.0.0.10', TCP, 80).verdict, 'Allow');
    assert.equal(d2('203.0.113.1', '10.0.0.10', TCP, 80).verdict, 'Deny');
  });

  it('serviceAccounts match by name and by service-account labels', () => {
    const api = pod('prod', 'api', '10.0.0.30', { app: 'api' }, { serviceAccount: 'api-sa' });
    const other = pod('prod', 'other', '10.0.0.31', { app: 'api' }, { serviceAccount: 'other-sa' });
    const saObj = sa('prod', 'api-sa', { tier: 'backend' });
    const byName = np('prod', 'sa-names', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', source: { serviceAccounts: { names: ['api-sa'] } } }],
    });
    const decide = decider([...base, web, api, other, saObj, byName]);
    assert.equal(decide('10.0.0.30', '10.0.0.10', TCP, 80).verdict, 'Allow');
    assert.equal(decide('10.0.0.31', '10.0.0.10', TCP, 80).verdict, 'Deny');
    const bySel = np('prod', 'sa-labels', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', source: { serviceAccounts: { selector: "tier == 'backend'" } } }],
    });
    const d2 = decider([...base, web, api, other, saObj, bySel]);
    assert.equal(d2('10.0.0.30', '10.0.0.10', TCP, 80).verdict, 'Allow');
    assert.equal(d2('10.0.0.31', '10.0.0.10', TCP, 80).verdict, 'Deny');
  });
});

describe('protocols, ICMP, notNets and named ports', () => {
  it('ICMP type and code', () => {
    const p = gnp('ping', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 } }],
    });
    const decide = decider([...base, web, client, p]);
    assert.equal(decide('10.0.1.10', '10.0.0.10', ICMP, undefined, { type: 8, code: 0 }).verdict, 'Allow');
    assert.equal(decide('10.0.1.10', '10.0.0.10', ICMP, undefined, { type: 13, code: 0 }).verdict, 'Deny');
    const notIcmp = gnp('no-ts', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 'ICMP', notICMP: { type: 13 } }],
    });
    const d2 = decider([...base, web, client, notIcmp]);
    assert.equal(d2('10.0.1.10', '10.0.0.10', ICMP, undefined, { type: 8 }).verdict, 'Allow');
    assert.equal(d2('10.0.1.10', '10.0.0.10', ICMP, undefined, { type: 13 }).verdict, 'Deny');
  });

  it('protocol numbers equal their names, notProtocol excludes', () => {
    const p = gnp('udp-by-number', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 17 }],
    });
    const decide = decider([...base, web, client, p]);
    assert.equal(decide('10.0.1.10', '10.0.0.10', UDP, 53).verdict, 'Allow');
    assert.equal(decide('10.0.1.10', '10.0.0.10', TCP, 53).verdict, 'Deny');
    const q = gnp('not-tcp', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', notProtocol: 'TCP' }],
    });
    const d2 = decider([...base, web, client, q]);
    assert.equal(d2('10.0.1.10', '10.0.0.10', 132, 9).verdict, 'Allow');
    assert.equal(d2('10.0.1.10', '10.0.0.10', TCP, 9).verdict, 'Deny');
  });

  it('notNets carve out of an allow', () => {
    const p = gnp('not-dev', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', source: { nets: ['10.0.0.0/16'], notNets: ['10.0.1.0/24'] } }],
    });
    const decide = decider([...base, web, client, trustedClient, p]);
    assert.equal(decide('10.0.1.10', '10.0.0.10', TCP, 80).verdict, 'Deny');
    assert.equal(decide('10.0.2.10', '10.0.0.10', TCP, 80).verdict, 'Allow');
  });

  it('named ports resolve against the destination endpoint, TCP by default', () => {
    const other = pod(
      'prod',
      'other',
      '10.0.0.11',
      { app: 'web' },
      { ports: [{ name: 'http', port: 9090 }] },
    );
    const p = gnp('http', {
      selector: "app == 'web'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', destination: { ports: ['http'] } }],
    });
    const decide = decider([...base, web, other, client, p]);
    assert.equal(decide('10.0.1.10', '10.0.0.10', TCP, 8080).verdict, 'Allow');
    assert.equal(decide('10.0.1.10', '10.0.0.10', TCP, 9090).verdict, 'Deny');
    assert.equal(decide('10.0.1.10', '10.0.0.11', TCP, 9090).verdict, 'Allow');
    assert.equal(decide('10.0.1.10', '10.0.0.10', UDP, 8080).verdict, 'Deny');
  });
});
