/**
 * Test fixtures for the IPAM suites (run against the datastore targets of `datastore/testing/targets.ts`):
 * a fresh store with clients, resource builders, a controllable clock, and a child process running an
 * allocation loop (under the same loader as the parent: tsx in development, plain node on the compiled
 * `dist/`).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import type { IPPoolSpec } from '../../api/v3/ip-pool.js';
import type { Backend, Resource } from '../../datastore/api.js';
import { openBackend, type DatastoreConfig } from '../../datastore/config.js';
import type { StoreTarget } from '../../datastore/testing/targets.js';
import { IpamClient } from '../allocator.js';

export const V3 = 'projectcalico.org/v3';
export const TEST_TIMEOUT_MS = 90_000;

export class FakeClock {
  ms = Date.parse('2026-03-01T12:00:00Z');
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface Env {
  readonly config: DatastoreConfig;
  readonly backend: Backend;
  readonly clock: FakeClock;
  readonly ipam: IpamClient;
  /** Another client (own backend connection) on the same store and clock. */
  connect(): Promise<IpamClient>;
}

/** A fresh store with one client; every backend is closed when the test ends. */
export async function freshEnv(target: StoreTarget, t: TestContext): Promise<Env> {
  const config = await target.fresh();
  const open: Backend[] = [];
  t.after(async () => {
    await Promise.all(open.map((b) => b.close()));
  });
  const clock = new FakeClock();
  const connectBackend = async (): Promise<Backend> => {
    const b = await openBackend(config);
    open.push(b);
    return b;
  };
  const backend = await connectBackend();
  return {
    config,
    backend,
    clock,
    ipam: new IpamClient(backend, { now: clock.now }),
    connect: async () => new IpamClient(await connectBackend(), { now: clock.now }),
  };
}

export function pool(name: string, spec: Partial<IPPoolSpec> & { cidr: string }, status?: unknown): Resource {
  const r: Resource & { spec: unknown; status?: unknown } = {
    apiVersion: V3,
    kind: 'IPPool',
    metadata: { name },
    spec,
  };
  if (status !== undefined) r.status = status;
  return r;
}

export function reservation(name: string, reservedCIDRs: string[]): Resource {
  return { apiVersion: V3, kind: 'IPReservation', metadata: { name }, spec: { reservedCIDRs } } as Resource;
}

export async function addPools(backend: Backend, ...pools: Resource[]): Promise<void> {
  for (const p of pools) await backend.create(p);
}

const WITH_VALUE = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r']);

function loaderFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i] ?? '';
    const name = a.split('=')[0] ?? '';
    if (WITH_VALUE.has(name)) {
      out.push(a);
      const next = execArgv[i + 1];
      if (!a.includes('=') && next !== undefined) {
        out.push(next);
        i++;
      }
    } else if (a === '--enable-source-maps' || a === '--no-warnings') {
      out.push(a);
    }
  }
  return out;
}

export interface ChildHandle {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly lines: string[];
  stderr(): string;
  kill(): Promise<void>;
}

/** Runs `testing/child.ts` (allocation loop) with `args`, collecting its stdout lines. */
export function spawnAllocator(args: readonly string[]): ChildHandle {
  const here = fileURLToPath(import.meta.url);
  const script = fileURLToPath(new URL(`./child${extname(here)}`, import.meta.url));
  const proc = spawn(process.execPath, [...loaderFlags(process.execArgv), script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  createInterface({ input: proc.stdout }).on('line', (l) => lines.push(l));
  proc.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      resolve();
    });
  });
  return {
    proc,
    lines,
    stderr: () => stderr,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
