/**
 * The file, directory and socket helpers under a permissive (000) and a strict (077) umask: what they create
 * has exactly the mode asked for, what existed is only ever narrowed (and reported), symlinks are refused
 * where a private file is expected.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  ensureDirSync,
  ensurePrivateFileSync,
  narrowModeSync,
  writeFileAtomic,
  writeFileAtomicSync,
  type ModeChange,
} from './files.js';
import { listenUnixSocket } from './unix-socket.js';

const dir = mkdtempSync(join(tmpdir(), 'calts-sys-'));
const savedUmask = process.umask(0o022);
process.umask(savedUmask);

const modeOf = (p: string): number => lstatSync(p).mode & 0o7777;

function recorder(): { changes: ModeChange[]; report: (c: ModeChange) => void } {
  const changes: ModeChange[] = [];
  return { changes, report: (c) => changes.push(c) };
}

after(() => {
  process.umask(savedUmask);
  rmSync(dir, { recursive: true, force: true });
});

for (const umask of [0o000, 0o077]) {
  describe(`under umask ${umask.toString(8).padStart(3, '0')}`, () => {
    const base = join(dir, `u${umask.toString(8)}`);
    before(() => {
      mkdirSync(base);
      process.umask(umask);
    });
    afterEach(() => {
      assert.equal(process.umask(umask), umask, 'a helper changed the process umask');
    });

    it('creates directories with exactly their mode, parents 0755', () => {
      const leaf = join(base, 'a', 'b', 'c');
      ensureDirSync(leaf);
      assert.equal(modeOf(join(base, 'a')), 0o755);
      assert.equal(modeOf(join(base, 'a', 'b')), 0o755);
      assert.equal(modeOf(leaf), 0o755);
      const priv = join(base, 'p', 'q');
      ensureDirSync(priv, { mode: 0o700 });
      assert.equal(modeOf(join(base, 'p')), 0o755);
      assert.equal(modeOf(priv), 0o700);
    });

    it('creates private files 0600 and leaves their content alone', () => {
      const f = join(base, 'db');
      ensurePrivateFileSync(f);
      assert.equal(modeOf(f), 0o600);
      writeFileSync(f, 'data');
      ensurePrivateFileSync(f);
      assert.equal(readFileSync(f, 'utf8'), 'data');
      assert.equal(modeOf(f), 0o600);
    });

    it('writes files atomically with exactly their mode, sync and async', async () => {
      const f = join(base, 'status', 'status.json');
      writeFileAtomicSync(f, 'one\n', { mode: 0o644 });
      assert.equal(modeOf(join(base, 'status')), 0o755);
      assert.equal(modeOf(f), 0o644);
      await writeFileAtomic(f, 'two\n', 0o644);
      assert.equal(readFileSync(f, 'utf8'), 'two\n');
      assert.equal(modeOf(f), 0o644);
      const secret = join(base, 'status', 'secret');
      await writeFileAtomic(secret, 's', 0o600);
      assert.equal(modeOf(secret), 0o600);
      assert.deepEqual(readdirSync(join(base, 'status')).sort(), ['secret', 'status.json']);
    });

    it('listens on a socket only its owner may use, leaving nothing behind', async () => {
      const sockDir = join(base, 'run');
      const path = join(sockDir, 'cni.sock');
      const server = createServer((c) => c.end('hi'));
      try {
        await listenUnixSocket(server, path);
        assert.ok(lstatSync(path).isSocket());
        assert.equal(modeOf(path), 0o600);
        assert.equal(modeOf(sockDir), 0o755);
        assert.deepEqual(readdirSync(sockDir), ['cni.sock']);
        const reply = await new Promise<string>((resolve, reject) => {
          const c = createConnection(path);
          let got = '';
          c.on('data', (d: Buffer) => (got += d.toString()));
          c.on('end', () => {
            resolve(got);
          });
          c.on('error', reject);
        });
        assert.equal(reply, 'hi');
      } finally {
        await new Promise((r) => server.close(r));
      }
    });
  });
}

describe('what existed before', () => {
  const base = join(dir, 'existing');
  before(() => {
    mkdirSync(base);
    process.umask(0);
  });
  after(() => {
    process.umask(savedUmask);
  });

  it('takes the world-write bit off a directory, reports it, and keeps the group bits', () => {
    const d = join(base, 'run');
    mkdirSync(d);
    chmodSync(d, 0o777);
    const r = recorder();
    ensureDirSync(d, { report: r.report });
    assert.equal(modeOf(d), 0o775);
    assert.deepEqual(r.changes, [{ path: d, from: 0o777, to: 0o775, reason: 'was world-writable' }]);
    ensureDirSync(d, { report: r.report });
    assert.equal(r.changes.length, 1, 'nothing more to report');
  });

  it('leaves sticky shared directories and the ancestors of a new directory alone', () => {
    const shared = join(base, 'tmp');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const r = recorder();
    ensureDirSync(shared, { report: r.report });
    ensureDirSync(join(shared, 'calico', 'cni'), { report: r.report });
    assert.equal(modeOf(shared), 0o1777);
    assert.equal(modeOf(join(shared, 'calico', 'cni')), 0o755);
    assert.deepEqual(r.changes, []);
  });

  it('narrows a private file that allowed more, and only narrows', () => {
    const f = join(base, 'ipam.lock');
    writeFileSync(f, '');
    chmodSync(f, 0o666);
    const r = recorder();
    ensurePrivateFileSync(f, { report: r.report });
    assert.equal(modeOf(f), 0o600);
    assert.equal(r.changes[0]?.from, 0o666);
    chmodSync(f, 0o400);
    ensurePrivateFileSync(f, { report: r.report });
    assert.equal(modeOf(f), 0o400, 'a stricter mode is kept');
    assert.equal(r.changes.length, 1);
    const wal = join(base, 'calico.db-wal');
    narrowModeSync(wal, 0o600, r.report);
    writeFileSync(wal, 'x', { mode: 0o644 });
    narrowModeSync(wal, 0o600, r.report);
    assert.equal(modeOf(wal), 0o600);
  });

  it('refuses a symlink where a private file belongs, unless told to follow it', () => {
    const target = join(base, 'target');
    writeFileSync(target, '', { mode: 0o644 });
    const link = join(base, 'link.lock');
    symlinkSync(target, link);
    assert.throws(
      () => {
        ensurePrivateFileSync(link);
      },
      (e: Error) => e.message.includes(link) && /symbolic link/.test(e.message),
    );
    assert.equal(modeOf(target), 0o644, 'the target is untouched');
    ensurePrivateFileSync(link, { followSymlinks: true, report: () => undefined });
    assert.equal(statSync(link).mode & 0o777, 0o600);
  });

  it('names the path when a directory or file is in the way', () => {
    const file = join(base, 'plain');
    writeFileSync(file, '');
    assert.throws(
      () => {
        ensureDirSync(file);
      },
      (e: Error) => e.message.includes(file),
    );
    assert.throws(
      () => {
        ensurePrivateFileSync(base);
      },
      (e: Error) => e.message.includes(base),
    );
  });

  it('replaces a stale socket but nothing else', async () => {
    const path = join(base, 'agent.sock');
    const first = createServer();
    await listenUnixSocket(first, path);
    // A crashed agent's socket: the file stays, nobody listens.
    first.close();
    writeFileSync(join(base, 'not-a-socket'), '');
    const second = createServer();
    try {
      await listenUnixSocket(second, path);
      assert.equal(modeOf(path), 0o600);
      await assert.rejects(
        listenUnixSocket(createServer(), join(base, 'not-a-socket')),
        /exists and is not a socket/,
      );
    } finally {
      await new Promise((r) => second.close(r));
    }
  });
});
