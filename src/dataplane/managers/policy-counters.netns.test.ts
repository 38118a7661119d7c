/**
 * The policy counter reader against the kernel: hand-written rules shaped as the flow-log renderer writes them
 * (`<match> counter log prefix "<Calico prefix>" group <1|2> snaplen 80 <verdict>`) in `table inet calico` of
 * a namespace the test creates, UDP datagrams sent to its loopback, the counts read back through NftTable's
 * listing. Root only (skipped with the reason otherwise); nothing touches the root namespace.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { NetnsScope, kernelTestSkipReason } from '../../labkit/netns.js';
import { NodeCommandRunner } from '../exec/node-runner.js';
import { NftTable } from '../nftables/table.js';
import { PolicyCounterReader } from './policy-counters.js';

const skip = kernelTestSkipReason(['ip', 'nft']);
const host = new NodeCommandRunner();

const TABLE = `
table inet calico {
  chain in {
    type filter hook input priority 0; policy accept;
    udp dport 5001 counter log prefix "DPI0|knp/web/deny-db" group 1 snaplen 80 drop
    udp dport 5002 counter log prefix "API0|gnp/allow-dns" group 1 snaplen 80 accept
    udp dport 5002 counter log prefix "not-a-verdict-log" accept
  }
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport 5003 counter log prefix "DPE|default" group 2 snaplen 80 drop
    udp dport 5004 counter log prefix "DNS" group 3 snaplen 80 accept
  }
}
`;

/** Sends `count` datagrams to 127.0.0.1:`port` (bounded; a dropped or refused one is fine). */
const SEND = `
const [port, count] = process.argv.slice(1).map(Number);
const s = require('node:dgram').createSocket('udp4');
s.on('error', () => {});
let left = count;
const next = () => (left-- > 0 ? s.send('x'.repeat(20), port, '127.0.0.1', next) : s.close());
next();
`;

describe('PolicyCounterReader in a network namespace', { skip }, () => {
  const scope = new NetnsScope(host);
  after(() => scope[Symbol.asyncDispose]());

  test('reads the packets and bytes each verdict-logging rule counted', async () => {
    const ns = await scope.namespace();
    const runner = scope.runner(ns);
    const load = await runner.run('nft', ['-f', '-'], { stdin: TABLE, timeoutMs: 10_000 });
    assert.equal(load.code, 0, load.stderr);
    const send = async (port: number, count: number): Promise<void> => {
      const r = await runner.run(process.execPath, ['-e', SEND, String(port), String(count)], {
        timeoutMs: 10_000,
      });
      assert.equal(r.code, 0, r.stderr);
    };
    await send(5001, 3);
    await send(5002, 2);
    await send(5003, 4);
    await send(5004, 1);
    const table = new NftTable({ runner });
    try {
      const reader = new PolicyCounterReader({ source: table, minIntervalMs: 0 });
      const reading = await reader.read();
      const got = reading.rules.map((r) => [r.chain, r.direction, r.prefix, r.packets, r.bytes]);
      // 20 bytes of payload + 8 UDP + 20 IPv4 = 48 bytes a datagram.
      assert.deepEqual(got, [
        ['in', 'ingress', 'DPI0|knp/web/deny-db', 3, 144],
        ['in', 'ingress', 'API0|gnp/allow-dns', 2, 96],
        ['out', 'egress', 'DPE|default', 4, 192],
      ]);
      assert.ok(table.stats().nftCalls >= 1, 'the listing is one of the table’s nft calls');
      // Re-created rules have new handles, so the caller can tell their counters started again.
      const handles = new Set(reading.rules.map((r) => r.handle));
      assert.equal((await runner.run('nft', ['flush', 'chain', 'inet', 'calico', 'in'])).code, 0);
      const readd = await runner.run('nft', [
        'add',
        'rule',
        'inet',
        'calico',
        'in',
        'udp',
        'dport',
        '5001',
        'counter',
        'log',
        'prefix',
        '"DPI0|knp/web/deny-db"',
        'group',
        '1',
        'drop',
      ]);
      assert.equal(readd.code, 0, readd.stderr);
      await send(5001, 1);
      const again = (await reader.read()).rules.filter((r) => r.chain === 'in');
      assert.equal(again.length, 1);
      const [rule] = again;
      assert.ok(rule !== undefined);
      assert.equal(rule.packets, 1);
      assert.ok(!handles.has(rule.handle));
    } finally {
      table.close();
    }
  });

  test('a namespace without the table reads as no counters', async () => {
    const ns = await scope.namespace();
    const table = new NftTable({ runner: scope.runner(ns) });
    try {
      assert.deepEqual((await new PolicyCounterReader({ source: table }).read()).rules, []);
    } finally {
      table.close();
    }
  });
});
