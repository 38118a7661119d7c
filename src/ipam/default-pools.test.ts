import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Backend, Resource } from '../datastore/api.js';
import { openBackend } from '../datastore/config.js';
import { defaultPoolSpec, ensureDefaultPools } from './default-pools.js';

let dir = '';
let n = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'calico-pools-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function store(t: TestContext): Promise<Backend> {
  const b = await openBackend({ datastoreType: 'embedded', datastorePath: join(dir, `s${n++}.db`) });
  t.after(() => b.close());
  return b;
}

const specOf = (r: Resource): unknown => (r as Resource & { spec: unknown }).spec;

describe('default IP pools', () => {
  it('creates default-ipv4-ippool with Calico defaults', async (t) => {
    const b = await store(t);
    assert.deepEqual(await ensureDefaultPools(b, {}), ['default-ipv4-ippool']);
    const p = await b.get({ kind: 'IPPool', name: 'default-ipv4-ippool' });
    assert.deepEqual(specOf(p), {
      cidr: '192.168.0.0/16',
      vxlanMode: 'Never',
      ipipMode: 'Never',
      natOutgoing: true,
      blockSize: 26,
      nodeSelector: 'all()',
      allowedUses: ['Tunnel', 'Workload'],
      assignmentMode: 'Automatic',
    });
    assert.deepEqual(await ensureDefaultPools(b, {}), [], 'idempotent');
  });

  it('reads CALICO_IPV4POOL_* and CALICO_IPV6POOL_* variables', async (t) => {
    const b = await store(t);
    const env = {
      CALICO_IPV4POOL_CIDR: '10.244.0.0/16',
      CALICO_IPV4POOL_BLOCK_SIZE: '24',
      CALICO_IPV4POOL_IPIP: 'always',
      CALICO_IPV4POOL_NAT_OUTGOING: 'false',
      CALICO_IPV4POOL_NODE_SELECTOR: "role == 'worker'",
      CALICO_IPV4POOL_DISABLE_BGP_EXPORT: 'true',
      CALICO_IPV6POOL_CIDR: 'fd00:10::/48',
      CALICO_IPV6POOL_VXLAN: 'CrossSubnet',
    };
    assert.deepEqual((await ensureDefaultPools(b, env)).sort(), [
      'default-ipv4-ippool',
      'default-ipv6-ippool',
    ]);
    const v4 = specOf(await b.get({ kind: 'IPPool', name: 'default-ipv4-ippool' })) as Record<
      string,
      unknown
    >;
    assert.equal(v4['cidr'], '10.244.0.0/16');
    assert.equal(v4['blockSize'], 24);
    assert.equal(v4['ipipMode'], 'Always');
    assert.equal(v4['natOutgoing'], false);
    assert.equal(v4['nodeSelector'], "role == 'worker'");
    assert.equal(v4['disableBGPExport'], true);
    const v6 = specOf(await b.get({ kind: 'IPPool', name: 'default-ipv6-ippool' })) as Record<
      string,
      unknown
    >;
    assert.equal(v6['vxlanMode'], 'CrossSubnet');
    assert.equal(v6['natOutgoing'], false);
    assert.equal(v6['blockSize'], 122);
  });

  it('honours NO_DEFAULT_POOLS and existing pools, and rejects bad variables', async (t) => {
    const b = await store(t);
    assert.deepEqual(await ensureDefaultPools(b, { NO_DEFAULT_POOLS: 'true' }), []);
    await b.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'mine' },
      spec: { cidr: '10.1.0.0/16' },
    } as Resource);
    assert.deepEqual(await ensureDefaultPools(b, {}), [], 'an IPv4 pool exists already');
    assert.equal(defaultPoolSpec(4, { CALICO_IPV4POOL_VXLAN: 'cross-subnet' }).vxlanMode, 'CrossSubnet');
    assert.equal(defaultPoolSpec(4, { CALICO_IPV4POOL_IPIP: 'Off' }).ipipMode, 'Never');
    assert.throws(() => defaultPoolSpec(4, { CALICO_IPV4POOL_IPIP: 'sometimes' }), /CALICO_IPV4POOL_IPIP/);
    const fresh = await store(t);
    await assert.rejects(
      ensureDefaultPools(fresh, { CALICO_IPV4POOL_CIDR: '10.0.0.1/16' }),
      /strictly masked/,
    );
    await assert.rejects(
      ensureDefaultPools(fresh, { CALICO_IPV4POOL_IPIP: 'Always', CALICO_IPV4POOL_VXLAN: 'Always' }),
      /both be enabled/,
    );
    await assert.rejects(ensureDefaultPools(fresh, { CALICO_IPV4POOL_CIDR: 'fd00::/64' }), /IPv4/);
    assert.deepEqual((await fresh.list({ kind: 'IPPool' })).items, [], 'nothing written on error');
  });
});
