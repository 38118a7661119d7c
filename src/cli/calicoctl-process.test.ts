/**
 * calicoctl as a process (the built `calicoctl.js`), for what only shows on a real process: its stderr with
 * a TLS etcd (no Node deprecation warning), the one-line message for an etcd that is down, and an endless
 * stdin that must end at the input limit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestTls, etcdSkipReason, startTestEtcd } from '../datastore/etcd/test-etcd.js';
import { freeLoopbackPort } from '../test-support/ports.js';

const SCRIPT = fileURLToPath(new URL('./calicoctl.js', import.meta.url));
const TIMEOUT_MS = 30_000;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * Runs calicoctl; `feed` may write stdin (it gets the stream and a signal that aborts when the process ends).
 * The process is killed if it outlives TIMEOUT_MS.
 */
function run(
  args: readonly string[],
  env: Record<string, string>,
  feed?: (stdin: NodeJS.WritableStream, ended: AbortSignal) => void,
): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [SCRIPT, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const ended = new AbortController();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => {
    // The process stopped reading (EPIPE): expected when it refuses an endless stream.
  });
  if (feed === undefined) child.stdin.end();
  else feed(child.stdin, ended.signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
  return new Promise((resolve) => {
    child.on('close', (status) => {
      clearTimeout(timer);
      ended.abort();
      resolve({ status, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

describe('calicoctl process', () => {
  it('says nothing when its reader goes away (calicoctl get ... | head)', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'calicoctl-pipe-'));
    try {
      const env = { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: join(dir, 'calico.db') };
      const items = Array.from({ length: 2000 }, (_, i) => ({
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: `p${i}` },
        spec: { selector: `app == 'a${i}'` },
      }));
      const applied = await run(['apply', '-f', '-'], env, (stdin) => stdin.end(JSON.stringify(items)));
      assert.equal(applied.status, 0, applied.stderr);
      const t0 = Date.now();
      const child = spawn(process.execPath, [SCRIPT, 'get', 'gnp', '-o', 'yaml'], {
        env: { PATH: process.env['PATH'] ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.once('data', () => child.stdout.destroy());
      const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(timer);
      assert.equal(stderr, '');
      assert.equal(status, 0);
      assert.ok(Date.now() - t0 < TIMEOUT_MS);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an endless stdin ends at the input limit, quickly and with one line', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'y\n');
    const r = await run(
      ['apply', '-f', '-'],
      { DATASTORE_TYPE: 'embedded', CALICO_DATASTORE_PATH: '/nonexistent/x.db' },
      (stdin, ended) => {
        const write = (): void => {
          // Bounded: at most 64 MiB are offered, four times the limit.
          for (let i = 0; i < 1024 && !ended.aborted; i++) {
            if (!stdin.write(chunk)) {
              stdin.once('drain', write);
              return;
            }
          }
          stdin.end();
        };
        write();
      },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.equal(
      r.stderr,
      '<stdin>: input is larger than 16 MiB, the limit for one file or stdin; split it into smaller files\n',
    );
    assert.ok(r.ms < 20_000, `took ${r.ms} ms`);
  });

  it('an etcd that is down is reported on one clean line', async () => {
    const port = await freeLoopbackPort();
    const r = await run(['get', 'gnp'], {
      DATASTORE_TYPE: 'etcdv3',
      ETCD_ENDPOINTS: `http://127.0.0.1:${port}`,
    });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      `Failed to execute command: the datastore is unavailable: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  it(
    'talks TLS to etcd without a Node deprecation warning on stderr',
    { skip: etcdSkipReason() ?? false, timeout: 60_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'calicoctl-tls-'));
      try {
        const tls = await createTestTls(dir);
        await using etcd = await startTestEtcd({ tls });
        const env = {
          DATASTORE_TYPE: 'etcdv3',
          ETCD_ENDPOINTS: etcd.endpoint,
          ETCD_CA_CERT_FILE: tls.caFile,
          ETCD_CERT_FILE: tls.clientCertFile,
          ETCD_KEY_FILE: tls.clientKeyFile,
        };
        const gnp =
          'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {}\n';
        const applied = await run(['apply', '-f', '-'], env, (stdin) => stdin.end(gnp));
        assert.equal(applied.stderr, '');
        assert.equal(applied.status, 0);
        const listed = await run(['get', 'gnp'], env);
        assert.equal(listed.stderr, '');
        assert.equal(listed.stdout, 'NAME   TIER      \np      default   \n\n');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
