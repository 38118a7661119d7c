import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RuleMsg } from '../../calc/messages.js';
import { EMPTY_RULE } from '../../calc/testing.js';
import { expandLogPrefix, renderRule } from './rule.js';

const EMPTY: RuleMsg = EMPTY_RULE;
const ALLOW = 'meta mark set meta mark | 0x00010000 return';

describe('rule rendering', () => {
  it('an empty Allow rule is one family-independent rule', () => {
    assert.deepEqual(renderRule(EMPTY), [ALLOW]);
  });

  it('actions: Pass, Deny (Drop or Reject), Log', () => {
    assert.deepEqual(renderRule({ ...EMPTY, action: 'pass' }), [
      'meta mark set meta mark | 0x00020000 return',
    ]);
    assert.deepEqual(renderRule({ ...EMPTY, action: 'deny' }), ['drop']);
    assert.deepEqual(renderRule({ ...EMPTY, action: 'deny' }, { denyAction: 'Reject', logPrefix: 'x' }), [
      'reject with icmpx admin-prohibited',
    ]);
    assert.deepEqual(renderRule({ ...EMPTY, action: 'log' }), [
      'log prefix "calico-packet: " level info log prefix "calico-packet: " group 20',
    ]);
  });

  it('Log: rate limit, prefix specifiers, and a prefix that cannot break out of its string', () => {
    const log = { ...EMPTY, action: 'log' as const, protocol: 6 };
    const opts = { denyAction: 'Drop' as const, logPrefix: 'p', logActionRateLimit: '10/second' };
    assert.deepEqual(renderRule(log, { ...opts, logActionRateLimitBurst: 7 }), [
      'meta l4proto 6 limit rate 10/second burst 7 packets log prefix "p: " level info log prefix "p: " group 20',
    ]);
    assert.deepEqual(renderRule(log, { denyAction: 'Drop', logPrefix: 'a"b\\c\nd' }), [
      'meta l4proto 6 log prefix "abcd: " level info log prefix "abcd: " group 20',
    ]);
    const long = renderRule(log, { denyAction: 'Drop', logPrefix: 'x'.repeat(300) })[0] ?? '';
    assert.equal(/log prefix "(x*): "/.exec(long)?.[1]?.length, 125);
    const policy = { kind: 'policy', id: 'np/shop/allow-web', tier: 'security' } as const;
    assert.equal(expandLogPrefix('%t %k %n %p %x', policy), 'security np allow-web shop/allow-web %x');
    assert.equal(
      expandLogPrefix('%k:%p', { kind: 'policy', id: 'gnp/deny-all', tier: 'default' }),
      'gnp:deny-all',
    );
    assert.equal(expandLogPrefix('%k/%n', { kind: 'profile', id: 'kns.shop' }), 'pro/kns.shop');
    assert.equal(expandLogPrefix('calico-packet', policy), 'calico-packet');
  });

  it('selector sets render per family; ports follow the protocol', () => {
    const r: RuleMsg = {
      ...EMPTY,
      protocol: 6,
      srcIpSetIds: ['s:abc'],
      dstPorts: [
        { first: 80, last: 80 },
        { first: 8000, last: 8080 },
      ],
    };
    assert.deepEqual(renderRule(r), [
      `meta l4proto 6 ip saddr @cali40s-abc th dport { 80, 8000-8080 } ${ALLOW}`,
      `meta l4proto 6 ip6 saddr @cali60s-abc th dport { 80, 8000-8080 } ${ALLOW}`,
    ]);
  });

  it('nets restrict the rule to their family, notNets exclude', () => {
    const r: RuleMsg = {
      ...EMPTY,
      action: 'deny',
      srcNets: ['10.0.0.0/8'],
      notSrcNets: ['10.1.0.0/16', 'fd00::/8'],
    };
    assert.deepEqual(renderRule(r), ['ip saddr 10.0.0.0/8 ip saddr != 10.1.0.0/16 drop']);
    // notNets of one family only: the other family's variant matches that whole family, and only it.
    const onlyNot: RuleMsg = { ...EMPTY, protocol: 17, notDstNets: ['10.244.10.1/32'] };
    assert.deepEqual(renderRule(onlyNot), [
      `meta l4proto 17 ip daddr != 10.244.10.1/32 ${ALLOW}`,
      `meta nfproto ipv6 meta l4proto 17 ${ALLOW}`,
    ]);
    const both: RuleMsg = { ...EMPTY, dstNets: ['10.0.0.0/8', 'fd00::/8'] };
    assert.deepEqual(renderRule(both), [`ip daddr 10.0.0.0/8 ${ALLOW}`, `ip6 daddr fd00::/8 ${ALLOW}`]);
  });

  it('numeric and named ports are alternatives; named-port sets stand without the selector set', () => {
    const r: RuleMsg = {
      ...EMPTY,
      protocol: 6,
      dstIpSetIds: ['s:sel'],
      dstPorts: [{ first: 80, last: 80 }],
      dstNamedPortIpSetIds: ['n:http'],
      ipVersion: 4,
    };
    assert.deepEqual(renderRule(r), [
      `meta nfproto ipv4 meta l4proto 6 ip daddr @cali40s-sel th dport 80 ${ALLOW}`,
      `meta nfproto ipv4 meta l4proto 6 ip daddr . meta l4proto . th dport @cali40n-http ${ALLOW}`,
    ]);
  });

  it('negated selectors, ports and named ports', () => {
    const r: RuleMsg = {
      ...EMPTY,
      protocol: 17,
      notSrcIpSetIds: ['s:x'],
      notDstPorts: [{ first: 53, last: 53 }],
      notDstNamedPortIpSetIds: ['n:dns'],
    };
    assert.deepEqual(renderRule(r), [
      `meta l4proto 17 ip saddr != @cali40s-x th dport != 53 ip daddr . meta l4proto . th dport != @cali40n-dns ${ALLOW}`,
      `meta l4proto 17 ip6 saddr != @cali60s-x th dport != 53 ip6 daddr . meta l4proto . th dport != @cali60n-dns ${ALLOW}`,
    ]);
  });

  it('ICMP type and code only in the matching family; notICMP', () => {
    assert.deepEqual(renderRule({ ...EMPTY, protocol: 1, icmpType: 8, icmpCode: 0 }), [
      `meta l4proto 1 icmp type 8 icmp code 0 ${ALLOW}`,
    ]);
    assert.deepEqual(renderRule({ ...EMPTY, protocol: 58, icmpType: 128, srcNets: ['fd00::/8'] }), [
      `meta l4proto 58 ip6 saddr fd00::/8 icmpv6 type 128 ${ALLOW}`,
    ]);
    assert.deepEqual(renderRule({ ...EMPTY, protocol: 1, icmpType: 8, srcNets: ['fd00::/8'] }), []);
    assert.deepEqual(renderRule({ ...EMPTY, protocol: 1, notIcmpType: 3, notIcmpCode: 1 }), [
      `meta l4proto 1 icmp type . icmp code != { 3 . 1 } ${ALLOW}`,
    ]);
  });

  it('ipVersion without addresses uses meta nfproto; notProtocol', () => {
    assert.deepEqual(renderRule({ ...EMPTY, ipVersion: 6, notProtocol: 6 }), [
      `meta nfproto ipv6 meta l4proto != 6 ${ALLOW}`,
    ]);
  });
});
