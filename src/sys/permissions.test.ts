/**
 * Issue 9, files and sockets: with the process umask at 000 (the worst a service manager can hand us),
 * everything calico-ts creates on a node has its intended mode. The database, its WAL and journal, the IPAM
 * lock, the CNI log and the agent's CNI socket are owner-only; status files and configs are not writable by
 * others; no directory is world-writable. Files left world-open by an older build are narrowed.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cniServerConfig, startCniServer } from '../agent/cni-server.js';
import { createLogger } from '../agent/log.js';
import { AgentHost } from '../cni/agent-host.js';
import { AgentStatusWriter } from '../cni/agent-status.js';
import { installCni } from '../cni/install.js';
import { acquireHostLock } from '../cni/lock.js';
import { fileLogger } from '../cni/log.js';
import { CniCode, CniError } from '../cni/spec.js';
import { FakeCommandRunner } from '../dataplane/exec/fake-runner.js';
import { openSqliteBackend } from '../datastore/sqlite/sqlite-backend.js';
import { repoRoot } from '../test-support/repo.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-perm-'));
const savedUmask = process.umask(0);

/** The mode as `ls` people read it, so a failure says 0644 where 0600 was wanted. */
const modeOf = (p: string): string => `0${(lstatSync(p).mode & 0o7777).toString(8)}`;

/** Every directory under `root` (itself included) and its mode. */
function dirModes(root: string): Map<string, string> {
  const out = new Map<string, string>([[root, modeOf(root)]]);
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (e.isDirectory()) for (const [p, m] of dirModes(join(root, e.name))) out.set(p, m);
  }
  return out;
}

const pool = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name: 'p' },
  spec: { cidr: '10.80.0.0/16' },
} as const;

describe('what calico-ts creates, under umask 000', () => {
  before(() => {
    assert.equal(process.umask(0), 0);
  });
  after(() => {
    process.umask(savedUmask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the embedded datastore, its WAL and shared memory owner-only', async () => {
    const path = join(dir, 'var', 'lib', 'calico', 'calico.db');
    const backend = await openSqliteBackend({ path });
    try {
      await backend.create(pool);
      const names = readdirSync(join(dir, 'var', 'lib', 'calico')).sort();
      assert.deepEqual(names, ['calico.db', 'calico.db-shm', 'calico.db-wal']);
      for (const n of names) assert.equal(modeOf(join(dir, 'var', 'lib', 'calico', n)), '0600', n);
    } finally {
      await backend.close();
    }
  });

  it('narrows a database, journal and directory an older build left world-open', async () => {
    const d = join(dir, 'old');
    mkdirSync(d, { mode: 0o777 });
    chmodSync(d, 0o777);
    const path = join(d, 'calico.db');
    writeFileSync(path, '', { mode: 0o666 });
    writeFileSync(`${path}-journal`, '', { mode: 0o666 });
    const backend = await openSqliteBackend({ path });
    try {
      await backend.create(pool);
      assert.equal(modeOf(d), '0775', 'the world-write bit is gone from the directory');
      for (const n of readdirSync(d)) assert.equal(modeOf(join(d, n)), '0600', n);
    } finally {
      await backend.close();
    }
  });

  it('creates the IPAM lock owner-only and refuses a symlink in its place', async () => {
    const path = join(dir, 'run', 'calico', 'ipam.lock');
    const lock = await acquireHostLock(path, 5_000);
    await lock.release();
    assert.equal(modeOf(path), '0600');
    assert.equal(modeOf(join(dir, 'run', 'calico')), '0755');
    const link = join(dir, 'run', 'calico', 'other.lock');
    symlinkSync(join(dir, 'elsewhere'), link);
    await assert.rejects(
      acquireHostLock(link, 1_000),
      (e: unknown) =>
        e instanceof CniError &&
        e.cniCode === CniCode.ioFailure &&
        e.details?.includes('symbolic link') === true,
    );
  });

  it('writes the CNI log owner-only', () => {
    const path = join(dir, 'log', 'calico', 'cni', 'cni.log');
    const log = fileLogger({ path, level: 'info', maxSizeMb: 1, maxCount: 1, program: 'calico' });
    log.info('hello');
    assert.equal(modeOf(path), '0600');
  });

  it('writes status files that only the agent may change', async () => {
    const runDir = join(dir, 'agent-run');
    const w = new AgentStatusWriter(runDir);
    await w.writeStatus({
      pid: process.pid,
      nodeName: 'n1',
      inSync: true,
      dataplaneInSync: true,
      appliedRevision: 3,
      lastApplyError: null,
      updatedAt: new Date(0).toISOString(),
    });
    await w.writeEndpoints([{ namespace: 'default', name: 'n1-k8s-p-eth0' }], 3);
    assert.equal(modeOf(join(runDir, 'status.json')), '0644');
    assert.equal(modeOf(join(runDir, 'endpoint-status', 'default', 'n1-k8s-p-eth0')), '0644');
    for (const [p, m] of dirModes(runDir)) assert.equal(m, '0755', p);
  });

  it('serves CNI requests on a socket only its owner may use', async () => {
    const runDir = join(dir, 'cni-run');
    const dbPath = join(dir, 'cni.db');
    const backend = await openSqliteBackend({ path: dbPath });
    const host = new AgentHost({
      backend,
      datastore: { datastoreType: 'embedded', datastorePath: dbPath },
      nodeName: 'n1',
      runDir,
      policy: { appliedRevision: 0, whenApplied: () => Promise.resolve(true), hasEndpoint: () => false },
      netns: undefined,
      runner: new FakeCommandRunner(),
    });
    const { socketPath } = cniServerConfig({}, runDir);
    const server = await startCniServer({ socketPath, host, log: createLogger('error') });
    try {
      assert.ok(lstatSync(socketPath).isSocket());
      assert.equal(modeOf(socketPath), '0600');
      assert.equal(modeOf(runDir), '0755');
      assert.deepEqual(readdirSync(runDir), ['cni.sock'], 'no temporary socket or directory is left');
    } finally {
      await server.close();
      await backend.close();
    }
  });

  it('installs plugins and the network configuration that others cannot change', () => {
    const binDir = join(dir, 'opt', 'cni', 'bin');
    const confDir = join(dir, 'etc', 'cni', 'net.d');
    const r = installCni({ binDir, confDir, distDir: join(repoRoot(), 'dist', 'src', 'cni') });
    for (const p of r.plugins) assert.equal(modeOf(p), '0755', p);
    assert.equal(modeOf(r.conflist ?? ''), '0644');
    for (const root of [join(dir, 'opt'), join(dir, 'etc')])
      for (const [p, m] of dirModes(root)) assert.equal(m, '0755', p);
  });
});
