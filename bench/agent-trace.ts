/**
 * Stage stamps from a real calico-node, for the programming-latency breakdown (latency.bench.ts). The bench
 * starts the agent as usual, with `NODE_OPTIONS=--import=<this file>` and `CALTS_BENCH_TRACE=<file>`: before
 * the agent's main module runs, this module wraps methods of the agent's own classes (the same module
 * instances main.js imports) so that each call appends `{ s: stage, t0, t1, ... }` to the trace file. Times are
 * CLOCK_MONOTONIC milliseconds (process.hrtime), which every process on the machine shares, so they line up
 * with the bench's and the probe's stamps. No agent code changes; a hook whose class or method is gone (e.g.
 * renamed by a refactor) is listed as missing in the first line, and the bench refuses to report a breakdown.
 *
 * Stages (what a datastore write goes through on its way to the kernel):
 *   watch        the backend watch delivers the event to the syncer (SqliteBackend / EtcdBackend .watch)
 *   calc         CalcGraph.onUpdates, CalcGraph.flush
 *   messages     DataplaneLoop.onMessages (the managers' handlers record the messages; an idle loop starts
 *                its apply from here)
 *   apply        one whole successful apply: from the first manager's completeDeferredWork (StaticManager,
 *                first in create.ts's order) to the end of AgentReporter.applied (status files written)
 *   table        NftTable.apply (plan, render, transaction);  nft  NftCli.transaction (`nft -f -`)
 *   resident     ResidentNft.transaction: one line to the resident `nft -i` and its answer
 *   learned      LearnedWriter.program: DNS-learned addresses handed to the table until they are in the kernel
 *                (waiting in the table's queue and for a batch already running, then its `nft -f`; dns.bench.ts)
 *   dns-histo    LatencyHistogram.observe of the DNS proxy (`ms`): its upstream latency (query received ->
 *                upstream reply) when the reply arrives, then its hold when the answer is released
 *   routes       WorkloadRouteManager.apply;  network  VxlanManager.apply, ClusterRouteManager.apply
 *   status       AgentStatusWriter.writeEndpoints / writeStatus (after the kernel has the change)
 * In the agent's spawner helper (dataplane/exec/spawner-child.js, which inherits NODE_OPTIONS):
 *   x-run        NodeCommandRunner.run of one request (`cmd`, `arg0`), or the run of a prepared command
 *                (NodeCommandRunner.prepare: from its input written to its end, `prepared: true`)
 *   x-proc       each child process: spawn() called (t0), started (`started`), exited (`exited`), stdio
 *                closed (t1)
 * Writes are buffered and flushed on setImmediate, off the stamped paths.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { createWriteStream } from 'node:fs';
import type { ChildProcess } from 'node:child_process';

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Extra = (self: unknown, args: readonly unknown[]) => Record<string, unknown>;

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

const path = process.env.CALTS_BENCH_TRACE;
const isAgent = /\/agent\/main\.js$/.test(process.argv[1] ?? '');
const isSpawner = /\/dataplane\/exec\/spawner-child\.js$/.test(process.argv[1] ?? '');

function revisionsOf(xs: unknown): { lo?: number; hi?: number; n: number } {
  if (!Array.isArray(xs)) return { n: 0 };
  let lo: number | undefined;
  let hi: number | undefined;
  for (const x of xs as unknown[]) {
    const rev = typeof x === 'object' && x !== null ? (x as { revision?: unknown }).revision : undefined;
    if (typeof rev !== 'number') continue;
    lo = lo === undefined ? rev : Math.min(lo, rev);
    hi = hi === undefined ? rev : Math.max(hi, rev);
  }
  return { ...(lo === undefined ? {} : { lo }), ...(hi === undefined ? {} : { hi }), n: xs.length };
}

type Emit = (rec: Record<string, unknown>) => void;

/** Appends records to the trace file, batched per turn of the event loop (one write per batch). */
function traceWriter(file: string): Emit {
  const out = createWriteStream(file, { flags: 'a' });
  let buffer: string[] = [];
  return (rec) => {
    buffer.push(JSON.stringify(rec));
    if (buffer.length > 1) return;
    setImmediate(() => {
      out.write(`${buffer.join('\n')}\n`);
      buffer = [];
    });
  };
}

async function installAgent(emit: Emit): Promise<void> {
  const installed: string[] = [];
  const missing: string[] = [];

  /**
   * Replaces `proto[method]` with a wrapper stamping start and end (end = settle of a returned promise) as
   * `stage`, or handing them to `done` instead.
   */
  const wrap = (
    what: string,
    proto: unknown,
    method: string,
    stage: string,
    extra?: Extra,
    onDone?: (t0: number, t1: number, ok: boolean) => void,
  ): void => {
    const target = proto as Record<string, unknown> | undefined;
    const orig = target?.[method];
    if (target === undefined || typeof orig !== 'function') {
      missing.push(`${what}.${method}`);
      return;
    }
    const fn = orig as Fn;
    target[method] = function (this: unknown, ...args: unknown[]): unknown {
      const t0 = now();
      const fields = extra?.(this, args) ?? {};
      const done = (ok: boolean): void => {
        if (onDone !== undefined) onDone(t0, now(), ok);
        else emit({ s: stage, t0, t1: now(), ok, ...fields });
      };
      let result: unknown;
      try {
        result = fn.apply(this, args);
      } catch (e) {
        done(false);
        throw e;
      }
      if (result instanceof Promise) {
        result.then(
          () => {
            done(true);
          },
          () => {
            done(false);
          },
        );
      } else done(true);
      return result;
    };
    installed.push(`${what}.${method}`);
  };

  const load = async (spec: string, name: string): Promise<unknown> => {
    try {
      const mod = (await import(spec)) as Record<string, unknown>;
      const cls = mod[name];
      if (typeof cls === 'function') return (cls as { prototype: unknown }).prototype;
    } catch {
      // Reported as missing below.
    }
    missing.push(`${name} (${spec})`);
    return undefined;
  };

  const backend =
    process.env.DATASTORE_TYPE === 'etcdv3'
      ? { spec: '../src/datastore/etcd/etcd-backend.js', name: 'EtcdBackend' }
      : { spec: '../src/datastore/sqlite/sqlite-backend.js', name: 'SqliteBackend' };
  const backendProto = (await load(backend.spec, backend.name)) as Record<string, unknown> | undefined;
  const watch = backendProto?.watch;
  if (backendProto !== undefined && typeof watch === 'function') {
    const fn = watch as Fn;
    backendProto.watch = function (this: unknown, filter: unknown, handler: unknown, opts: unknown): unknown {
      const h = handler as { onUpdates: (u: unknown) => void; onError: (e: unknown) => void };
      const traced = {
        onUpdates: (updates: unknown): void => {
          emit({ s: 'watch', t0: now(), ...revisionsOf(updates) });
          h.onUpdates(updates);
        },
        onError: (e: unknown): void => {
          h.onError(e);
        },
      };
      return fn.call(this, filter, traced, opts);
    };
    installed.push(`${backend.name}.watch`);
  } else if (backendProto !== undefined) missing.push(`${backend.name}.watch`);

  const graph = await load('../src/calc/graph.js', 'CalcGraph');
  wrap('CalcGraph', graph, 'onUpdates', 'calc', (_, a) => revisionsOf(a[0]));
  wrap('CalcGraph', graph, 'flush', 'flush');
  const loop = await load('../src/dataplane/loop.js', 'DataplaneLoop');
  wrap('DataplaneLoop', loop, 'onMessages', 'messages', (_, a) => revisionsOf(a[0]));
  // An apply: from the first manager's deferred work to the status files of a successful one.
  let applyStart: number | undefined;
  wrap(
    'StaticManager',
    await load('../src/dataplane/managers/static.js', 'StaticManager'),
    'completeDeferredWork',
    'apply',
    undefined,
    (t0) => {
      applyStart = t0;
    },
  );
  wrap(
    'AgentReporter',
    await load('../src/agent/reporting.js', 'AgentReporter'),
    'applied',
    'apply',
    undefined,
    (_, t1, ok) => {
      if (ok && applyStart !== undefined) emit({ s: 'apply', t0: applyStart, t1, ok });
      applyStart = undefined;
    },
  );
  wrap('NftTable', await load('../src/dataplane/nftables/table.js', 'NftTable'), 'apply', 'table');
  wrap('NftCli', await load('../src/dataplane/nftables/nft-cli.js', 'NftCli'), 'transaction', 'nft');
  wrap(
    'ResidentNft',
    await load('../src/dataplane/nftables/resident.js', 'ResidentNft'),
    'transaction',
    'resident',
  );
  wrap(
    'LearnedWriter',
    await load('../src/dataplane/nftables/learned.js', 'LearnedWriter'),
    'program',
    'learned',
    (_, a) => ({ n: Array.isArray(a[0]) ? a[0].length : 0 }),
  );
  wrap(
    'LatencyHistogram',
    await load('../src/dns/stats.js', 'LatencyHistogram'),
    'observe',
    'dns-histo',
    (_, a) => ({
      ms: a[0],
    }),
  );
  wrap(
    'WorkloadRouteManager',
    await load('../src/dataplane/managers/workload-routes.js', 'WorkloadRouteManager'),
    'apply',
    'routes',
  );
  wrap('VxlanManager', await load('../src/dataplane/managers/vxlan.js', 'VxlanManager'), 'apply', 'network');
  wrap(
    'ClusterRouteManager',
    await load('../src/dataplane/managers/cluster-routes.js', 'ClusterRouteManager'),
    'apply',
    'network',
  );
  const status = await load('../src/cni/agent-status.js', 'AgentStatusWriter');
  wrap('AgentStatusWriter', status, 'writeEndpoints', 'status');
  wrap('AgentStatusWriter', status, 'writeStatus', 'status');
  emit({ s: 'hooks', t0: now(), installed, missing });
}

/** The spawner helper: each request it runs, and each process start, exit and stdio close. */
async function installSpawner(emit: Emit): Promise<void> {
  const cp = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const spawn = cp.spawn as (...a: unknown[]) => ChildProcess;
  const traced = (...a: unknown[]): ChildProcess => {
    const t0 = now();
    const child = spawn(...a);
    const rec: Record<string, unknown> = {
      s: 'x-proc',
      t0,
      cmd: a[0],
      arg0: (a[1] as unknown[] | undefined)?.[0],
    };
    child.once('spawn', () => (rec.started = now()));
    child.once('exit', () => (rec.exited = now()));
    child.once('close', () => {
      emit({ ...rec, t1: now() });
    });
    return child;
  };
  (cp as { spawn: unknown }).spawn = traced;
  syncBuiltinESMExports();
  const { NodeCommandRunner } = await import('../src/dataplane/exec/node-runner.js');
  const proto = NodeCommandRunner.prototype as unknown as Record<string, unknown>;
  const run = proto.run as Fn;
  proto.run = function (this: unknown, cmd: unknown, args: unknown, opts: unknown): unknown {
    const t0 = now();
    const p = run.call(this, cmd, args, opts) as Promise<unknown>;
    const done = (): void => {
      emit({ s: 'x-run', t0, t1: now(), cmd, arg0: (args as unknown[])[0] });
    };
    p.then(done, done);
    return p;
  };
  const prepare = proto.prepare as Fn;
  proto.prepare = function (this: unknown, cmd: unknown, args: unknown): unknown {
    const prepared = prepare.call(this, cmd, args) as { run: Fn };
    const runPrepared = prepared.run.bind(prepared);
    prepared.run = (...a: unknown[]): unknown => {
      const t0 = now();
      const p = runPrepared(...a) as Promise<unknown>;
      const done = (): void => {
        emit({ s: 'x-run', t0, t1: now(), cmd, arg0: (args as unknown[])[0], prepared: true });
      };
      p.then(done, done);
      return p;
    };
    return prepared;
  };
}

if (path !== undefined && path !== '') {
  if (isAgent) await installAgent(traceWriter(path));
  else if (isSpawner) await installSpawner(traceWriter(path));
}
