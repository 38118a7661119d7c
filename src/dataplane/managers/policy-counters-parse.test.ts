import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseNflogRuleCounters } from './policy-counters-parse.js';

/** A listing shaped as `nft -j -p list table inet calico` prints it (nft 1.0.6). */
function listing(rules: readonly { chain: string; handle: number; expr: unknown[] }[]): string {
  return JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'calico', handle: 7 } },
      { chain: { family: 'inet', table: 'calico', name: 'cali-tier-x', handle: 1 } },
      ...rules.map((r) => ({ rule: { family: 'inet', table: 'calico', ...r } })),
    ],
  });
}

const match = {
  match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '10.0.0.1' },
};
const counter = (packets: number, bytes: number): unknown => ({ counter: { packets, bytes } });
const log = (prefix: string, group?: number): unknown => ({
  log: { prefix, ...(group === undefined ? {} : { group, snaplen: 80 }) },
});

describe('parseNflogRuleCounters', () => {
  test('keeps the rules that count and log to group 1 or 2, with chain, handle, direction and values', () => {
    const text = listing([
      {
        chain: 'c',
        handle: 2,
        expr: [match, counter(3, 180), log('API0|gnp/allow-dns', 2), { return: null }],
      },
      { chain: 'c', handle: 3, expr: [counter(5, 300), log('DPI|default', 1), { drop: null }] },
      // Group 3 (DNS), a plain log (the Log action) and a rule without a counter are not policy counters.
      { chain: 'c', handle: 4, expr: [counter(1, 60), log('ARI0|kns.a', 3), { accept: null }] },
      { chain: 'c', handle: 5, expr: [counter(1, 60), log('calico-packet'), { accept: null }] },
      { chain: 'c', handle: 6, expr: [log('DRE', 2), { drop: null }] },
      { chain: 'c', handle: 7, expr: [match, counter(9, 900), { accept: null }] },
    ]);
    const r = parseNflogRuleCounters(text);
    assert.ok(r.ok);
    assert.deepEqual(r.value, [
      { chain: 'c', handle: 2, direction: 'egress', prefix: 'API0|gnp/allow-dns', packets: 3, bytes: 180 },
      { chain: 'c', handle: 3, direction: 'ingress', prefix: 'DPI|default', packets: 5, bytes: 300 },
    ]);
  });

  test('ignores malformed items and counters, and reports text that is not an nft listing', () => {
    const r = parseNflogRuleCounters(
      listing([
        { chain: 'c', handle: 2, expr: [{ counter: { packets: -1, bytes: 0 } }, log('DPI|t', 1)] },
        { chain: 'c', handle: 3, expr: [{ counter: { packets: 1.5, bytes: 0 } }, log('DPI|t', 1)] },
      ]).replace('"nftables":[', '"nftables":[null,{"rule":{"chain":"c"}},'),
    );
    assert.deepEqual(r, { ok: true, value: [] });
    assert.deepEqual(parseNflogRuleCounters('{"x":1}'), {
      ok: false,
      error: 'nft JSON has no "nftables" array',
    });
    const bad = parseNflogRuleCounters('{');
    assert.ok(!bad.ok && bad.error.startsWith('nft printed invalid JSON'));
  });
});
