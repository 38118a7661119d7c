/**
 * Load generators for the dataplane benches, pinned as bench/method.ts says (client on CORES.client, server
 * on CORES.server), each bounded in time, and started only once their server listens (a bounded wait on
 * `ss`, never a fixed sleep). Every command runs through a namespace's CommandRunner.
 */
import type { CommandRunner } from '../src/dataplane/exec/command-runner.js';
import { waitFor } from '../src/lib/async.js';
import { isAbortError } from '../src/lib/errors.js';
import { CORES, pinned } from './method.js';

/** Waits (bounded) until something listens on TCP `port`, asking `ss` through `ns` (a namespace's runner). */
export async function waitListening(ns: CommandRunner, port: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      const r = await ns.run('ss', ['-Hltn', `sport = :${port}`], { timeoutMs: 5000 });
      return r.code === 0 && r.stdout.trim() !== '';
    },
    { timeoutMs, intervalMs: 10, what: `a TCP listener on port ${port}` },
  );
}

/**
 * Runs `server` (pinned to the server core) in `serverNs` until `use` has finished with it; `use` starts once
 * it listens on `port`. The server is stopped afterwards whatever happens.
 */
export async function withServer<T>(
  serverNs: CommandRunner,
  port: number,
  server: readonly [string, readonly string[]],
  use: () => Promise<T>,
): Promise<T> {
  const stop = new AbortController();
  const [cmd, args] = pinned(CORES.server, server[0], server[1]);
  const running = serverNs.run(cmd, args, { signal: stop.signal, timeoutMs: 120_000 }).catch((e: unknown) => {
    if (!isAbortError(e)) throw e;
  });
  try {
    await waitListening(serverNs, port);
    return await use();
  } finally {
    stop.abort();
    await running;
  }
}

/** TCP throughput (one iperf3 stream for `seconds`) from `clientNs` to `ip` in `serverNs`, in bits/s. */
export async function iperf(
  serverNs: CommandRunner,
  clientNs: CommandRunner,
  ip: string,
  seconds: number,
  port = 5201,
): Promise<number> {
  return withServer(serverNs, port, ['iperf3', ['-s', '-1', '-B', ip, '-p', String(port)]], async () => {
    const [cmd, args] = pinned(CORES.client, 'iperf3', [
      '-c',
      ip,
      '-p',
      String(port),
      '-t',
      String(seconds),
      '-J',
    ]);
    const r = await clientNs.run(cmd, args, { timeoutMs: (seconds + 20) * 1000 });
    if (r.code !== 0) throw new Error(`iperf3 to ${ip} exited with ${r.code}: ${r.stderr.trim()}`);
    const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
    const bps = j.end?.sum_received?.bits_per_second;
    if (typeof bps !== 'number') throw new Error(`iperf3 printed no result: ${r.stdout.slice(0, 200)}`);
    return bps;
  });
}
