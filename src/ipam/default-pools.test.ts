import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Backend, Resource } from '../datastore/api.js';
import { openBackend } from '../datastore/config.js';
import { defaultPoolSpec, ensureDefaultPools, planDefaultPools } from './default-pools.js';

const ensure = (b: Backend, env: Record<string, string>): Promise<string[]> =>
  ensureDefaultPools(b, planDefaultPools(env));

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
    assert.deepEqual(await ensure(b, {}), ['default-ipv4-ippool']);
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
    assert.deepEqual(await ensure(b, {}), [], 'idempotent');
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
    assert.deepEqual((await ensure(b, env)).sort(), ['default-ipv4-ippool', 'default-ipv6-ippool']);
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

  it('honours NO_DEFAULT_POOLS, `none` and existing pools', async (t) => {
    const b = await store(t);
    assert.deepEqual(await ensure(b, { NO_DEFAULT_POOLS: 'true' }), []);
    assert.deepEqual(await ensure(b, { CALICO_IPV4POOL_CIDR: 'none', CALICO_IPV6POOL_CIDR: 'none' }), []);
    await b.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'mine' },
      spec: { cidr: '10.1.0.0/16' },
    } as Resource);
    assert.deepEqual(await ensure(b, {}), [], 'an IPv4 pool exists already');
    assert.deepEqual(
      (await b.list({ kind: 'IPPool' })).items.map((p) => p.metadata.name),
      ['mine'],
    );
    assert.equal(defaultPoolSpec(4, { CALICO_IPV4POOL_VXLAN: 'cross-subnet' }).vxlanMode, 'CrossSubnet');
    assert.equal(defaultPoolSpec(4, { CALICO_IPV4POOL_IPIP: 'Off' }).ipipMode, 'Never');
    assert.equal(
      defaultPoolSpec(6, { CALICO_IPV6POOL_IPIP: 'Always' }).ipipMode,
      'Never',
      'v4 only, as Calico',
    );
  });

  it('validates every variable up front, naming each, whether or not a pool would be created', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ CALICO_IPV4POOL_IPIP: 'sometimes' }, /CALICO_IPV4POOL_IPIP: invalid value "sometimes"/],
      [{ CALICO_IPV4POOL_CIDR: '10.0.0.1/16' }, /CALICO_IPV4POOL_CIDR: .*strictly masked/],
      [{ CALICO_IPV4POOL_CIDR: 'fd00::/64' }, /CALICO_IPV4POOL_CIDR: fd00::\/64 is not an IPv4 CIDR/],
      [{ CALICO_IPV4POOL_CIDR: 'ten' }, /CALICO_IPV4POOL_CIDR: /],
      [{ CALICO_IPV4POOL_BLOCK_SIZE: '19' }, /CALICO_IPV4POOL_BLOCK_SIZE: /],
      [{ CALICO_IPV4POOL_BLOCK_SIZE: 'big' }, /CALICO_IPV4POOL_BLOCK_SIZE: invalid block size "big"/],
      [{ CALICO_IPV4POOL_NODE_SELECTOR: 'all(' }, /CALICO_IPV4POOL_NODE_SELECTOR: /],
      [{ CALICO_IPV4POOL_NAT_OUTGOING: 'perhaps' }, /CALICO_IPV4POOL_NAT_OUTGOING: invalid boolean/],
      [
        { CALICO_IPV4POOL_IPIP: 'Always', CALICO_IPV4POOL_VXLAN: 'Always' },
        /CALICO_IPV4POOL_IPIP: .*both be enabled/,
      ],
      [
        { CALICO_IPV6POOL_CIDR: 'fd00::/48', CALICO_IPV6POOL_BLOCK_SIZE: '26' },
        /CALICO_IPV6POOL_BLOCK_SIZE: /,
      ],
      [{ CALICO_IPV6POOL_CIDR: '10.0.0.0/8' }, /CALICO_IPV6POOL_CIDR: 10\.0\.0\.0\/8 is not an IPv6 CIDR/],
      [{ NO_DEFAULT_POOLS: 'true', CALICO_IPV4POOL_CIDR: '10.0.0.0/16' }, /NO_DEFAULT_POOLS: true, but/],
      [{ NO_DEFAULT_POOLS: 'maybe' }, /NO_DEFAULT_POOLS: invalid boolean/],
    ];
    for (const [env, want] of bad) {
      assert.throws(() => planDefaultPools(env), want, JSON.stringify(env));
    }
    // Every problem at once.
    assert.throws(
      () =>
        planDefaultPools({
          CALICO_IPV4POOL_VXLAN: 'x',
          CALICO_IPV4POOL_BLOCK_SIZE: 'y',
          CALICO_IPV6POOL_CIDR: 'fd00::/48',
          CALICO_IPV6POOL_NAT_OUTGOING: 'z',
        }),
      /CALICO_IPV4POOL_VXLAN: .*; CALICO_IPV4POOL_BLOCK_SIZE: .*; CALICO_IPV6POOL_NAT_OUTGOING: /,
    );
  });
});
