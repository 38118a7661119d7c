import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { IPAMBlockSpec } from '../api/v3/ipam-block.js';
import { type Cidr, formatIp, parseCidr, parseIp } from '../lib/net/ip.js';
import {
  allocationAt,
  assignOrdinal,
  autoAssign,
  bumpSequence,
  freeCount,
  garbageCollect,
  ipToOrdinal,
  isBlockEmpty,
  newBlock,
  ordinalToIp,
  ordinalsByHandle,
  releaseByHandle,
  releaseOrdinals,
  sequenceOf,
} from './block.js';
import { blockProblems, blockUsage } from './block-report.js';

function cidr(text: string): Cidr {
  const c = parseCidr(text);
  if (c === undefined) throw new Error(text);
  return { family: c.family, network: c.network, prefix: c.prefix };
}

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (ms: number): string => new Date(ms).toISOString();

function fresh(text = '10.0.0.0/26'): IPAMBlockSpec {
  return newBlock(cidr(text), { affinity: 'host:n1', sequenceNumber: 1000 });
}

function take(
  spec: IPAMBlockSpec,
  num: number,
  handle?: string,
): { spec: IPAMBlockSpec; ordinals: number[] } {
  const r = autoAssign(spec, { num, handleId: handle, attrs: { node: 'n1' } });
  return { spec: bumpSequence(r.spec), ordinals: r.ordinals };
}

function ipOf(spec: IPAMBlockSpec, o: number): string {
  const ip = ordinalToIp(cidr(spec.cidr), o);
  return formatIp(ip.family, ip.value);
}

describe('block maths', () => {
  it('maps ordinals to addresses and back, IPv4 and IPv6', () => {
    const v4 = cidr('10.0.0.64/26');
    assert.equal(formatIp(4, ordinalToIp(v4, 0).value), '10.0.0.64');
    assert.equal(formatIp(4, ordinalToIp(v4, 63).value), '10.0.0.127');
    assert.equal(ipToOrdinal(v4, parseIp('10.0.0.70')!), 6);
    assert.equal(ipToOrdinal(v4, parseIp('10.0.0.128')!), undefined);
    const v6 = cidr('fd00::40/122');
    assert.equal(formatIp(6, ordinalToIp(v6, 1).value), 'fd00::41');
    assert.equal(ipToOrdinal(v6, parseIp('fd00::7f')!), 63);
    assert.equal(ipToOrdinal(v6, parseIp('10.0.0.1')!), undefined);
  });

  it('starts with every ordinal free in order, the network address included', () => {
    const b = fresh();
    assert.equal(b.allocations.length, 64);
    assert.deepEqual(
      b.unallocated,
      Array.from({ length: 64 }, (_, i) => i),
    );
    const r = take(b, 1, 'h1');
    assert.deepEqual(r.ordinals, [0]);
    assert.equal(ipOf(r.spec, 0), '10.0.0.0');
    assert.deepEqual(blockProblems(r.spec), []);
  });

  it('hands out the head of the FIFO and shares one attribute per request', () => {
    let b = take(fresh(), 3, 'h1').spec;
    const second = take(b, 2, 'h2');
    b = second.spec;
    assert.deepEqual(second.ordinals, [3, 4]);
    assert.equal(b.attributes.length, 2);
    assert.equal(b.allocations[0], b.allocations[2]);
    assert.notEqual(b.allocations[0], b.allocations[3]);
    assert.deepEqual(ordinalsByHandle(b, 'h2'), [3, 4]);
    assert.equal(freeCount(b), 59);
  });

  it('skips reserved addresses but keeps them in place in the FIFO', () => {
    const reserved = (ip: { value: bigint }): boolean => ip.value % 2n === 0n;
    const r = autoAssign(fresh(), { num: 3, handleId: 'h', attrs: {}, isReserved: reserved });
    assert.deepEqual(r.ordinals, [1, 3, 5]);
    assert.deepEqual(r.spec.unallocated.slice(0, 4), [0, 2, 4, 6]);
    assert.equal(freeCount(r.spec, reserved), 29);
  });

  it('releases into cooldown: handle cleared, owner kept, not reusable until collected', () => {
    const b = take(fresh(), 2, 'h1').spec;
    const r = releaseOrdinals(b, [{ ordinal: 0 }], at(T0));
    assert.ok(r.ok);
    const released = r.value.spec;
    assert.deepEqual(r.value.released, [0]);
    assert.deepEqual(r.value.countByHandle, { h1: 1 });
    const a = allocationAt(released, 0);
    assert.equal(a.state, 'cooling');
    assert.equal(a.attribute?.handle_id, undefined);
    assert.deepEqual(a.attribute?.secondary, { node: 'n1' });
    assert.equal(allocationAt(released, 1).state, 'inUse');
    // Not yet due with a 60 s cooldown.
    assert.deepEqual(garbageCollect(released, T0 + 59_000, 60).freed, []);
    const gc = garbageCollect(released, T0 + 60_000, 60);
    assert.deepEqual(gc.freed, [0]);
    assert.equal(allocationAt(gc.spec, 0).state, 'free');
    assert.equal(gc.spec.unallocated.at(-1), 0, 'a freed ordinal goes to the tail');
    assert.deepEqual(blockProblems(gc.spec), []);
    // A second release of a cooling address does nothing.
    const again = releaseOrdinals(released, [{ ordinal: 0 }], at(T0 + 1));
    assert.ok(again.ok);
    assert.deepEqual(again.value.notAllocated, [0]);
  });

  it('reuses the longest-free address first', () => {
    let b = take(fresh(), 64, 'h').spec;
    const r = releaseOrdinals(b, [{ ordinal: 5 }, { ordinal: 2 }], at(T0));
    assert.ok(r.ok);
    b = bumpSequence(garbageCollect(r.value.spec, T0, 0).spec);
    const next = take(b, 2, 'h2');
    assert.deepEqual([...next.ordinals].sort(), [2, 5]);
  });

  it('rejects a release whose sequence number is stale (ABA) or whose handle differs', () => {
    let b = take(fresh(), 1, 'pod-a').spec;
    const seqA = sequenceOf(b, 0);
    assert.equal(seqA, 1000);
    const rel = releaseOrdinals(b, [{ ordinal: 0, sequenceNumber: seqA, handle: 'pod-a' }], at(T0));
    assert.ok(rel.ok);
    b = bumpSequence(garbageCollect(rel.value.spec, T0, 0).spec);
    // Fill up to ordinal 0 again: the address is reallocated to pod B with a new sequence number.
    const refill = take(b, 64, 'pod-b');
    b = refill.spec;
    assert.notEqual(sequenceOf(b, 0), seqA);
    const stale = releaseOrdinals(b, [{ ordinal: 0, sequenceNumber: seqA }], at(T0));
    assert.ok(!stale.ok && stale.error.kind === 'badSequenceNumber');
    const wrongHandle = releaseOrdinals(b, [{ ordinal: 0, handle: 'pod-a' }], at(T0));
    assert.ok(!wrongHandle.ok && wrongHandle.error.kind === 'badHandle');
  });

  it('releases by handle and assigns a specific ordinal once', () => {
    let b = take(fresh(), 3, 'h1').spec;
    b = take(b, 2, 'h2').spec;
    const r = releaseByHandle(b, 'h1', at(T0));
    assert.deepEqual(r.released, [0, 1, 2]);
    assert.deepEqual(ordinalsByHandle(r.spec, 'h1'), []);
    assert.deepEqual(ordinalsByHandle(r.spec, 'h2'), [3, 4]);
    const one = assignOrdinal(r.spec, 10, 'h3', {});
    assert.ok(one.ok);
    assert.ok(!one.value.unallocated.includes(10));
    const twice = assignOrdinal(one.value, 10, 'h4', {});
    assert.ok(!twice.ok && twice.error === 'alreadyAllocated');
    const cooling = assignOrdinal(r.spec, 0, 'h4', {});
    assert.ok(!cooling.ok, 'an address in cooldown cannot be assigned');
  });

  it('counts usage and emptiness', () => {
    let b = take(fresh(), 4, 'h').spec;
    const r = releaseOrdinals(b, [{ ordinal: 3 }], at(T0));
    assert.ok(r.ok);
    b = r.value.spec;
    const reserved = (ip: { value: bigint }): boolean => (ip.value & 63n) < 2n || (ip.value & 63n) === 10n;
    assert.deepEqual(blockUsage(b, reserved), {
      capacity: 64,
      inUse: 4,
      reserved: 3,
      reservedInUse: 2,
      free: 59,
      cooling: 1,
    });
    assert.equal(isBlockEmpty(b, 'windows-reserved-ipam-handle'), false);
    assert.equal(isBlockEmpty(fresh(), 'windows-reserved-ipam-handle'), true);
  });

  it('reports structural damage', () => {
    const b = take(fresh(), 2, 'h').spec;
    const damaged: IPAMBlockSpec = {
      ...b,
      unallocated: [0, ...b.unallocated.slice(1)],
      allocations: [...b.allocations],
    };
    damaged.allocations[1] = 7;
    const problems = blockProblems(damaged);
    assert.ok(
      problems.some((p) => p.includes('ordinal 0 is both allocated and free')),
      problems.join('; '),
    );
    assert.ok(
      problems.some((p) => p.includes('missing attribute 7')),
      problems.join('; '),
    );
    assert.ok(
      blockProblems({ ...b, allocations: b.allocations.slice(1) }).some((p) =>
        p.includes('63 allocation slots'),
      ),
    );
  });

  it('keeps its invariants under any sequence of operations (property)', () => {
    type Op =
      { kind: 'take'; n: number; h: number } | { kind: 'release'; o: number } | { kind: 'gc'; dt: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('take' as const),
        n: fc.integer({ min: 1, max: 20 }),
        h: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record({ kind: fc.constant('release' as const), o: fc.integer({ min: 0, max: 15 }) }),
      fc.record({ kind: fc.constant('gc' as const), dt: fc.integer({ min: 0, max: 120_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        let b = newBlock(cidr('10.1.0.0/28'), { sequenceNumber: 1 });
        let now = T0;
        for (const o of ops) {
          if (o.kind === 'take') b = take(b, o.n, `h${o.h}`).spec;
          else if (o.kind === 'release') {
            const r = releaseOrdinals(b, [{ ordinal: o.o }], at(now));
            if (r.ok) b = bumpSequence(r.value.spec);
          } else {
            now += o.dt;
            b = garbageCollect(b, now, 30).spec;
          }
          assert.deepEqual(blockProblems(b), []);
          const u = blockUsage(b);
          assert.equal(u.inUse + u.free, 16);
        }
      }),
    );
  });
});
