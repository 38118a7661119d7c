import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkDnsLabel,
  checkGlobalNetworkPolicyName,
  checkInterfaceName,
  checkLabelValue,
  checkMac,
  checkNetworkPolicyName,
  checkPortName,
  checkQualifiedName,
  checkSubdomain,
} from './names.js';

function valid(check: (s: string) => string | undefined, ok: string[], bad: string[]): void {
  for (const s of ok) assert.equal(check(s), undefined, `${JSON.stringify(s)} should be valid`);
  for (const s of bad) {
    const problem = check(s);
    assert.ok(problem !== undefined, `${JSON.stringify(s)} should be invalid`);
    if (s !== '') assert.ok(problem.includes(JSON.stringify(s).slice(0, 20)), problem);
  }
}

describe('name rules', () => {
  it('DNS-1123 subdomain', () => {
    valid(
      checkSubdomain,
      ['a', 'a-b.c', '0a', 'x'.repeat(253)],
      ['', 'A', 'a_b', '-a', 'a.', 'a..b', 'x'.repeat(254)],
    );
  });

  it('DNS label', () => {
    valid(checkDnsLabel, ['a', 'a-b', 'x'.repeat(63)], ['', 'a.b', 'x'.repeat(64), 'a-']);
  });

  it('(global) network policy names', () => {
    valid(checkGlobalNetworkPolicyName, ['a', 'a.b'], ['a.b.c', 'knp.default.x', 'A']);
    valid(
      checkNetworkPolicyName,
      ['a', 'a.b', 'knp.default.a.b.c', 'ossg.default.x'],
      ['a.b.c', 'knp.other.a.b'],
    );
  });

  it('qualified names and label values', () => {
    valid(
      checkQualifiedName,
      ['a', 'A_b.c-d', 'example.com/x', 'x'.repeat(63)],
      ['', '/a', 'a/', 'a/b/c', 'Ex.com/a', '_a', 'x'.repeat(64)],
    );
    valid(checkLabelValue, ['', 'a', 'A.b_c-d', 'x'.repeat(63)], ['-a', 'a b', 'x'.repeat(64)]);
  });

  it('port names', () => {
    valid(
      checkPortName,
      ['http', 'h2c', 'dns-tcp', 'x'.repeat(15)],
      ['', 'HTTP', '80', 'a--b', '-a', 'x'.repeat(16)],
    );
  });

  it('interface names and MACs', () => {
    valid(
      (s) => checkInterfaceName(s, true),
      ['*', 'eth0', 'cali1234567890a', 'br-1.2_x'],
      ['', 'eth0:1', 'x'.repeat(16)],
    );
    assert.notEqual(checkInterfaceName('*', false), undefined);
    valid(
      checkMac,
      ['ee:ee:ee:ee:ee:ee', 'EE-EE-EE-EE-EE-EE', '0000.5e00.5301'],
      ['ee:ee', 'ee:ee:ee:ee:ee:eg', 'ee:ee-ee:ee:ee:ee'],
    );
  });
});
