import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listsTable, parseNftJson } from './kernel-state.js';

/** Trimmed from real `nft -j -p list table inet calico` output (nft 1.0.6). */
const REAL = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'inet', name: 'calico', handle: 1 } },
    {
      set: {
        family: 'inet',
        name: 'cali40s-abc',
        table: 'calico',
        type: 'ipv4_addr',
        handle: 3,
        flags: ['interval'],
        elem: [{ prefix: { addr: '10.0.0.0', len: 8 } }, '192.168.1.1'],
      },
    },
    {
      set: {
        family: 'inet',
        name: 'cali40-ports',
        table: 'calico',
        type: ['ipv4_addr', 'inet_proto', 'inet_service'],
        handle: 4,
        elem: [{ concat: ['10.0.0.1', 6, 80] }],
      },
    },
    {
      set: {
        family: 'inet',
        name: 'cali40-timed',
        table: 'calico',
        type: 'ipv4_addr',
        handle: 9,
        flags: ['timeout'],
      },
    },
    {
      map: {
        family: 'inet',
        name: 'cali-disp',
        table: 'calico',
        type: 'ifname',
        handle: 5,
        map: 'verdict',
        elem: [['cali123', { goto: { target: 'filter-cali-x' } }]],
      },
    },
    { counter: { family: 'inet', name: 'stray-1', table: 'calico', handle: 10, packets: 0, bytes: 0 } },
    {
      chain: {
        family: 'inet',
        table: 'calico',
        name: 'filter-INPUT',
        handle: 1,
        type: 'filter',
        hook: 'input',
        prio: 0,
        policy: 'accept',
      },
    },
    { chain: { family: 'inet', table: 'calico', name: 'filter-cali-x', handle: 2 } },
    {
      rule: {
        family: 'inet',
        table: 'calico',
        chain: 'filter-INPUT',
        handle: 7,
        comment: 'cali:abcd',
        expr: [
          {
            match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@cali40s-abc' },
          },
          { counter: { packets: 5, bytes: 300 } },
          { accept: null },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'calico',
        chain: 'filter-INPUT',
        handle: 8,
        expr: [{ vmap: { key: { meta: { key: 'iifname' } }, data: '@cali-disp' } }],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'calico',
        chain: 'filter-cali-x',
        handle: 9,
        comment: 'cali:zz',
        expr: [{ drop: null }],
      },
    },
  ],
});

describe('parseNftJson', () => {
  test('reads chains with hooks and ordered rules, sets, maps and foreign objects', () => {
    const r = parseNftJson(REAL);
    assert.ok(r.ok);
    const k = r.value;
    assert.equal(k.tableExists, true);
    assert.deepEqual(k.chains.get('filter-INPUT')?.hook, {
      type: 'filter',
      hook: 'input',
      priority: 0,
      policy: 'accept',
    });
    assert.deepEqual(
      k.chains.get('filter-INPUT')?.rules.map((r) => r.comment),
      ['cali:abcd', undefined],
    );
    assert.equal(k.chains.get('filter-cali-x')?.hook, undefined);
    assert.deepEqual(k.sets.get('cali40s-abc'), {
      type: 'ipv4_addr',
      interval: true,
      timeout: false,
      compatible: true,
      elements: new Set(['10.0.0.0/8', '192.168.1.1']),
    });
    assert.deepEqual([...(k.sets.get('cali40-ports')?.elements ?? [])], ['10.0.0.1 . 6 . 80']);
    // A timeout address set is one we make (learned addresses, DNS policy).
    assert.equal(k.sets.get('cali40-timed')?.compatible, true);
    assert.equal(k.sets.get('cali40-timed')?.timeout, true);
    assert.deepEqual(k.maps.get('cali-disp'), {
      keyType: 'ifname',
      compatible: true,
      elements: new Map([['cali123', 'goto filter-cali-x']]),
    });
    assert.deepEqual(k.foreign, [{ kind: 'counter', name: 'stray-1' }]);
    assert.deepEqual(k.unaddressable, []);
  });

  test('fingerprints ignore counter values but not the match', () => {
    const fp = (packets: number, field: string) => {
      const json = REAL.replace('"packets":5', `"packets":${packets}`).replace(
        '"field":"saddr"',
        `"field":"${field}"`,
      );
      const r = parseNftJson(json);
      assert.ok(r.ok);
      return r.value.chains.get('filter-INPUT')?.rules[0]?.fingerprint;
    };
    assert.equal(fp(5, 'saddr'), fp(999, 'saddr'));
    assert.notEqual(fp(5, 'saddr'), fp(5, 'daddr'));
  });

  test('objects named outside nft text syntax (or like a keyword) are flagged', () => {
    const json = JSON.stringify({
      nftables: [
        { table: { family: 'inet', name: 'calico' } },
        { chain: { family: 'inet', table: 'calico', name: 'we ird' } },
        { set: { family: 'inet', table: 'calico', name: 'counter', type: 'ipv4_addr' } },
      ],
    });
    const r = parseNftJson(json);
    assert.ok(r.ok);
    assert.deepEqual(r.value.unaddressable, ['chain "we ird"', 'set "counter"']);
  });

  test('unexpected elements make a set or map incompatible', () => {
    const json = JSON.stringify({
      nftables: [
        {
          set: {
            name: 's-1',
            type: 'ipv4_addr',
            flags: ['interval'],
            elem: [{ range: ['10.0.0.1', '10.0.0.9'] }],
          },
        },
        { map: { name: 'm-1', type: 'ifname', map: 'verdict', elem: [['a', { queue: {} }]] } },
        { map: { name: 'm-2', type: 'ipv4_addr', map: 'verdict' } },
      ],
    });
    const r = parseNftJson(json);
    assert.ok(r.ok);
    assert.equal(r.value.sets.get('s-1')?.compatible, false);
    assert.equal(r.value.maps.get('m-1')?.compatible, false);
    assert.equal(r.value.maps.get('m-2')?.compatible, false);
  });

  test('a timeout set is ours: learned elements (timeout/expires) are left out, never-expiring ones kept', () => {
    // As nft 1.0.6 lists `flags timeout` sets (checked on kernel 6.18).
    const json = JSON.stringify({
      nftables: [
        {
          set: {
            name: 'cali40d-abc',
            type: 'ipv4_addr',
            flags: ['timeout'],
            elem: [
              { elem: { val: '10.0.0.1', timeout: 30, expires: 29 } },
              { elem: { val: '10.0.0.2', timeout: 3600, expires: 3538 } },
              '10.0.0.6',
            ],
          },
        },
        { set: { name: 'cali60d-abc', type: 'ipv6_addr', flags: ['timeout'] } },
        // Not ours: a set-level default timeout, timeout with interval, a timeout set of another type.
        { set: { name: 's-1', type: 'ipv4_addr', flags: ['timeout'], timeout: 60 } },
        { set: { name: 's-2', type: 'ipv4_addr', flags: ['interval', 'timeout'] } },
        { set: { name: 's-3', type: 'inet_service', flags: ['timeout'] } },
        {
          set: {
            name: 's-4',
            type: 'ipv4_addr',
            flags: ['timeout'],
            elem: [{ elem: { val: 'x', timeout: 1 } }],
          },
        },
      ],
    });
    const r = parseNftJson(json);
    assert.ok(r.ok);
    const learned = r.value.sets.get('cali40d-abc');
    assert.deepEqual(learned, {
      type: 'ipv4_addr',
      interval: false,
      timeout: true,
      compatible: true,
      elements: new Set(['10.0.0.6']),
    });
    assert.equal(r.value.sets.get('cali60d-abc')?.compatible, true);
    assert.equal(r.value.sets.get('cali60d-abc')?.elements.size, 0);
    for (const name of ['s-1', 's-2', 's-3', 's-4'])
      assert.equal(r.value.sets.get(name)?.compatible, false, name);
  });

  test('bad JSON is an error, not an empty table', () => {
    assert.equal(parseNftJson('{').ok, false);
    assert.equal(parseNftJson('{"x":1}').ok, false);
  });
});

describe('listsTable', () => {
  test('finds the table among those listed', () => {
    const json = JSON.stringify({
      nftables: [{ metainfo: {} }, { table: { family: 'inet', name: 'calico', handle: 1 } }],
    });
    assert.deepEqual(listsTable(json, 'inet', 'calico'), { ok: true, value: true });
    assert.deepEqual(listsTable(json, 'inet', 'other'), { ok: true, value: false });
    assert.equal(listsTable('nope', 'inet', 'calico').ok, false);
  });
});
