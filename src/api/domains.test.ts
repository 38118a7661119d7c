import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalDomain, checkDomainPattern, parseTrustedDnsServer } from './domains.js';
import { decodeOk, doc, expectIssue, gnp, np } from './testing.js';
import type { NetworkSet } from './v3/misc.js';
import type { GlobalNetworkPolicy } from './v3/policy.js';

const egress = (rule: unknown): unknown => gnp({ egress: [rule], types: ['Egress'] });

describe('domain patterns', () => {
  it('accept exact names, one wildcard label in any position, a trailing dot, any case', () => {
    for (const ok of [
      'example.com',
      'API.Example.COM.',
      '*.example.com',
      'www.*.com',
      'update.*',
      '*',
      'a_b.x-y.io',
    ]) {
      assert.equal(checkDomainPattern(ok), undefined, ok);
    }
    assert.equal(canonicalDomain('API.Example.COM.'), 'api.example.com');
  });

  it('refuse bad labels, partial or repeated wildcards and over-long names, naming the value', () => {
    const cases: [string, string][] = [
      ['', 'empty'],
      ['a..b', 'empty label'],
      ['-a.com', "'-'"],
      ['a-.com', "'-'"],
      ['ex ample.com', '"ex ample.com"'],
      ['w*.example.com', 'whole label'],
      ['*.*.com', 'at most one'],
      [`${'a'.repeat(64)}.com`, 'longer than 63'],
      [Array.from({ length: 64 }, () => 'abc').join('.'), 'too long'],
    ];
    for (const [s, fragment] of cases) {
      const problem = checkDomainPattern(s);
      assert.ok(problem?.includes(fragment), `${JSON.stringify(s)}: ${problem}`);
    }
  });
});

describe('destination.domains in policy rules', () => {
  it('is accepted in egress Allow rules of every policy kind, kept as written', () => {
    const rule = { action: 'Allow', destination: { domains: ['*.Example.com', 'api.test'] } };
    const g = decodeOk(egress(rule)) as GlobalNetworkPolicy;
    assert.deepEqual(g.spec.egress?.[0]?.destination?.domains, ['*.Example.com', 'api.test']);
    decodeOk(np({ egress: [rule], types: ['Egress'] }));
    decodeOk(
      doc('StagedNetworkPolicy', { egress: [rule], types: ['Egress'] }, { name: 'p1', namespace: 'n' }),
    );
    decodeOk(doc('StagedGlobalNetworkPolicy', { egress: [rule], types: ['Egress'] }));
  });

  it('is refused in ingress rules, non-Allow rules, sources and profiles, with the field named', () => {
    const d = { domains: ['example.com'] };
    expectIssue(
      gnp({ ingress: [{ action: 'Allow', destination: d }] }),
      'spec.ingress[0].destination.domains',
      'only allowed in the destination of egress rules with action Allow',
      'ingress rule',
    );
    expectIssue(egress({ action: 'Deny', destination: d }), 'spec.egress[0].destination.domains', '"Deny"');
    expectIssue(egress({ action: 'Pass', destination: d }), 'spec.egress[0].destination.domains', '"Pass"');
    expectIssue(egress({ action: 'Allow', source: d }), 'spec.egress[0].source.domains', 'destination');
    expectIssue(
      doc('Profile', { egress: [{ action: 'Allow', destination: d }] }),
      'spec.egress[0].destination.domains',
      'profile rule',
    );
    expectIssue(
      doc(
        'StagedNetworkPolicy',
        { ingress: [{ action: 'Allow', destination: d }] },
        { name: 'p', namespace: 'n' },
      ),
      'spec.ingress[0].destination.domains',
      'ingress rule',
    );
  });

  it('checks each domain at its index, duplicates and services', () => {
    expectIssue(
      egress({ action: 'Allow', destination: { domains: ['ok.com', 'a*.com'] } }),
      'spec.egress[0].destination.domains[1]',
      '"a*.com"',
    );
    expectIssue(
      egress({ action: 'Allow', destination: { domains: ['a.com', 'a.com'] } }),
      'spec.egress[0].destination.domains[1]',
      'duplicate',
    );
    expectIssue(
      egress({
        action: 'Allow',
        destination: { domains: ['a.com'], services: { name: 's', namespace: 'n' } },
      }),
      'spec.egress[0].destination.services',
      'domains',
    );
  });
});

describe('allowedEgressDomains in network sets', () => {
  it('is accepted in NetworkSet and GlobalNetworkSet and checked per entry', () => {
    const s = decodeOk(
      doc('NetworkSet', { allowedEgressDomains: ['*.example.com'] }, { name: 'ext', namespace: 'ns' }),
    ) as NetworkSet;
    assert.deepEqual(s.spec.allowedEgressDomains, ['*.example.com']);
    expectIssue(
      doc(
        'GlobalNetworkSet',
        { nets: ['1.2.3.4/32'], allowedEgressDomains: ['x.com', 'bad..com'] },
        { name: 'g' },
      ),
      'spec.allowedEgressDomains[1]',
      '"bad..com"',
    );
  });
});

describe('dnsTrustedServers entries', () => {
  it('parse services, addresses and ports as Calico Enterprise writes them', () => {
    assert.deepEqual(parseTrustedDnsServer('k8s-service:kube-dns'), {
      ok: true,
      value: { kind: 'k8s-service', namespace: 'kube-system', name: 'kube-dns' },
    });
    assert.deepEqual(parseTrustedDnsServer('k8s-service:infra/coredns'), {
      ok: true,
      value: { kind: 'k8s-service', namespace: 'infra', name: 'coredns' },
    });
    const v4 = parseTrustedDnsServer('10.96.0.10:5353');
    assert.ok(v4.ok && v4.value.kind === 'address' && v4.value.port === 5353 && v4.value.ip.family === 4);
    const v6 = parseTrustedDnsServer('[fd00::a]:53');
    assert.ok(v6.ok && v6.value.kind === 'address' && v6.value.ip.family === 6);
    const bare6 = parseTrustedDnsServer('fd00::a');
    assert.ok(bare6.ok && bare6.value.kind === 'address' && bare6.value.port === 53);
    for (const bad of [
      'k8s-service:',
      'k8s-service:a/b/c',
      'dns.example.com',
      '10.0.0.1:0',
      '[10.0.0.1]:53',
    ]) {
      assert.equal(parseTrustedDnsServer(bad).ok, false, bad);
    }
  });

  it('FelixConfiguration takes the DNS fields and refuses bad ones with the field named', () => {
    const fc = (spec: unknown): unknown => doc('FelixConfiguration', spec, { name: 'default' });
    const r = decodeOk(
      fc({
        dnsTrustedServers: ['k8s-service:kube-dns', '192.0.2.53', '[fd00::53]:5353'],
        dnsExtraTTL: '30s',
        dnsPolicyMode: 'delaydnsresponse',
        dnsCacheFile: '/var/lib/calico/dns.txt',
        dnsCacheSaveInterval: '90s',
      }),
    ) as { spec: Record<string, unknown> };
    assert.equal(r.spec.dnsPolicyMode, 'DelayDNSResponse');
    assert.equal(r.spec.dnsCacheSaveInterval, '1m30s');
    expectIssue(fc({ dnsTrustedServers: ['kube-dns'] }), 'spec.dnsTrustedServers[0]', '"kube-dns"');
    expectIssue(fc({ dnsPolicyMode: 'Later' }), 'spec.dnsPolicyMode', '"Later"');
    expectIssue(fc({ dnsExtraTTL: 'long' }), 'spec.dnsExtraTTL', '"long"');
  });
});
