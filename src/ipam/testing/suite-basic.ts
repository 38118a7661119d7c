/** The allocator behaviour suite, part 1: affinity states, borrowing, limits, reservations, cooldown, handles. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseCidr, parseIp, cidrContains } from '../../lib/net/ip.js';
import { isIpamError } from '../errors.js';
import { affinityName, cidrToName, LABEL_HOSTNAME_HASH, hostnameHash } from '../names.js';
import type { StoreTarget } from '../../datastore/testing/targets.js';
import { TEST_TIMEOUT_MS, addPools, freshEnv, pool, reservation, V3 } from './fixtures.js';

const opts = { timeout: TEST_TIMEOUT_MS };

function inside(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const a = parseIp(ip);
  return c !== undefined && a !== undefined && cidrContains(c, a);
}

async function rejectsWith(p: Promise<unknown>, reason: Parameters<typeof isIpamError>[1]): Promise<void> {
  await assert.rejects(p, (e: unknown) => isIpamError(e, reason));
}

export function registerBasicTests(target: StoreTarget): void {
  void it(
    'claims a block (pending -> block with affinity -> confirmed) and records the handle',
    opts,
    async (t) => {
      const env = await freshEnv(target, t);
      await addPools(env.backend, pool('p4', { cidr: '10.10.0.0/16' }));
      const r = await env.ipam.autoAssign({
        num4: 2,
        num6: 0,
        hostname: 'node-a',
        handleId: 'h1',
        attrs: { node: 'node-a' },
      });
      assert.equal(r.ipv4.length, 2);
      const first = r.ipv4[0]!;
      assert.ok(first.cidr.endsWith('/26'), 'addresses come back block-masked');
      assert.ok(inside(first.block, first.ip) && inside('10.10.0.0/16', first.ip));
      const [affinity] = (await env.ipam.store.listAffinities()).items;
      assert.equal(affinity?.spec.state, 'confirmed');
      assert.equal(affinity.spec.node, 'node-a');
      assert.equal(affinity.name, affinityName('node-a', first.block));
      assert.equal(affinity.labels?.[LABEL_HOSTNAME_HASH], hostnameHash('node-a'));
      const block = await env.ipam.store.getBlock(first.block);
      assert.equal(block?.name, cidrToName(first.block));
      assert.equal(block.spec.affinity, 'host:node-a');
      assert.ok(block.spec.affinityClaimTime !== undefined);
      assert.deepEqual((await env.ipam.store.getHandle('h1'))?.spec.block, { [first.block]: 2 });
      assert.deepEqual((await env.ipam.ipsByHandle('h1')).sort(), r.ipv4.map((a) => a.ip).sort());
      const attrs = await env.ipam.getAssignmentAttributes(first.ip);
      assert.equal(attrs?.handleId, 'h1');
      assert.deepEqual(attrs.activeOwnerAttrs, { node: 'node-a' });
    },
  );

  void it(
    'completes its own interrupted claim and gives up a claim on a block owned by another host',
    opts,
    async (t) => {
      const env = await freshEnv(target, t);
      await addPools(env.backend, pool('p4', { cidr: '10.20.0.0/24' }));
      // node-a crashed after writing its pending affinity: the block was never created.
      await env.ipam.store.createAffinity({
        state: 'pending',
        node: 'node-a',
        type: 'host',
        cidr: '10.20.0.64/26',
      });
      // node-b owns 10.20.0.128/26; node-a holds a hopeless pending claim on it.
      assert.equal(await env.ipam.ensureBlockAffinity('node-b', '10.20.0.128/26'), 'claimed');
      await env.ipam.store.createAffinity({
        state: 'pending',
        node: 'node-a',
        type: 'host',
        cidr: '10.20.0.128/26',
      });
      const r = await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'node-a' });
      assert.equal(r.ipv4[0]?.block, '10.20.0.64/26', 'the pending claim was completed and used');
      assert.equal((await env.ipam.store.getAffinity('node-a', '10.20.0.64/26'))?.spec.state, 'confirmed');
      assert.equal(await env.ipam.store.getAffinity('node-a', '10.20.0.128/26'), undefined);
      assert.equal((await env.ipam.store.getBlock('10.20.0.128/26'))?.spec.affinity, 'host:node-b');
    },
  );

  void it(
    'releases affinities: empty blocks go, non-empty ones stay confirmed unless forced',
    opts,
    async (t) => {
      const env = await freshEnv(target, t);
      await addPools(env.backend, pool('p4', { cidr: '10.30.0.0/24' }));
      const r = await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1', handleId: 'h' });
      const block = r.ipv4[0]!.block;
      await rejectsWith(env.ipam.releaseAffinity('n1', block, { mustBeEmpty: true }), 'blockNotEmpty');
      assert.equal((await env.ipam.store.getAffinity('n1', block))?.spec.state, 'confirmed');
      await env.ipam.releaseByHandle('h');
      assert.equal(await env.ipam.releaseAffinity('n1', block, { mustBeEmpty: true }), 'released');
      assert.equal(await env.ipam.store.getBlock(block), undefined);
      assert.equal(await env.ipam.store.getAffinity('n1', block), undefined);
      // Not forced to be empty: the block stays, without affinity, and its addresses stay allocated.
      const again = await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1', handleId: 'h2' });
      await env.ipam.releaseAffinity('n1', again.ipv4[0]!.block, { mustBeEmpty: false });
      const kept = await env.ipam.store.getBlock(again.ipv4[0]!.block);
      assert.equal(kept?.spec.affinity, undefined);
      assert.equal((await env.ipam.getAssignmentAttributes(again.ipv4[0]!.ip))?.handleId, 'h2');
    },
  );

  void it(
    'borrows from another host unless strictAffinity, and honours maxBlocksPerHost',
    opts,
    async (t) => {
      const env = await freshEnv(target, t);
      await addPools(env.backend, pool('one-block', { cidr: '10.40.0.0/26' }));
      const a = await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1', attrs: { node: 'n1' } });
      const b = await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n2', attrs: { node: 'n2' } });
      assert.equal(b.ipv4[0]?.block, a.ipv4[0]?.block, 'n2 borrowed from n1 block');
      assert.equal((await env.ipam.store.getBlock(a.ipv4[0]!.block))?.spec.affinity, 'host:n1');
      await env.ipam.setConfig({ strictAffinity: true });
      await rejectsWith(env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n2' }), 'exhausted');
      // Block limit: one block per host.
      await env.backend.create(pool('big', { cidr: '10.41.0.0/24' }));
      await env.ipam.setConfig({ strictAffinity: true, maxBlocksPerHost: 1 });
      const n3 = await env.ipam.autoAssign({ num4: 64, num6: 0, hostname: 'n3' });
      assert.equal(new Set(n3.ipv4.map((x) => x.block)).size, 1);
      await rejectsWith(env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n3' }), 'exhausted');
      // The request-level limit applies too (minimum of both).
      await env.ipam.setConfig({ strictAffinity: true, maxBlocksPerHost: 2 });
      await rejectsWith(
        env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n3', maxBlocksPerHost: 1 }),
        'exhausted',
      );
      const more = await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n3' });
      assert.notEqual(more.ipv4[0]?.block, n3.ipv4[0]?.block);
    },
  );

  void it('rejects configurations that break the cross-field rules', opts, async (t) => {
    const env = await freshEnv(target, t);
    await assert.rejects(
      env.ipam.setConfig({ strictAffinity: false, autoAllocateBlocks: false }),
      /autoAllocateBlocks/,
    );
    await assert.rejects(env.ipam.setConfig({ maxBlocksPerHost: 3 }), /strictAffinity/);
    await assert.rejects(env.ipam.setConfig({ ipCooldownSeconds: 1201 }), /1200/);
    await env.ipam.setConfig({ strictAffinity: true, autoAllocateBlocks: false, ipCooldownSeconds: 30 });
    assert.deepEqual(await env.ipam.getConfig(), {
      strictAffinity: true,
      autoAllocateBlocks: false,
      maxBlocksPerHost: 0,
      ipCooldownSeconds: 30,
    });
  });

  void it('skips reserved addresses for new allocations only', opts, async (t) => {
    const env = await freshEnv(target, t);
    await addPools(env.backend, pool('p', { cidr: '10.50.0.0/26' }));
    const before = await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1', handleId: 'old' });
    assert.equal(before.ipv4[0]?.ip, '10.50.0.0');
    await env.backend.create(reservation('r', ['10.50.0.0/27']));
    const r = await env.ipam.autoAssign({ num4: 32, num6: 0, hostname: 'n1' });
    assert.ok(
      r.ipv4.every((a) => !inside('10.50.0.0/27', a.ip)),
      'no reserved address handed out',
    );
    await rejectsWith(env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1' }), 'exhausted');
    assert.equal((await env.ipam.getAssignmentAttributes('10.50.0.0'))?.handleId, 'old', 'existing kept');
    const [u] = await env.ipam.getUtilization();
    assert.deepEqual(
      { inUse: u?.inUse, reserved: u?.reserved, free: u?.free },
      { inUse: 33, reserved: 32, free: 0 },
    );
  });

  void it('keeps released addresses in cooldown, then reuses them (FIFO)', opts, async (t) => {
    const env = await freshEnv(target, t);
    await addPools(env.backend, pool('tiny', { cidr: '10.60.0.0/30', blockSize: 30 }));
    await env.ipam.setConfig({ ipCooldownSeconds: 60 });
    const r = await env.ipam.autoAssign({ num4: 4, num6: 0, hostname: 'n1', handleId: 'h' });
    const victim = r.ipv4[1]!.ip;
    const rel = await env.ipam.releaseIps([{ address: victim }]);
    assert.deepEqual(rel.released, [victim]);
    const cooling = await env.ipam.getAssignmentAttributes(victim);
    assert.equal(cooling?.handleId, undefined);
    assert.ok(cooling?.releasedAt !== undefined);
    assert.equal((await env.ipam.getUtilization())[0]?.cooling, 1);
    await rejectsWith(env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1' }), 'exhausted');
    env.clock.advance(60_000);
    const again = await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1', handleId: 'h2' });
    assert.equal(again.ipv4[0]?.ip, victim);
    assert.deepEqual((await env.ipam.store.getHandle('h'))?.spec.block, { '10.60.0.0/30': 3 });
  });

  void it(
    'releases by handle, refuses stale sequence numbers and assigns specific addresses',
    opts,
    async (t) => {
      const env = await freshEnv(target, t);
      await addPools(env.backend, pool('p', { cidr: '10.70.0.0/24' }));
      const r = await env.ipam.autoAssign({
        num4: 3,
        num6: 0,
        hostname: 'n1',
        handleId: 'k8s-pod-network.abc',
      });
      const released = await env.ipam.releaseByHandle('k8s-pod-network.abc');
      assert.deepEqual(released.sort(), r.ipv4.map((a) => a.ip).sort());
      assert.equal(await env.ipam.store.getHandle('k8s-pod-network.abc'), undefined);
      assert.deepEqual(await env.ipam.releaseByHandle('k8s-pod-network.abc'), []);
      // Stale sequence number: the address was released and handed out again since.
      await env.ipam.assignIp({ ip: '10.70.0.200', hostname: 'n1', handleId: 'x' });
      const seq = (await env.ipam.getAssignmentAttributes('10.70.0.200'))?.sequenceNumber ?? -1;
      await env.ipam.releaseIps([{ address: '10.70.0.200', sequenceNumber: seq }]);
      await env.ipam.assignIp({ ip: '10.70.0.200', hostname: 'n1', handleId: 'y' });
      await rejectsWith(
        env.ipam.releaseIps([{ address: '10.70.0.200', sequenceNumber: seq }]),
        'staleRelease',
      );
      assert.equal((await env.ipam.getAssignmentAttributes('10.70.0.200'))?.handleId, 'y');
      await rejectsWith(env.ipam.assignIp({ ip: '10.70.0.200', hostname: 'n1' }), 'alreadyAllocated');
      await rejectsWith(env.ipam.assignIp({ ip: '10.99.0.1', hostname: 'n1' }), 'notInPool');
      const none = await env.ipam.releaseIps([{ address: '10.70.0.9' }]);
      assert.deepEqual(none, { released: [], unallocated: ['10.70.0.9'] });
    },
  );

  void it('assigns both families and rolls back when one fails', opts, async (t) => {
    const env = await freshEnv(target, t);
    await addPools(env.backend, pool('v4', { cidr: '10.80.0.0/24' }), pool('v6', { cidr: 'fd80::/64' }));
    const r = await env.ipam.autoAssign({ num4: 1, num6: 2, hostname: 'n1', handleId: 'ds' });
    assert.equal(r.ipv4.length, 1);
    assert.equal(r.ipv6.length, 2);
    assert.ok(r.ipv6.every((a) => a.cidr.endsWith('/122') && inside('fd80::/64', a.ip)));
    await env.backend.update(pool('v6', { cidr: 'fd80::/64', disabled: true }));
    await rejectsWith(
      env.ipam.autoAssign({ num4: 1, num6: 1, hostname: 'n1', handleId: 'partial' }),
      'noQualifiedPool',
    );
    assert.deepEqual(await env.ipam.ipsByHandle('partial'), [], 'the IPv4 half was released');
    assert.equal(await env.ipam.store.getHandle('partial'), undefined);
    const usage = await env.ipam.getUtilization();
    assert.equal(usage.find((p) => p.name === 'v4')?.inUse, 1);
  });

  void it(
    'filters pools by version, disabled, use, selectors, request, assignment mode and status',
    opts,
    async (t) => {
      const env = await freshEnv(target, t);
      await addPools(
        env.backend,
        pool('a-disabled', { cidr: '10.1.0.0/24', disabled: true }),
        pool('b-tunnel', { cidr: '10.2.0.0/24', allowedUses: ['Tunnel'] }),
        pool('c-rack', { cidr: '10.3.0.0/24', nodeSelector: "rack == 'r1'" }),
        pool('d-manual', { cidr: '10.4.0.0/24', assignmentMode: 'Manual' }),
        pool(
          'e-full',
          { cidr: '10.5.0.0/24' },
          { conditions: [{ type: 'Allocatable', status: 'False', reason: 'CIDROverlap' }] },
        ),
        pool('f-ns', { cidr: '10.6.0.0/24', namespaceSelector: "team == 'blue'" }),
      );
      const ip = async (args: Partial<Parameters<typeof env.ipam.autoAssign>[0]>): Promise<string> =>
        (await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1', ...args })).ipv4[0]?.ip ?? '';
      await rejectsWith(env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1' }), 'noQualifiedPool');
      assert.ok(inside('10.2.0.0/24', await ip({ intendedUse: 'Tunnel' })));
      assert.ok(inside('10.3.0.0/24', await ip({ nodeLabels: { rack: 'r1' } })));
      assert.ok(inside('10.4.0.0/24', await ip({ ipv4Pools: ['d-manual'] })));
      assert.ok(inside('10.6.0.0/24', await ip({ namespaceLabels: { team: 'blue' } })));
      assert.ok(inside('10.3.0.0/24', await ip({ ipv4Pools: ['10.3.0.0/24'], nodeLabels: { rack: 'r1' } })));
      await rejectsWith(
        env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1', ipv4Pools: ['nope'] }),
        'poolNotUsable',
      );
      await rejectsWith(
        env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1', ipv4Pools: ['a-disabled'] }),
        'poolNotUsable',
      );
      await rejectsWith(env.ipam.autoAssign({ num4: 0, num6: 1, hostname: 'n1' }), 'noQualifiedPool');
    },
  );

  void it('takes over an empty block of another host once its claim is a minute old', opts, async (t) => {
    const env = await freshEnv(target, t);
    await addPools(env.backend, pool('one', { cidr: '10.90.0.0/26' }));
    await env.ipam.setConfig({ strictAffinity: true });
    assert.equal(await env.ipam.ensureBlockAffinity('old-node', '10.90.0.0/26'), 'claimed');
    await rejectsWith(env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'new-node' }), 'exhausted');
    env.clock.advance(61_000);
    const r = await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'new-node' });
    assert.equal(r.ipv4[0]?.block, '10.90.0.0/26');
    assert.equal((await env.ipam.store.getBlock('10.90.0.0/26'))?.spec.affinity, 'host:new-node');
    assert.equal(await env.ipam.store.getAffinity('old-node', '10.90.0.0/26'), undefined);
    assert.equal((await env.backend.get({ kind: 'IPAMBlock', name: '10-90-0-0-26' })).apiVersion, V3);
  });
}
