import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConntrackLine, type ConntrackEntry } from './conntrack.js';
import { FlowTable, isTerminal, type PacketLog } from './flow-table.js';
import { parseNflogPrefix, renderNflogPrefix, type NflogPrefix } from '../model/nflog-prefix.js';

const allowIn: NflogPrefix = {
  kind: 'rule',
  action: 'Allow',
  owner: 'policy',
  direction: 'ingress',
  ruleIndex: 0,
  policyId: 'gnp/allow-web',
};
const passOut: NflogPrefix = { ...allowIn, action: 'Pass', direction: 'egress', policyId: 'gnp/sec-pass' };
const allowOut: NflogPrefix = { ...allowIn, direction: 'egress', ruleIndex: 1, policyId: 'np/prod/egress' };
const denyIn: NflogPrefix = { kind: 'endOfTier', action: 'Deny', direction: 'ingress', tier: 'default' };
const staged: NflogPrefix = { ...allowIn, action: 'Deny', policyId: 'sgnp/lockdown' };

function log(group: number, p: NflogPrefix, over: Partial<PacketLog> = {}): PacketLog {
  return {
    group,
    prefix: renderNflogPrefix(p),
    src: '10.65.0.2',
    dst: '10.65.0.3',
    protocol: 6,
    srcPort: 40000,
    dstPort: 8080,
    length: 60,
    ...over,
  };
}

function ct(line: string): ConntrackEntry {
  const e = parseConntrackLine(line);
  assert.ok(e !== undefined, line);
  return e;
}

const tuple = 'src=10.65.0.2 dst=10.65.0.3 sport=40000 dport=8080';
const reply = 'src=10.65.0.3 dst=10.65.0.2 sport=8080 dport=40000';

function table(): FlowTable {
  return new FlowTable({ parsePrefix: (t) => parseNflogPrefix(t) }, 0);
}

describe('isTerminal', () => {
  it('ends a walk at an enforced verdict, a tier drop or no profile; not at Pass or a staged policy', () => {
    assert.deepEqual(
      [allowIn, passOut, denyIn, staged, { kind: 'noProfileMatch', direction: 'ingress' } as const].map(
        isTerminal,
      ),
      [true, false, true, false, true],
    );
  });
});

describe('FlowTable', () => {
  it('joins both directions of policy with conntrack counts, and reports start, deltas and completion', () => {
    const t = table();
    t.onPacketLog(log(2, passOut), 100);
    t.onPacketLog(log(2, allowOut), 100);
    t.onPacketLog(log(1, allowIn), 101);
    t.onConntrack(ct(`[NEW] ipv4 2 tcp 6 120 SYN_SENT ${tuple} [UNREPLIED] ${reply} id=1`), 101);
    t.onConntrack(
      ct(`ipv4 2 tcp 6 300 ESTABLISHED ${tuple} packets=4 bytes=400 ${reply} packets=3 bytes=900`),
      500,
    );
    const first = t.flush(1000);
    assert.equal(first.length, 2);
    const src = first.find((r) => r.direction === 'egress');
    const dst = first.find((r) => r.direction === 'ingress');
    assert.deepEqual(src?.prefixes, [passOut, allowOut]);
    assert.deepEqual(dst?.prefixes, [allowIn]);
    // The source sent the original direction; the destination received it.
    assert.deepEqual([src.packetsOut, src.bytesOut, src.packetsIn, src.bytesIn], [4, 400, 3, 900]);
    assert.deepEqual([dst.packetsIn, dst.bytesIn, dst.packetsOut, dst.bytesOut], [4, 400, 3, 900]);
    assert.deepEqual([src.started, src.completed], [true, false]);

    t.onConntrack(
      ct(`[DESTROY] ipv4 2 tcp 6 ${tuple} packets=6 bytes=500 ${reply} packets=5 bytes=1000 id=1`),
      1500,
    );
    const second = t.flush(2000);
    const s2 = second.find((r) => r.direction === 'egress');
    assert.deepEqual([s2?.packetsOut, s2?.bytesOut, s2?.packetsIn, s2?.bytesIn], [2, 100, 2, 100]);
    assert.deepEqual([s2?.started, s2?.completed], [false, true]);
    assert.deepEqual(t.flush(3000), []);
    assert.deepEqual(t.stats(), { connections: 0, conntrackEntries: 0, prefixErrors: 0, dropped: 0 });
  });

  it('counts the packets reported from NFLOG once when the conntrack entry is listed after the flush', () => {
    const t = table();
    t.onPacketLog(log(2, allowOut), 100);
    const [first] = t.flush(1000);
    assert.deepEqual([first?.packetsOut, first?.bytesOut, first?.started], [1, 60, true]);
    t.onConntrackSnapshot(
      [ct(`ipv4 2 tcp 6 300 ESTABLISHED ${tuple} packets=4 bytes=400 ${reply} packets=3 bytes=900`)],
      1000,
      1100,
    );
    const [second] = t.flush(2000);
    // 4 packets sent in all: 1 reported before the entry was known, 3 now; 400 bytes: 60, then 340.
    assert.deepEqual(
      [second?.packetsOut, second?.bytesOut, second?.packetsIn, second?.bytesIn, second?.started],
      [3, 340, 3, 900, false],
    );
  });

  it('matches a DNAT-ed connection through its reply tuple', () => {
    const t = table();
    t.onPacketLog(log(1, allowIn, { dst: '10.65.0.3', dstPort: 8080 }), 10);
    // The client asked for 10.96.0.10:80; the filter saw the packet after DNAT.
    t.onConntrack(
      ct(
        `[DESTROY] ipv4 2 tcp 6 src=10.65.0.2 dst=10.96.0.10 sport=40000 dport=80 packets=3 bytes=180 ${reply} packets=2 bytes=120 id=7`,
      ),
      20,
    );
    const [r] = t.flush(100);
    assert.deepEqual([r?.packetsIn, r?.bytesIn, r?.packetsOut, r?.completed], [3, 180, 2, true]);
  });

  it('counts the logged packets of a denied connection once per walk, and ends it after a quiet interval', () => {
    const t = table();
    for (const at of [10, 1010, 3010]) t.onPacketLog(log(1, denyIn), at);
    const [r] = t.flush(5000);
    assert.deepEqual(
      [r?.packetsIn, r?.bytesIn, r?.packetsOut, r?.started, r?.completed],
      [3, 180, 0, true, false],
    );
    assert.deepEqual(r?.prefixes, [denyIn]);
    const [again] = t.flush(10_000);
    assert.deepEqual([again?.packetsIn, again?.started, again?.completed], [0, false, true]);
    assert.equal(t.stats().connections, 0);
  });

  it('keeps the first walk as the trace and skips staged policies inside it', () => {
    const t = table();
    t.onPacketLog(log(1, staged), 1);
    t.onPacketLog(log(1, allowIn), 1);
    t.onPacketLog(log(1, denyIn), 2);
    assert.deepEqual(t.flush(10)[0]?.prefixes, [staged, allowIn]);
  });

  it('counts a direction logged an interval late as started then', () => {
    const t = table();
    t.onPacketLog(log(2, allowOut), 10);
    assert.deepEqual(
      t.flush(100).map((r) => [r.direction, r.started]),
      [['egress', true]],
    );
    t.onPacketLog(log(1, allowIn), 110);
    assert.deepEqual(
      t.flush(200).map((r) => [r.direction, r.started]),
      [
        ['egress', false],
        ['ingress', true],
      ],
    );
  });

  it('counts prefixes it cannot read, ignores other groups, and drops past its bound', () => {
    const t = new FlowTable({ parsePrefix: (x) => parseNflogPrefix(x), maxConnections: 1 }, 0);
    t.onPacketLog({ ...log(1, allowIn), prefix: 'calico-packet: ' }, 1);
    t.onPacketLog({ ...log(20, allowIn), prefix: 'calico-packet: ' }, 1);
    t.onPacketLog(log(1, allowIn), 1);
    t.onPacketLog(log(1, allowIn, { srcPort: 40001 }), 1);
    assert.deepEqual(t.stats(), { connections: 1, conntrackEntries: 0, prefixErrors: 1, dropped: 1 });
  });

  it('ends entries a listing no longer shows, unless heard of after the listing was asked for', () => {
    const t = table();
    t.onPacketLog(log(1, allowIn), 1);
    t.onConntrack(ct(`[NEW] ipv4 2 tcp 6 120 SYN_SENT ${tuple} [UNREPLIED] ${reply} id=1`), 50);
    t.onConntrackSnapshot([], 40, 60);
    assert.equal(t.flush(100)[0]?.completed, false);
    t.onConntrackSnapshot([], 200, 210);
    assert.equal(t.flush(300)[0]?.completed, true);
  });
});
