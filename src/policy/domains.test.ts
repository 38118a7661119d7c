import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsNameCache } from '../model/dns-cache.js';
import type { DirectionTrace } from './trace.js';
import { decider, gnp, gns, netset, np, ns, pod } from './testing.js';

const TCP = 6;

function egressHit(t: DirectionTrace | undefined) {
  const by = t?.decidedBy;
  assert.ok(by?.kind === 'rule', `decided by ${JSON.stringify(by)}`);
  return by.hit;
}

describe('DNS policy in the reference evaluator', () => {
  const app = pod('prod', 'app', '10.0.0.10', { app: 'web' });
  const denyAllEgress = np('prod', 'default-deny', { selector: 'all()', types: ['Egress'], egress: [] });
  const allowDomains = np('prod', 'allow-example', {
    order: 10,
    selector: "app == 'web'",
    types: ['Egress'],
    egress: [
      {
        action: 'Allow',
        protocol: 'TCP',
        destination: { domains: ['*.Example.com', 'api.test'], ports: [443] },
      },
    ],
  });
  let t = 0;
  const cache = new DnsNameCache({ now: () => t, extraTtlMs: 0 });
  cache.addAddress('api.example.com', '198.51.100.1', 60);
  cache.addCname('www.example.com', 'edge.cdn.test', 60);
  cache.addAddress('edge.cdn.test', '2001:db8::7', 60);
  cache.addAddress('evil.test', '203.0.113.66', 60);
  const decide = decider([ns('prod'), app, denyAllEgress, allowDomains], { resolvedNames: cache });

  it('allows an address mapped from a matching name and names the pattern and the name', () => {
    const d = decide('10.0.0.10', '198.51.100.1', TCP, 443);
    assert.equal(d.verdict, 'Allow');
    assert.deepEqual(egressHit(d.egress).domain, { pattern: '*.example.com', name: 'api.example.com' });
  });

  it('follows CNAME chains to IPv6 addresses', () => {
    const d = decide('10.0.0.10', '2001:db8::7', TCP, 443);
    assert.equal(d.verdict, 'Allow');
    assert.equal(egressHit(d.egress).domain?.name, 'www.example.com');
  });

  it('denies names that do not match, other ports, and unknown addresses', () => {
    assert.equal(decide('10.0.0.10', '203.0.113.66', TCP, 443).verdict, 'Deny');
    assert.equal(decide('10.0.0.10', '198.51.100.1', TCP, 80).verdict, 'Deny');
    assert.equal(decide('10.0.0.10', '192.0.2.200', TCP, 443).verdict, 'Deny');
  });

  it('denies once the mapping expires (a new connection needs a new lookup)', () => {
    t = 60_000;
    try {
      assert.equal(decide('10.0.0.10', '198.51.100.1', TCP, 443).verdict, 'Deny');
    } finally {
      t = 0;
    }
  });

  it('without a resolved-name view, domain rules match nothing (fail closed)', () => {
    const noNames = decider([ns('prod'), app, denyAllEgress, allowDomains]);
    assert.equal(noNames('10.0.0.10', '198.51.100.1', TCP, 443).verdict, 'Deny');
  });
});

describe("network sets' allowedEgressDomains", () => {
  const app = pod('prod', 'app', '10.0.0.10', { app: 'web' });
  const set = gns('saas', [], { role: 'saas' });
  const saas = { ...set, spec: { allowedEgressDomains: ['*.saas.test'] } };
  const nsSet = netset('prod', 'partners', ['192.0.2.0/24'], { role: 'partner' });
  const partners = { ...nsSet, spec: { ...nsSet.spec, allowedEgressDomains: ['partner.test'] } };
  const names = new DnsNameCache({ now: () => 0 });
  names.addAddress('eu.saas.test', '198.51.100.20', 300);
  names.addAddress('partner.test', '198.51.100.30', 300);
  const allowBySelector = gnp('allow-sets', {
    selector: 'all()',
    types: ['Egress', 'Ingress'],
    egress: [{ action: 'Allow', destination: { selector: "role in {'saas', 'partner'}" } }],
    ingress: [{ action: 'Allow', source: { selector: "role == 'saas'" } }],
  });
  const denyBySelector = gnp('deny-sets', {
    order: 1,
    selector: 'all()',
    types: ['Egress'],
    egress: [{ action: 'Deny', destination: { selector: "role == 'saas'" } }],
  });
  const decide = decider([ns('prod'), app, saas, partners, allowBySelector], { resolvedNames: names });

  it('apply when an egress Allow rule selects the set, naming the set', () => {
    const d = decide('10.0.0.10', '198.51.100.20', TCP, 443);
    assert.equal(d.verdict, 'Allow');
    assert.deepEqual(egressHit(d.egress).domain, {
      pattern: '*.saas.test',
      name: 'eu.saas.test',
      networkSet: 'GlobalNetworkSet saas',
    });
    assert.equal(
      egressHit(decide('10.0.0.10', '198.51.100.30', TCP, 443).egress).domain?.networkSet,
      'NetworkSet prod/partners',
    );
    assert.equal(decide('10.0.0.10', '192.0.2.5', TCP, 443).verdict, 'Allow', "the set's nets still count");
    assert.equal(decide('10.0.0.10', '198.51.100.99', TCP, 443).verdict, 'Deny');
  });

  it('have no effect in ingress rules or in rules whose action is not Allow', () => {
    const inbound = decide('198.51.100.20', '10.0.0.10', TCP, 80);
    assert.equal(inbound.ingress?.decidedBy.kind, 'endOfTier');
    const withDeny = decider([ns('prod'), app, saas, denyBySelector, allowBySelector], {
      resolvedNames: names,
    });
    const d = withDeny('10.0.0.10', '198.51.100.20', TCP, 443);
    assert.equal(d.verdict, 'Allow');
    assert.equal(
      egressHit(d.egress).policyName,
      'allow-sets',
      'the Deny rule did not match the domain address',
    );
  });

  it('a namespaced NetworkSet counts for NetworkPolicies of its own namespace only (as the calc graph does)', () => {
    const other = pod('other', 'app', '10.0.0.11', { app: 'web' });
    const toPartner = (namespace: string) =>
      np(namespace, 'to-partner', {
        selector: "app == 'web'",
        types: ['Egress'],
        egress: [{ action: 'Allow', destination: { selector: "role == 'partner'" } }],
      });
    const d = decider(
      [ns('prod'), ns('other'), app, other, partners, toPartner('prod'), toPartner('other')],
      {
        resolvedNames: names,
      },
    );
    assert.equal(d('10.0.0.10', '198.51.100.30', TCP, 443).verdict, 'Allow');
    assert.equal(d('10.0.0.11', '198.51.100.30', TCP, 443).verdict, 'Deny');
  });

  it("the rule's other matches still apply, and named ports alone do not bring the set's domains", () => {
    const rule = (destination: Record<string, unknown>) =>
      decider(
        [
          ns('prod'),
          app,
          saas,
          gnp('ports', {
            selector: 'all()',
            types: ['Egress'],
            egress: [
              {
                action: 'Allow',
                protocol: 'TCP',
                destination: { selector: "role == 'saas'", ...destination },
              },
            ],
          }),
        ],
        { resolvedNames: names },
      );
    assert.equal(rule({ ports: [443] })('10.0.0.10', '198.51.100.20', TCP, 443).verdict, 'Allow');
    assert.equal(rule({ ports: [443] })('10.0.0.10', '198.51.100.20', TCP, 80).verdict, 'Deny');
    assert.equal(rule({ ports: ['https'] })('10.0.0.10', '198.51.100.20', TCP, 443).verdict, 'Deny');
  });
});
