import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { openBackend } from '../../../datastore/config.js';
import type { Backend, Resource } from '../../../datastore/api.js';
import { IpamClient, type CheckReport } from '../../../ipam/index.js';
import { runIpam } from './testing.js';

const V3 = 'projectcalico.org/v3';
let root = '';
let n = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'calico-ipam-cli-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Env {
  readonly backend: Backend;
  readonly ipam: IpamClient;
  readonly dir: string;
  run(...args: string[]): ReturnType<typeof runIpam>;
}

async function fresh(t: TestContext): Promise<Env> {
  const dir = join(root, `t${n++}`);
  const cfgFile = join(root, `cfg-${n}.yaml`);
  await writeFile(
    cfgFile,
    `apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\nspec:\n  datastoreType: embedded\n  datastorePath: ${join(dir, 'calico.db')}\n`,
  );
  const backend = await openBackend({ datastoreType: 'embedded', datastorePath: join(dir, 'calico.db') });
  t.after(() => backend.close());
  return { backend, ipam: new IpamClient(backend), dir, run: (...args) => runIpam([...args, '-c', cfgFile]) };
}

const pool = (name: string, spec: Record<string, unknown>): Resource =>
  ({ apiVersion: V3, kind: 'IPPool', metadata: { name }, spec }) as Resource;

function wep(name: string, ip: string): Resource {
  return {
    apiVersion: V3,
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace: 'default' },
    spec: { node: 'n1', interfaceName: 'cali1', ipNetworks: [`${ip}/32`] },
  } as Resource;
}

describe('calicoctl ipam show', () => {
  it('prints pool usage, and block rows with --show-blocks', async (t) => {
    const env = await fresh(t);
    await env.backend.create(pool('p', { cidr: '10.0.0.0/24' }));
    await env.backend.create({
      apiVersion: V3,
      kind: 'IPReservation',
      metadata: { name: 'r' },
      spec: { reservedCIDRs: ['10.0.0.250/31'] },
    } as Resource);
    await env.ipam.assignIp({ ip: '10.0.0.1', hostname: 'n1', handleId: 'a' });
    await env.ipam.assignIp({ ip: '10.0.0.2', hostname: 'n1', handleId: 'b' });
    const r = await env.run('ipam', 'show');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        '+----------+-------------+-----------+------------+--------------+-----------+-------------+',
        '| GROUPING | CIDR        | IPS TOTAL | IPS IN USE | IPS RESERVED | IPS FREE  | IPS COOLING |',
        '+----------+-------------+-----------+------------+--------------+-----------+-------------+',
        '| IP Pool  | 10.0.0.0/24 |       256 |     2 (1%) |       2 (1%) | 252 (98%) |      0 (0%) |',
        '+----------+-------------+-----------+------------+--------------+-----------+-------------+',
        '',
      ].join('\n'),
    );
    const blocks = await env.run('ipam', 'show', '--show-blocks');
    assert.match(
      blocks.stdout,
      /\| Block {4}\| 10\.0\.0\.0\/26 \|\s+64 \|\s+2 \(3%\) \|\s+0 \(0%\) \|\s+62 \(97%\) \|\s+0 \(0%\) \|/,
    );
  });

  it('reports one address with --ip', async (t) => {
    const env = await fresh(t);
    await env.backend.create(pool('p', { cidr: '10.0.0.0/24' }));
    await env.ipam.assignIp({
      ip: '10.0.0.7',
      hostname: 'n1',
      handleId: 'k8s-pod-network.c1',
      attrs: { pod: 'web', namespace: 'default', node: 'n1' },
    });
    const used = await env.run('ipam', 'show', '--ip', '10.0.0.7');
    assert.equal(
      used.stdout,
      'IP 10.0.0.7 is in use\nHandle ID: k8s-pod-network.c1\nActive Owner Attributes:\n  namespace: default\n  node: n1\n  pod: web\n',
    );
    assert.equal((await env.run('ipam', 'show', '--ip=10.0.0.8')).stdout, '10.0.0.8 is not assigned\n');
    const bad = await env.run('ipam', 'show', '--ip', '10.0.0.300');
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, 'Error executing command: invalid IP address specified: 10.0.0.300\n');
  });

  it('lists borrowed addresses and the configuration', async (t) => {
    const env = await fresh(t);
    await env.backend.create(pool('p', { cidr: '10.0.0.0/26' }));
    await env.ipam.autoAssign({ num4: 1, num6: 0, hostname: 'n1', attrs: { node: 'n1' } });
    const b = await env.ipam.autoAssign({
      num4: 1,
      num6: 0,
      hostname: 'n2',
      attrs: { node: 'n2', pod: 'p', namespace: 'ns' },
    });
    const out = (await env.run('ipam', 'show', '--show-borrowed')).stdout;
    assert.match(out, /\| IP\s+\| BORROWING-NODE \| BLOCK\s+\| BLOCK OWNER \| TYPE \| ALLOCATED-TO \|/);
    assert.ok(
      out.includes(
        `| ${b.ipv4[0]?.ip ?? '?'} | n2             | 10.0.0.0/26 | n1          | pod  | ns/p         |`,
      ),
      out,
    );
    const cfg = (await env.run('ipam', 'show', '--show-configuration')).stdout;
    assert.ok(cfg.includes('| StrictAffinity               | false                             |'), cfg);
    assert.ok(cfg.includes('| IPCooldownSeconds            | 0                                 |'), cfg);
  });
});

describe('calicoctl ipam configure', () => {
  it('sets fields, keeps the others, and reports bad values as calicoctl does', async (t) => {
    const env = await fresh(t);
    const ok = await env.run('ipam', 'configure', '--strictaffinity=true', '--max-blocks-per-host', '4');
    assert.equal(
      ok.stdout,
      'Successfully set StrictAffinity to: true\nSuccessfully set MaxBlocksPerHost to: 4\n',
    );
    const more = await env.run(
      'ipam',
      'configure',
      '--ip-cooldown-seconds=30',
      '--kubevirt-ip-persistence=Disabled',
    );
    assert.equal(
      more.stdout,
      'Successfully set KubeVirtVMAddressPersistence to: Disabled\nSuccessfully set IPCooldownSeconds to: 30\n',
    );
    assert.deepEqual(await env.ipam.getConfig(), {
      strictAffinity: true,
      autoAllocateBlocks: true,
      maxBlocksPerHost: 4,
      ipCooldownSeconds: 30,
      kubeVirtVMAddressPersistence: 'Disabled',
    });
    const none = await env.run('ipam', 'configure');
    assert.equal(none.status, 1);
    assert.equal(none.stderr, 'at least one configuration option must be specified\n');
    assert.equal(
      (await env.run('ipam', 'configure', '--strictaffinity=yes')).stderr,
      'invalid value. Use true or false to set strictaffinity\n',
    );
    assert.equal(
      (await env.run('ipam', 'configure', '--max-blocks-per-host=x')).stderr,
      'invalid value for maxblockhost. Use a valid number\n',
    );
    const rule = await env.run('ipam', 'configure', '--strictaffinity=false');
    assert.equal(rule.status, 1);
    assert.match(rule.stderr, /^error: .*maxBlocksPerHost can only be set when strictAffinity is true/);
  });
});

describe('calicoctl ipam check and release', () => {
  it('finds leaked addresses, writes a report, and releases from it with the lock and GUID checks', async (t) => {
    const env = await fresh(t);
    await env.backend.create(pool('p', { cidr: '10.9.0.0/24' }));
    await env.backend.create({
      apiVersion: V3,
      kind: 'ClusterInformation',
      metadata: { name: 'default' },
      spec: { clusterGUID: 'abc123', datastoreReady: true },
    } as Resource);
    const used = await env.ipam.autoAssign({
      num4: 1,
      num6: 0,
      hostname: 'n1',
      handleId: 'used',
      attrs: { node: 'n1' },
    });
    await env.ipam.autoAssign({ num4: 2, num6: 0, hostname: 'n1', handleId: 'leak', attrs: { node: 'n1' } });
    await env.backend.create(wep('pod-a', used.ipv4[0]?.ip ?? ''));
    await env.backend.create(wep('pod-b', '10.9.0.200'));
    const reportFile = join(env.dir, 'report.json');
    const check = await env.run('ipam', 'check', '--show-problem-ips', '-o', reportFile);
    assert.equal(check.status, 0, check.stderr);
    assert.ok(
      check.stdout.startsWith(
        'Checking IPAM for inconsistencies...\n\nLoading all IPAM blocks...\nFound 1 IPAM blocks.\n',
      ),
    );
    assert.match(check.stdout, /leaked; attrs Main:leak Extra:node=n1\n/);
    assert.match(check.stdout, /Found 2 IPs that are allocated in IPAM but not actually in use\.\n/);
    assert.match(
      check.stdout,
      /10\.9\.0\.200 in use by Workload\(default\/pod-b\) and in active IPAM pool but has no IPAM allocation\./,
    );
    assert.match(
      check.stdout,
      /Found 1 in-use IPs that are in active IP pools but have no corresponding IPAM allocation\./,
    );
    assert.ok(check.stdout.endsWith('Check complete; found 3 problems.\n'), check.stdout);
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as CheckReport;
    assert.equal(report.clusterGUID, 'abc123');
    assert.equal(
      Object.values(report.allocations)
        .flat()
        .filter((a) => !a.inUse).length,
      2,
    );

    const unlocked = await env.run('ipam', 'release', '--from-report', reportFile);
    assert.equal(unlocked.status, 1);
    assert.equal(
      unlocked.stderr,
      'data store is not locked. Either lock the data store, or re-run with --force\n',
    );
    const forged = join(env.dir, 'forged.json');
    await writeFile(forged, JSON.stringify({ ...report, clusterGUID: 'other' }));
    assert.match(
      (await env.run('ipam', 'release', '--from-report', forged, '--force')).stderr,
      /mismatched cluster GUID/,
    );

    const forced = await env.run('ipam', 'release', '--from-report', reportFile, '--force');
    assert.equal(forced.status, 0, forced.stderr);
    assert.ok(forced.stdout.includes('WARNING: Data store is not locked. Ignoring due to --force option\n'));
    assert.ok(forced.stdout.includes('Releasing 2 old IPs...\nReleased 2 IPs successfully\n'), forced.stdout);
    assert.ok(forced.stdout.endsWith('You may now unlock the data store.\n'));
    const after = await env.run('ipam', 'check');
    assert.ok(after.stdout.endsWith('Check complete; found 1 problems.\n'), after.stdout);
    assert.deepEqual(await env.ipam.ipsByHandle('used'), [used.ipv4[0]?.ip]);
  });

  it('releases a single address, or says it is not assigned', async (t) => {
    const env = await fresh(t);
    await env.backend.create(pool('p', { cidr: '10.8.0.0/24' }));
    await env.ipam.assignIp({ ip: '10.8.0.9', hostname: 'n1', handleId: 'h' });
    const ok = await env.run('ipam', 'release', '--ip', '10.8.0.9');
    assert.equal(ok.stdout, 'Successfully released IP address 10.8.0.9\n');
    const again = await env.run('ipam', 'release', '--ip', '10.8.0.9');
    assert.equal(again.status, 1);
    assert.equal(again.stderr, 'IP address 10.8.0.9 is not assigned\n');
    assert.equal(
      (await env.run('ipam', 'release', '--ip', 'x')).stdout,
      'Error executing command: invalid IP address specified: x\n',
    );
  });
});
