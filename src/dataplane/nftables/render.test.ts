import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BugError } from '../../lib/errors.js';
import { ruleHash } from './syntax.js';
import { ELEMENTS_PER_LINE, renderOp, renderTable, renderTransaction } from './render.js';

describe('renderOp', () => {
  test('every operation has its exact line', () => {
    const lines = renderTransaction([
      { kind: 'addTable' },
      {
        kind: 'addChain',
        name: 'filter-INPUT',
        hook: { type: 'filter', hook: 'input', priority: -100, policy: 'drop' },
      },
      { kind: 'addChain', name: 'filter-cali-x', hook: undefined },
      { kind: 'flushChain', name: 'filter-cali-x' },
      { kind: 'addRule', chain: 'filter-cali-x', text: 'tcp dport 80 accept', comment: 'cali:abc' },
      { kind: 'addSet', name: 'cali40s-a', type: 'ipv4_addr', interval: true, timeout: false },
      {
        kind: 'addSet',
        name: 'cali40n-p',
        type: 'ipv4_addr . inet_proto . inet_service',
        interval: false,
        timeout: false,
      },
      { kind: 'addSet', name: 'cali60d-x', type: 'ipv6_addr', interval: false, timeout: true },
      {
        kind: 'addTimedElements',
        set: 'cali60d-x',
        elements: [
          { element: 'fd00::1', timeoutS: 30 },
          { element: '2001:db8::2', timeoutS: 4294967 },
        ],
      },
      { kind: 'addElements', set: 'cali40s-a', type: 'ipv4_addr', elements: ['10.0.0.0/8', '10.0.0.1'] },
      { kind: 'deleteElements', set: 'ifs-1', type: 'ifname', elements: ['cali1'] },
      { kind: 'addMap', name: 'filter-cali-to-wl-dispatch', keyType: 'ifname' },
      {
        kind: 'addMapElements',
        map: 'filter-cali-to-wl-dispatch',
        keyType: 'ifname',
        entries: [['cali1', 'goto filter-cali-tw-cali1']],
      },
      { kind: 'deleteMapElements', map: 'filter-cali-to-wl-dispatch', keyType: 'ifname', keys: ['cali2'] },
      { kind: 'addMap', name: 'cali-ports', keyType: 'inet_service' },
      {
        kind: 'addMapElements',
        map: 'cali-ports',
        keyType: 'inet_service',
        entries: [
          ['80', 'goto a'],
          ['8000-8010', 'goto b'],
        ],
      },
      { kind: 'deleteMapElements', map: 'cali-ports', keyType: 'inet_service', keys: ['8000-8010'] },
      { kind: 'deleteMap', name: 'm-1' },
      { kind: 'deleteSet', name: 's-1' },
      { kind: 'deleteChain', name: 'c-1' },
      { kind: 'deleteObject', objectKind: 'ct helper', name: 'h-1' },
      { kind: 'deleteTable' },
    ]);
    assert.equal(
      lines,
      [
        'add table inet calico',
        'add chain inet calico filter-INPUT { type filter hook input priority -100; policy drop; }',
        'add chain inet calico filter-cali-x',
        'flush chain inet calico filter-cali-x',
        'add rule inet calico filter-cali-x tcp dport 80 accept comment "cali:abc"',
        'add set inet calico cali40s-a { type ipv4_addr; flags interval; }',
        'add set inet calico cali40n-p { type ipv4_addr . inet_proto . inet_service; }',
        'add set inet calico cali60d-x { type ipv6_addr; flags timeout; }',
        'add element inet calico cali60d-x { fd00::1 timeout 30s expires 30s, 2001:db8::2 timeout 4294967s expires 4294967s }',
        'add element inet calico cali40s-a { 10.0.0.0/8, 10.0.0.1 }',
        'delete element inet calico ifs-1 { "cali1" }',
        'add map inet calico filter-cali-to-wl-dispatch { type ifname : verdict; }',
        'add element inet calico filter-cali-to-wl-dispatch { "cali1" : goto filter-cali-tw-cali1 }',
        'delete element inet calico filter-cali-to-wl-dispatch { "cali2" }',
        'add map inet calico cali-ports { type inet_service : verdict; flags interval; }',
        'add element inet calico cali-ports { 80 : goto a, 8000-8010 : goto b }',
        'delete element inet calico cali-ports { 8000-8010 }',
        'delete map inet calico m-1',
        'delete set inet calico s-1',
        'delete chain inet calico c-1',
        'delete ct helper inet calico h-1',
        'delete table inet calico',
        '',
      ].join('\n'),
    );
  });

  test('long element lists are split across lines', () => {
    const elements = Array.from({ length: ELEMENTS_PER_LINE + 1 }, (_, i) => String(i));
    const lines = renderOp({ kind: 'addElements', set: 'p-1', type: 'inet_service', elements });
    assert.equal(lines.length, 2);
    assert.equal(lines[1], `add element inet calico p-1 { ${ELEMENTS_PER_LINE} }`);
  });

  test('refuses to render an unvalidated name', () => {
    assert.throws(() => renderOp({ kind: 'flushChain', name: 'x; flush ruleset' }), BugError);
  });

  test('an empty transaction is an empty script', () => {
    assert.equal(renderTransaction([]), '');
  });
});

describe('renderTable', () => {
  test('creates a table from nothing: declarations, then elements and rules, referenced chains first', () => {
    const r = renderTable({
      sets: [
        {
          name: 'cali40s-abc',
          type: 'ipv4_addr',
          interval: true,
          elements: ['10.1.0.0/16', '10.0.0.0/8', '192.168.1.1/32'],
        },
      ],
      maps: [
        {
          name: 'filter-cali-to-wl-dispatch',
          keyType: 'ifname',
          elements: new Map([['cali1', 'goto filter-cali-tw-cali1']]),
        },
      ],
      chains: [
        {
          name: 'filter-FORWARD',
          hook: { type: 'filter', hook: 'forward', priority: 0 },
          rules: ['jump filter-cali-FORWARD'],
        },
        {
          name: 'filter-cali-FORWARD',
          rules: [
            { rule: 'ip saddr @cali40s-abc  accept', comment: 'allow "pods"' },
            'oifname vmap @filter-cali-to-wl-dispatch',
          ],
        },
        { name: 'filter-cali-tw-cali1', rules: ['drop'] },
      ],
    });
    assert.ok(r.ok);
    const h = (chain: string, text: string) => ruleHash(chain, text);
    assert.equal(
      r.value,
      [
        'add table inet calico',
        'add set inet calico cali40s-abc { type ipv4_addr; flags interval; }',
        'add chain inet calico filter-cali-FORWARD',
        'add chain inet calico filter-FORWARD { type filter hook forward priority 0; policy accept; }',
        'add chain inet calico filter-cali-tw-cali1',
        'add map inet calico filter-cali-to-wl-dispatch { type ifname : verdict; }',
        'add element inet calico cali40s-abc { 10.0.0.0/8, 192.168.1.1 }',
        // Every rule counts what it matches: the counter goes between the matches and the statements.
        `add rule inet calico filter-cali-FORWARD ip saddr @cali40s-abc counter accept comment "cali:${h('filter-cali-FORWARD', 'ip saddr @cali40s-abc counter accept')} allow 'pods'"`,
        `add rule inet calico filter-cali-FORWARD counter oifname vmap @filter-cali-to-wl-dispatch comment "cali:${h('filter-cali-FORWARD', 'counter oifname vmap @filter-cali-to-wl-dispatch')}"`,
        `add rule inet calico filter-FORWARD counter jump filter-cali-FORWARD comment "cali:${h('filter-FORWARD', 'counter jump filter-cali-FORWARD')}"`,
        `add rule inet calico filter-cali-tw-cali1 counter drop comment "cali:${h('filter-cali-tw-cali1', 'counter drop')}"`,
        'add element inet calico filter-cali-to-wl-dispatch { "cali1" : goto filter-cali-tw-cali1 }',
        '',
      ].join('\n'),
    );
  });

  test('reports every problem of an invalid spec', () => {
    const r = renderTable({
      sets: [
        { name: 'map', type: 'ipv4_addr', interval: false, elements: ['10.0.0.0/8', 'x'] },
        { name: 'dup-1', type: 'ifname', interval: true, elements: [] },
      ],
      maps: [{ name: 'dup-1', keyType: 'ifname', elements: new Map([['a"', 'queue']]) }],
      chains: [
        {
          name: 'c-1',
          hook: { type: 'route', hook: 'input', priority: 0.5 },
          rules: ['accept; flush ruleset'],
        },
      ],
    });
    assert.ok(!r.ok);
    assert.deepEqual(
      r.error.map((i) => i.path),
      [
        'chains[c-1].hook.hook',
        'chains[c-1].hook.priority',
        'chains[c-1].rules[0]',
        'sets[map].name',
        'sets[map].elements[0]',
        'sets[map].elements[1]',
        'sets[dup-1].interval',
        'maps[dup-1]',
      ],
    );
  });
});
