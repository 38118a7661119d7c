/**
 * Test helper for calico-apiserver: the program started as users start it (a child process) with the port it
 * reports. (Its serving certificate: `issueServingCert` in datastore/kubernetes/aggregation.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from '../lib/async.js';

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
