/**
 * Test helpers for calico-apiserver: a serving certificate signed by a control plane's CA (openssl, P-256)
 * for the name the aggregator checks, and the program started as users start it (a child process) with the
 * port it reports.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../lib/async.js';
import { SERVING_NAME } from './registration.js';

export interface ServingCert {
  readonly cert: string;
  readonly key: string;
}

/** `<dir>/apiserver-serving.{crt,key}` signed by `<pkiDir>/ca.{crt,key}`. */
export function issueServingCert(pkiDir: string, dir: string): ServingCert {
  const key = join(dir, 'apiserver-serving.key');
  const csr = join(dir, 'apiserver-serving.csr');
  const cert = join(dir, 'apiserver-serving.crt');
  const ext = join(dir, 'apiserver-serving.ext');
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe', timeout: 30_000 });
  };
  run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  run(['req', '-new', '-key', key, '-subj', '/CN=calico-apiserver', '-out', csr]);
  writeFileSync(
    ext,
    `extendedKeyUsage=serverAuth\nsubjectAltName=DNS:${SERVING_NAME},DNS:localhost,IP:127.0.0.1\n`,
    { mode: 0o600 },
  );
  run([
    ...['x509', '-req', '-in', csr, '-CA', join(pkiDir, 'ca.crt'), '-CAkey', join(pkiDir, 'ca.key')],
    ...['-CAcreateserial', '-days', '1', '-extfile', ext, '-out', cert],
  ]);
  return { cert, key };
}

export interface RunningApiServer {
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts `node <main.js> ...args --secure-port 0` and waits (bounded) for the port it serves on. */
export async function startApiServer(mainJs: string, args: readonly string[]): Promise<RunningApiServer> {
  const child = spawn(
    process.execPath,
    [mainJs, ...args, '--secure-port', '0', '--bind-address', '127.0.0.1'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (err += d));
  child.stdout.resume();
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const port = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`calico-apiserver exited ${child.exitCode}: ${err}`);
        const m = /serving projectcalico\.org\/v3 on https:\/\/[^:]+:(\d+)/.exec(err);
        return m === null ? undefined : Number(m[1]);
      },
      {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: 'calico-apiserver listening',
        describe: () => err.slice(-400),
      },
    );
    return { port, child, log: () => err, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
