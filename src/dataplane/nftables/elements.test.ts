import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { cidrCovers, cidrsOverlap, parseCidr } from '../../lib/net/ip.js';
import {
  canonicalElement,
  kernelElement,
  kernelVerdict,
  normaliseElements,
  renderElement,
} from './elements.js';

function canon(type: Parameters<typeof canonicalElement>[0], interval: boolean, raw: string): string {
  const r = canonicalElement(type, interval, raw);
  assert.ok(r.ok, `${raw}: ${r.ok ? '' : r.error}`);
  return r.value;
}

describe('canonicalElement', () => {
  test('addresses and prefixes', () => {
    assert.equal(canon('ipv4_addr', false, ' 10.0.0.1 '), '10.0.0.1');
    assert.equal(canon('ipv4_addr', false, '10.0.0.1/32'), '10.0.0.1');
    assert.equal(canon('ipv4_addr', true, '10.1.2.3/8'), '10.0.0.0/8');
    assert.equal(canon('ipv6_addr', true, '2001:DB8:0:0::/32'), '2001:db8::/32');
    assert.equal(canon('ipv6_addr', false, 'fe80:0:0:0:1:0:0:1'), 'fe80::1:0:0:1');
    assert.equal(canonicalElement('ipv4_addr', false, '10.0.0.0/8').ok, false);
    assert.equal(canonicalElement('ipv4_addr', true, '2001:db8::1').ok, false);
    assert.equal(canonicalElement('ipv6_addr', false, '10.0.0.1').ok, false);
  });

  test('ports, ranges, concatenations and interface names', () => {
    assert.equal(canon('inet_service', false, '80'), '80');
    assert.equal(canonicalElement('inet_service', false, '080').ok, false);
    assert.equal(canon('inet_service', true, '8080 - 8090'), '8080-8090');
    assert.equal(canon('inet_service', true, '53-53'), '53');
    assert.equal(canonicalElement('inet_service', false, '1-2').ok, false);
    assert.equal(canonicalElement('inet_service', true, '9-2').ok, false);
    assert.equal(canonicalElement('inet_service', false, '65536').ok, false);
    assert.equal(
      canon('ipv4_addr . inet_proto . inet_service', false, '10.0.0.1 . TCP . 80'),
      '10.0.0.1 . 6 . 80',
    );
    assert.equal(canon('ipv6_addr . inet_proto . inet_service', false, '::1 . 17 . 53'), '::1 . 17 . 53');
    assert.equal(
      canonicalElement('ipv4_addr . inet_proto . inet_service', false, '10.0.0.1 . foo . 80').ok,
      false,
    );
    assert.equal(canon('ifname', false, 'cali1234567890a'), 'cali1234567890a');
    assert.equal(canonicalElement('ifname', false, 'cali1234567890ab').ok, false);
    assert.equal(canonicalElement('ifname', false, 'a"b').ok, false);
  });
});

describe('normaliseElements', () => {
  test('drops prefixes covered by another member', () => {
    assert.deepEqual(
      normaliseElements('ipv4_addr', true, [
        '10.1.0.0/16',
        '10.0.0.0/8',
        '10.0.0.5',
        '192.168.0.0/24',
        '192.168.0.0/24',
      ]),
      ['10.0.0.0/8', '192.168.0.0/24'],
    );
  });

  test('keeps adjacent prefixes', () => {
    assert.deepEqual(normaliseElements('ipv4_addr', true, ['10.0.0.128/25', '10.0.0.0/25']), [
      '10.0.0.0/25',
      '10.0.0.128/25',
    ]);
  });

  test('merges overlapping port ranges, keeps adjacent ones', () => {
    assert.deepEqual(
      normaliseElements('inet_service', true, ['8085-8100', '80', '8080-8090', '443', '444-445']),
      ['80', '443', '444-445', '8080-8100'],
    );
  });

  test('leaves non-interval sets alone', () => {
    assert.deepEqual(normaliseElements('ipv4_addr', false, ['10.0.0.2', '10.0.0.1']), [
      '10.0.0.2',
      '10.0.0.1',
    ]);
  });

  test('property: the cover is non-overlapping, drawn from the input, and covers every input prefix', () => {
    const prefix = fc
      .tuple(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 4, max: 32 }),
      )
      .map(([a, b, len]) => canon('ipv4_addr', true, `10.${a}.${b}.0/${len}`));
    fc.assert(
      fc.property(fc.array(prefix, { maxLength: 40 }), (input) => {
        const out = normaliseElements('ipv4_addr', true, new Set(input));
        const cidrs = out.map((e) => parseCidr(e)!);
        for (let i = 0; i < cidrs.length; i++) {
          for (let j = i + 1; j < cidrs.length; j++)
            assert.ok(!cidrsOverlap(cidrs[i]!, cidrs[j]!), `${out[i]} ~ ${out[j]}`);
        }
        for (const e of out) assert.ok(input.includes(e));
        for (const e of input)
          assert.ok(
            cidrs.some((c) => cidrCovers(c, parseCidr(e)!)),
            e,
          );
      }),
    );
  });
});

describe('kernel elements', () => {
  test('JSON from nft -j -p maps to the same canonical strings', () => {
    assert.equal(kernelElement('ipv4_addr', { prefix: { addr: '10.0.0.0', len: 8 } }), '10.0.0.0/8');
    assert.equal(kernelElement('ipv4_addr', { prefix: { addr: '10.0.0.1', len: 32 } }), '10.0.0.1');
    assert.equal(kernelElement('ipv6_addr', '2001:0db8::1'), '2001:db8::1');
    assert.equal(kernelElement('inet_service', 80), '80');
    assert.equal(kernelElement('inet_service', { range: [8080, 8090] }), '8080-8090');
    assert.equal(
      kernelElement('ipv6_addr . inet_proto . inet_service', { concat: ['2001:db8::1', 6, 53] }),
      '2001:db8::1 . 6 . 53',
    );
    assert.equal(
      kernelElement('ipv4_addr . inet_proto . inet_service', { concat: ['10.0.0.1', 'udp', 53] }),
      '10.0.0.1 . 17 . 53',
    );
    assert.equal(kernelElement('ifname', 'cali1'), 'cali1');
    assert.equal(kernelElement('ipv4_addr', { elem: { val: '10.0.0.1', comment: 'x' } }), '10.0.0.1');
    assert.equal(kernelElement('ipv4_addr', { range: ['10.0.0.1', '10.0.0.5'] }), undefined);
    assert.equal(kernelElement('ipv4_addr', '2001:db8::1'), undefined);
  });

  test('verdicts', () => {
    assert.equal(kernelVerdict({ goto: { target: 'filter-x' } }), 'goto filter-x');
    assert.equal(kernelVerdict({ drop: null }), 'drop');
    assert.equal(kernelVerdict({ queue: {} }), undefined);
  });

  test('rendering quotes interface names only', () => {
    assert.equal(renderElement('ifname', 'cali1'), '"cali1"');
    assert.equal(renderElement('ipv4_addr', '10.0.0.0/8'), '10.0.0.0/8');
  });
});
