import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { domainSetId } from '../../calc/domain-sets.js';
import { EMPTY_RULE } from '../../calc/testing.js';
import { parseIp } from '../../lib/net/ip.js';
import { renderDomainSetDeclaration, renderDomainSetElements } from './domain-sets.js';
import { domainSetName, ipSetName } from './names.js';
import { renderRule } from './rule.js';

const ip = (s: string) => {
  const p = parseIp(s);
  if (p === undefined) throw new Error(s);
  return p;
};

describe('domain set rendering', () => {
  const id = domainSetId(['*.example.com']);
  const v4 = domainSetName(4, id);
  const v6 = domainSetName(6, id);

  it('names a set per family in the IP-set style, within 31 characters', () => {
    assert.match(v4, /^cali40d-[A-Za-z0-9_-]+$/);
    assert.match(v6, /^cali60d-/);
    assert.ok(v4.length <= 31);
  });

  it('declares sets with per-element timeouts and renders elements with their remaining lifetime', () => {
    assert.equal(
      renderDomainSetDeclaration(4, id),
      `add set inet calico ${v4} { type ipv4_addr; flags timeout; }`,
    );
    assert.equal(
      renderDomainSetDeclaration(6, id),
      `add set inet calico ${v6} { type ipv6_addr; flags timeout; }`,
    );
    const addrs = [
      { ip: ip('192.0.2.1'), timeoutMs: 30_500 },
      { ip: ip('2001:db8::1'), timeoutMs: 10 },
    ];
    assert.deepEqual(renderDomainSetElements(4, id, addrs), [
      `add element inet calico ${v4} { 192.0.2.1 timeout 31s }`,
    ]);
    assert.deepEqual(renderDomainSetElements(6, id, addrs), [
      `add element inet calico ${v6} { 2001:db8::1 timeout 1s }`,
    ]);
    assert.deepEqual(renderDomainSetElements(6, id, addrs.slice(0, 1)), []);
  });

  it('a rule with a domain set matches the destination against it in each family, ANDed with ports', () => {
    const rule = { ...EMPTY_RULE, protocol: 6, dstPorts: [{ first: 443, last: 443 }], dstDomainSetId: id };
    const out = renderRule(rule);
    assert.equal(out.length, 2);
    assert.match(out[0] ?? '', new RegExp(`^meta l4proto 6 ip daddr @${v4} th dport 443 `));
    assert.match(out[1] ?? '', new RegExp(`^meta l4proto 6 ip6 daddr @${v6} th dport 443 `));
  });

  it("network sets' domains: a second rule with the domain set in the selector set's place, same action", () => {
    const sel = 's:abcdefghijklmnopqrstuvwxyz0123456789AB';
    const base = { ...EMPTY_RULE, protocol: 6, dstIpSetIds: [sel], notDstNets: ['10.0.0.0/8'] };
    const rule = {
      ...base,
      dstPorts: [{ first: 443, last: 443 }],
      dstNamedPortIpSetIds: ['n:https'],
      dstSelectorDomainSetId: id,
    };
    const accept = 'meta mark set meta mark | 0x00010000 return';
    assert.deepEqual(renderRule(rule).slice(0, 3), [
      `meta l4proto 6 ip daddr != 10.0.0.0/8 ip daddr @${ipSetName(4, sel)} th dport 443 ${accept}`,
      `meta l4proto 6 ip daddr != 10.0.0.0/8 ip daddr @${v4} th dport 443 ${accept}`,
      // Named-port sets hold endpoints only: no domain alternative for them.
      `meta l4proto 6 ip daddr != 10.0.0.0/8 ip daddr . meta l4proto . th dport @${ipSetName(4, 'n:https')} ${accept}`,
    ]);
    assert.equal(renderRule(rule).length, 6, 'and the same three for IPv6');
    // Without ports, and ANDed with the rule's own domains.
    const both = { ...base, action: 'deny' as const, dstDomainSetId: 'd:own', dstSelectorDomainSetId: id };
    const own = domainSetName(4, 'd:own');
    assert.deepEqual(
      renderRule(both).filter((r) => r.includes('ip daddr')),
      [
        `meta l4proto 6 ip daddr != 10.0.0.0/8 ip daddr @${own} ip daddr @${ipSetName(4, sel)} drop`,
        `meta l4proto 6 ip daddr != 10.0.0.0/8 ip daddr @${own} ip daddr @${v4} drop`,
      ],
    );
    // No domain set: exactly the rule as before.
    assert.equal(renderRule(base).length, 2);
  });
});
