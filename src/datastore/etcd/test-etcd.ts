/**
 * Test helper: runs a private single-member etcd (Debian's `/usr/bin/etcd`, 3.4) on loopback with free ports and
 * a temporary data directory, for tests and benchmarks. `stop()`/`start()` restart it on the same ports and data
 * (to test reconnects); `dispose()` stops it (SIGTERM, then SIGKILL after a grace period) and removes the
 * directory. A process 'exit' hook kills a forgotten instance so no etcd outlives the test process.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../../lib/async.js';
import { freeLoopbackPort } from '../../test-support/ports.js';
import { findEtcdBinary } from './binary.js';

export { findEtcdBinary };

/** Why etcd tests are skipped on this machine, or undefined if they can run. */
export function etcdSkipReason(): string | undefined {
  return findEtcdBinary() === undefined
    ? 'etcd binary not found (apt-get install etcd-server, or set ETCD_BINARY)'
    : undefined;
}

/** PEM files of a throw-away CA, server and client certificate (all for 127.0.0.1). */
export interface TestTlsFiles {
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

export interface TestEtcdOptions {
  /** Serve clients over TLS and require a client certificate signed by the CA. */
  readonly tls?: TestTlsFiles;
}

export interface TestEtcd extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` (https with TLS) */
  readonly endpoint: string;
  readonly dataDir: string;
  /** Graceful stop (SIGTERM, SIGKILL after 5 s); data is kept. */
  stop(): Promise<void>;
  /** SIGKILL; data is kept. */
  kill(): Promise<void>;
  /** Starts again on the same ports and data directory and waits until healthy. */
  start(): Promise<void>;
  /** Stops and removes the data directory. Idempotent. */
  dispose(): Promise<void>;
}

class EtcdProcess implements TestEtcd {
  readonly endpoint: string;
  readonly dataDir: string;
  readonly #binary: string;
  readonly #peerPort: number;
  readonly #tls: TestTlsFiles | undefined;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stderr = '';
  readonly #exitHook = (): void => {
    this.#child?.kill('SIGKILL');
  };

  constructor(
    binary: string,
    dataDir: string,
    ports: readonly [number, number],
    tls: TestTlsFiles | undefined,
  ) {
    this.#binary = binary;
    this.dataDir = dataDir;
    this.#peerPort = ports[1];
    this.#tls = tls;
    this.endpoint = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${ports[0]}`;
  }

  async start(): Promise<void> {
    if (this.#child !== undefined) return;
    const peer = `http://127.0.0.1:${this.#peerPort}`;
    const args = [
      ['--name', 'calico-test'],
      ['--data-dir', this.dataDir],
      ['--listen-client-urls', this.endpoint],
      ['--advertise-client-urls', this.endpoint],
      ['--listen-peer-urls', peer],
      ['--initial-advertise-peer-urls', peer],
      ['--initial-cluster', `calico-test=${peer}`],
      ['--logger', 'zap'],
      ['--log-level', 'error'],
      ...(this.#tls === undefined
        ? []
        : [
            ['--cert-file', this.#tls.serverCertFile],
            ['--key-file', this.#tls.serverKeyFile],
            ['--trusted-ca-file', this.#tls.caFile],
            ['--client-cert-auth'],
          ]),
    ].flat();
    const child = spawn(this.#binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    this.#stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-4000);
    });
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
    });
    process.once('exit', this.#exitHook);
    await this.#waitHealthy(child);
  }

  async #waitHealthy(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`etcd exited during startup: ${this.#stderr}`);
      }
      try {
        if (await this.#healthy()) return;
      } catch {
        // Not listening yet: keep polling until the deadline.
      }
      await sleep(50);
    }
    child.kill('SIGKILL');
    throw new Error(`etcd did not become healthy within 15 s: ${this.#stderr}`);
  }

  async #healthy(): Promise<boolean> {
    const tls = this.#tls;
    if (tls === undefined) {
      const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(500) });
      return ((await res.json()) as { health?: string }).health === 'true';
    }
    const [ca, cert, key] = await Promise.all(
      [tls.caFile, tls.clientCertFile, tls.clientKeyFile].map((f) => readFile(f)),
    );
    return new Promise((resolve, reject) => {
      const req = request(`${this.endpoint}/health`, { ca, cert, key, timeout: 500 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          resolve(body.includes('"health":"true"'));
        });
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
    process.removeListener('exit', this.#exitHook);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill('SIGKILL');
    await this.#exited;
    process.removeListener('exit', this.#exitHook);
  }

  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/** Starts a fresh etcd. Throws if no binary is installed (check `etcdSkipReason()` first). */
export async function startTestEtcd(opts: TestEtcdOptions = {}): Promise<TestEtcd> {
  const binary = findEtcdBinary();
  if (binary === undefined) throw new Error(etcdSkipReason());
  const dataDir = await mkdtemp(join(tmpdir(), 'calico-etcd-'));
  const client = await freeLoopbackPort();
  let peer = await freeLoopbackPort();
  while (peer === client) peer = await freeLoopbackPort();
  const etcd = new EtcdProcess(binary, dataDir, [client, peer], opts.tls);
  try {
    await etcd.start();
  } catch (e) {
    await etcd.dispose();
    throw e;
  }
  return etcd;
}

function openssl(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd }, (error) => {
      if (error === null) resolve();
      else reject(new Error(`openssl ${args[0] ?? ''} failed: ${error.message}`));
    });
  });
}

/**
 * Creates a throw-away CA and server/client certificates for 127.0.0.1 in `dir` with the openssl CLI
 * (EC P-256, valid one day). Rejects if openssl is missing.
 */
export async function createTestTls(dir: string): Promise<TestTlsFiles> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=calico-test-ca',
    ],
    dir,
  );
  for (const [name, usage] of [
    ['server', 'serverAuth'],
    ['client', 'clientAuth'],
  ] as const) {
    await writeFile(join(dir, `${name}.ext`), `subjectAltName=IP:127.0.0.1\nextendedKeyUsage=${usage}\n`);
    await openssl(
      ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
      dir,
    );
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '1',
      ].concat(['-out', `${name}.crt`, '-extfile', `${name}.ext`]),
      dir,
    );
  }
  return {
    caFile: join(dir, 'ca.crt'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
  };
}
