import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Backend, Resource } from '../datastore/api.js';
import { openBackend } from '../datastore/config.js';
import { IpamClient } from './allocator.js';
import { newBlock } from './block.js';
import { type CheckReport, type IpOwner, checkIpam, datastoreOwners } from './check.js';
import { parseCidr } from '../lib/net/ip.js';
import { WINDOWS_RESERVED_HANDLE } from './names.js';
import { mergeReports, releaseFromReports } from './release-report.js';

const V3 = 'projectcalico.org/v3';
const VERSION = 'v-test';
let dir = '';
let n = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'calico-check-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setup(t: TestContext): Promise<{ backend: Backend; ipam: IpamClient }> {
  const backend = await openBackend({ datastoreType: 'embedded', datastorePath: join(dir, `c${n++}.db`) });
  t.after(() => backend.close());
  await backend.create({
    apiVersion: V3,
    kind: 'IPPool',
    metadata: { name: 'p' },
    spec: { cidr: '10.0.0.0/24' },
  } as Resource);
  return { backend, ipam: new IpamClient(backend) };
}

const check = (backend: Backend, owners: IpOwner[] = []) =>
  checkIpam(backend, { version: VERSION, listOwners: () => Promise.resolve(owners) });

const quiet = { force: true, version: VERSION, print: () => undefined };

describe('ipam check analysis', () => {
  it('classifies owned, leaked, cooling, unallocated and outside-pool addresses', async (t) => {
    const { backend, ipam } = await setup(t);
    await ipam.setConfig({ ipCooldownSeconds: 600 });
    await ipam.assignIp({ ip: '10.0.0.1', hostname: 'n1', handleId: 'a', attrs: { node: 'n1' } });
    await ipam.assignIp({ ip: '10.0.0.2', hostname: 'n1', handleId: 'b', attrs: { node: 'n2' } });
    await ipam.assignIp({ ip: '10.0.0.3', hostname: 'n1', handleId: 'c' });
    await ipam.releaseIps([{ address: '10.0.0.3' }]);
    await backend.create({
      apiVersion: V3,
      kind: 'Node',
      metadata: { name: 'n1' },
      spec: { bgp: { ipv4IPIPTunnelAddr: '10.0.0.1' }, ipv4VXLANTunnelAddr: '192.0.2.9' },
    } as Resource);
    const extra: IpOwner[] = [
      { ip: '10.0.0.50', owner: 'Workload(x/y)', kind: 'Workload' },
      { ip: '10.0.0.1/32', owner: 'Workload(x/z)', kind: 'Workload' },
    ];
    const r = await checkIpam(backend, {
      version: VERSION,
      listOwners: async () => [...(await datastoreOwners(backend)), ...extra],
    });
    assert.deepEqual(
      r.leaked.map((l) => l.ip),
      ['10.0.0.2'],
    );
    assert.deepEqual(
      r.cooling.map((c) => c.ip),
      ['10.0.0.3'],
    );
    assert.deepEqual(r.notAllocated, [{ ip: '10.0.0.50', owners: ['Workload(x/y)'] }]);
    assert.deepEqual(r.notInPools, [{ ip: '192.0.2.9', owners: ['Node(n1)'] }]);
    assert.deepEqual(r.multipleOwners, ['10.0.0.1']);
    const a = r.report.allocations['10.0.0.2']?.[0];
    assert.equal(a?.borrowed, true, 'allocated by n2 in a block of n1');
    assert.equal(a.inUse, false);
    const owned = r.report.allocations['10.0.0.1']?.[0];
    assert.deepEqual(owned?.owners, ['Node(n1)', 'Workload(x/z)']);
    assert.equal(owned.inUse, true);
    assert.equal(r.report.allocations['10.0.0.3'], undefined, 'cooling is not an allocation to release');
    assert.equal(r.problems, 3);
  });

  it('reports handle, block and affinity problems, and release fixes what it can', async (t) => {
    const { backend, ipam } = await setup(t);
    const s = ipam.store;
    // A handle without addresses (interrupted assignment) and an address whose handle is missing.
    await s.createHandle({ handleID: 'orphan', block: { '10.0.0.0/26': 1 } });
    await ipam.assignIp({ ip: '10.0.0.5', hostname: 'n1', handleId: 'gone' });
    await s.deleteHandle((await s.getHandle('gone'))!);
    // A damaged block, and a Windows-reserved address (in use by definition).
    const damaged = newBlock(parseCidr('10.0.0.128/26')!, { sequenceNumber: 1 });
    damaged.unallocated = damaged.unallocated.slice(1);
    await s.createBlock(damaged);
    const win = newBlock(parseCidr('10.0.0.192/26')!, { affinity: 'host:w', sequenceNumber: 1 });
    win.allocations[0] = 0;
    win.unallocated = win.unallocated.slice(1);
    win.attributes = [{ handle_id: WINDOWS_RESERVED_HANDLE }];
    await s.createBlock(win);
    // Affinities: interrupted release (empty block), confirmed without block, interrupted claim (block is ours).
    await ipam.ensureBlockAffinity('n2', '10.0.0.64/26');
    const a2 = (await s.getAffinity('n2', '10.0.0.64/26'))!;
    await s.updateAffinity(a2, { ...a2.spec, state: 'pendingDeletion' });
    await s.createAffinity({ state: 'confirmed', node: 'n3', type: 'host', cidr: '10.0.1.0/26' });
    await s.createAffinity({ state: 'pending', node: 'w', type: 'host', cidr: '10.0.0.192/26' });

    const r = await check(backend, [{ ip: '10.0.0.5', owner: 'Workload(a/b)', kind: 'Workload' }]);
    assert.deepEqual(r.leakedHandles, ['orphan']);
    assert.deepEqual(r.missingHandles, ['gone']);
    assert.deepEqual(
      r.report.invalidBlocks?.map((b) => b.cidr),
      ['10.0.0.128/26'],
    );
    assert.deepEqual(r.leaked, []);
    assert.deepEqual(r.report.staleAffinities?.map((a) => [a.node, a.problem]).sort(), [
      ['n2', 'pendingDeletion'],
      ['n3', 'blockMissing'],
      ['w', 'pending'],
    ]);
    assert.equal(r.problems, 5, 'missing handles are reported but not counted, as calicoctl');

    const result = await releaseFromReports(ipam, [r.report], quiet);
    assert.equal(result.releasedHandles, 1);
    assert.equal(result.fixedAffinities, 3);
    assert.equal(await s.getBlock('10.0.0.64/26'), undefined, 'the interrupted release was finished');
    assert.equal(
      (await s.getAffinity('w', '10.0.0.192/26'))?.spec.state,
      'confirmed',
      'the claim was completed',
    );
    const again = await check(backend, [{ ip: '10.0.0.5', owner: 'Workload(a/b)', kind: 'Workload' }]);
    assert.equal(again.problems, 1, 'only the damaged block is left for a human');
  });

  it('acts only on problems every report agrees on, and only if nothing changed since', async (t) => {
    const { backend, ipam } = await setup(t);
    await ipam.assignIp({ ip: '10.0.0.10', hostname: 'n1', handleId: 'x' });
    await ipam.assignIp({ ip: '10.0.0.11', hostname: 'n1', handleId: 'y' });
    await ipam.store.createHandle({ handleID: 'h-old', block: {} });
    const first = (await check(backend)).report;
    // 10.0.0.11 turns out to be owned; h-old is rewritten after the first report.
    const h = (await ipam.store.getHandle('h-old'))!;
    await ipam.store.updateHandle(h, { ...h.spec, block: { '10.0.0.0/26': 0 } });
    const second = (await check(backend, [{ ip: '10.0.0.11', owner: 'Workload(a/b)', kind: 'Workload' }]))
      .report;
    const merged = mergeReports([first, second]);
    assert.deepEqual([...merged.ips.keys()], ['10.0.0.10']);
    assert.deepEqual([...merged.handles.keys()], []);
    const lines: string[] = [];
    await releaseFromReports(ipam, [first, second], { ...quiet, print: (l) => lines.push(l) });
    assert.ok(lines.includes('Released 1 IPs successfully'), lines.join('\n'));
    assert.deepEqual(await ipam.ipsByHandle('y'), ['10.0.0.11']);
    // A stale report: the address was released and reassigned since; its sequence number no longer matches.
    await ipam.assignIp({ ip: '10.0.0.10', hostname: 'n1', handleId: 'new' });
    const stale: CheckReport = first;
    lines.length = 0;
    await releaseFromReports(ipam, [stale], { ...quiet, print: (l) => lines.push(l) });
    assert.ok(
      lines.some((l) => l.startsWith('An error occurred while releasing some IPs')),
      lines.join('\n'),
    );
    assert.deepEqual(await ipam.ipsByHandle('new'), ['10.0.0.10']);
  });
});
