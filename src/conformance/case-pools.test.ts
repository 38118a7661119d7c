import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openBackend } from '../datastore/index.js';
import { formatCidr, parseCidr } from '../lib/net/ip.js';
import {
  V6_CASE_BLOCK_SIZE,
  casePool,
  ensureCasePools,
  missingPoolCidrs,
  poolViews,
  type PoolView,
} from './case-pools.js';
import { mapAddressToV6 } from './cases.js';

function pool(name: string, cidr: string, disabled = false): PoolView {
  const c = parseCidr(cidr);
  assert.ok(c);
  return { name, cidr: c, disabled };
}

function missing(ips: readonly string[], pools: readonly PoolView[]): string[] {
  const r = missingPoolCidrs(ips, pools);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value.map(formatCidr);
}

describe('case IP pools', () => {
  test('one /16 per uncovered IPv4 /16, none for covered addresses', () => {
    assert.deepEqual(missing(['10.244.1.10', '10.244.2.10', '10.9.0.1'], []), [
      '10.244.0.0/16',
      '10.9.0.0/16',
    ]);
    assert.deepEqual(missing(['10.244.1.10', '10.244.50.10'], [pool('default', '10.244.0.0/16')]), []);
    assert.deepEqual(missing(['10.244.1.10'], [pool('wide', '10.0.0.0/8')]), []);
  });

  test('IPv6: the /112 around each mapped address', () => {
    const ips = ['10.244.1.10', '10.244.9.10', '10.245.0.1'].map(mapAddressToV6);
    assert.deepEqual(missing(ips, []), ['fd00::af4:0/112', 'fd00::af5:0/112']);
  });

  test('narrows a pool until it overlaps no existing one', () => {
    // 10.244.0.0/16 (and /17 .. /21) would contain the existing /24.
    assert.deepEqual(missing(['10.244.1.10'], [pool('p', '10.244.5.0/24')]), ['10.244.0.0/22']);
    assert.deepEqual(missing(['10.244.1.20'], [pool('p', '10.244.1.0/28')]), ['10.244.1.16/28']);
    // The second address lies in the pool chosen for the first: one pool.
    assert.deepEqual(missing(['10.244.1.10', '10.244.3.1', '10.244.4.1'], [pool('p', '10.244.5.0/24')]), [
      '10.244.0.0/22',
      '10.244.4.0/24',
    ]);
  });

  test('an address in a disabled pool, or no address at all, is an error', () => {
    const r = missingPoolCidrs(['10.244.1.10'], [pool('off', '10.244.0.0/16', true)]);
    assert.ok(!r.ok);
    assert.match(r.error, /disabled IP pool off/);
    assert.equal(missingPoolCidrs(['nope'], []).ok, false);
  });

  test('the pool object is a valid IPPool routed like the lab mode', () => {
    const v4 = casePool(parseCidr('10.244.0.0/16')!, 'vxlan') as unknown as {
      metadata: { name: string };
      spec: Record<string, unknown>;
    };
    assert.equal(v4.metadata.name, 'conformance-10-244-0-0-16');
    assert.equal(v4.spec['vxlanMode'], 'Always');
    assert.equal(v4.spec['blockSize'], 26);
    const narrow = casePool(parseCidr('10.244.1.16/28')!, 'static') as unknown as {
      spec: Record<string, unknown>;
    };
    assert.equal(narrow.spec['blockSize'], 28);
    assert.equal(narrow.spec['vxlanMode'], 'Never');
    const v6 = casePool(parseCidr('fd00::af4:0/112')!, 'static') as unknown as {
      spec: Record<string, unknown>;
    };
    assert.equal(v6.spec['blockSize'], V6_CASE_BLOCK_SIZE);
  });

  test('creates the missing pools once, in the datastore', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'case-pools-'));
    const backend = await openBackend({ datastoreType: 'embedded', datastorePath: join(dir, 'calico.db') });
    try {
      const ips = ['10.244.1.10', '10.9.0.1'];
      assert.deepEqual(await ensureCasePools(backend, ips, { network: 'static' }), [
        '10.244.0.0/16',
        '10.9.0.0/16',
      ]);
      assert.deepEqual(await ensureCasePools(backend, ips, { network: 'static' }), []);
      const { items } = await backend.list({ kind: 'IPPool' });
      assert.deepEqual(
        poolViews(items)
          .map((p) => formatCidr(p.cidr))
          .sort(),
        ['10.244.0.0/16', '10.9.0.0/16'],
      );
    } finally {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
