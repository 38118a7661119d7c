/**
 * The embedded store refuses paths that are not a place for a database (devices, FIFOs, sockets,
 * directories, /proc and /sys, links to them), at once and without creating anything; a FIFO is never opened
 * (opening one would block for ever).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openBackend } from '../config.js';
import { checkDatastorePath } from './datastore-path.js';
import { openSqliteBackend } from './sqlite-backend.js';

let dir = '';
let server: Server | undefined;

function refused(path: string, what: RegExp): void {
  assert.throws(
    () => {
      checkDatastorePath(path);
    },
    (e: unknown) => {
      assert.ok(e instanceof Error && 'code' in e && e.code === 'CALICO_ERR_VALIDATION', String(e));
      assert.match(e.message, /^datastorePath: /);
      assert.match(e.message, what);
      assert.match(e.message, /CALICO_DATASTORE_PATH/);
      return true;
    },
  );
}

describe('embedded datastore path', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'calico-dspath-'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    execFileSync('mkfifo', [join(dir, 'plain.db-wal')]);
    writeFileSync(join(dir, 'plain.db'), '');
    mkdirSync(join(dir, 'adir'));
    symlinkSync('/dev/null', join(dir, 'to-null'));
    symlinkSync('/proc/self', join(dir, 'to-proc'));
    symlinkSync(join(dir, 'nowhere', 'x.db'), join(dir, 'dangling'));
    const s = createServer();
    server = s;
    await new Promise<void>((resolve) => s.listen(join(dir, 'sock'), resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => {
      if (server === undefined) resolve();
      else
        server.close(() => {
          resolve();
        });
    });
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses devices, FIFOs, sockets, directories and links to them, naming what they are', () => {
    refused('/dev/null', /\/dev\/null: is a character device/);
    refused(join(dir, 'fifo'), /fifo: is a FIFO \(named pipe\)/);
    refused(join(dir, 'sock'), /sock: is a socket/);
    refused(join(dir, 'adir'), /adir: is a directory/);
    refused(join(dir, 'to-null'), /to-null: is a character device/);
    refused(join(dir, 'dangling'), /dangling: is a symbolic link to nothing/);
    refused(join(dir, 'plain.db'), /plain\.db-wal: is a FIFO/);
  });

  it('refuses anything under /proc or /sys, also through a link', () => {
    refused(
      '/proc/self/calico.db',
      /\/proc\/self\/calico\.db \(\/proc\/\d+\/calico\.db\): is under \/proc, a kernel pseudo-filesystem/,
    );
    refused('/sys/kernel/calico.db', /is under \/sys/);
    refused('/proc', /is under \/proc/);
    refused(
      join(dir, 'to-proc', 'x', 'calico.db'),
      /to-proc\/x\/calico\.db \(\/proc\/\d+\/x\/calico\.db\): is under \/proc/,
    );
  });

  it('accepts a new file in a new directory, an existing database and :memory:', async () => {
    checkDatastorePath(join(dir, 'new', 'deeper', 'calico.db'));
    checkDatastorePath(':memory:');
    const path = join(dir, 'ok', 'calico.db');
    const b = await openSqliteBackend({ path });
    await b.close();
    checkDatastorePath(path); // with its -wal and -shm companions
  });

  it('openBackend refuses at once and creates nothing', async () => {
    const started = performance.now();
    await assert.rejects(
      openBackend({ datastoreType: 'embedded', datastorePath: join(dir, 'fifo') }),
      /is a FIFO/,
    );
    await assert.rejects(openSqliteBackend({ path: '/proc/calico-test/calico.db' }), /is under \/proc/);
    assert.ok(performance.now() - started < 2000, 'refused without blocking');
    assert.equal(existsSync('/proc/calico-test'), false);
  });
});
