/**
 * Shared test fixtures for the datastore conformance suite and benchmarks: resource builders, a watch/syncer
 * recorder, bounded polling, and child-process helpers that run `child.ts` under the same loader as the parent
 * (tsx in development, plain node on the compiled `dist/`).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Backend, Resource, ResourceKey, Update, WatchError, WatchUpdate } from '../api.js';
import type { DatastoreConfig } from '../config.js';
import { keyString } from '../resource.js';
import {
  createSyncer,
  type DatastoreEvent,
  type SyncStatus,
  type Syncer,
  type SyncerCallbacks,
  type SyncerOptions,
} from '../syncer.js';

export const V3 = 'projectcalico.org/v3';

/** A syncer's statuses after its first sync and one resync. */
export const STATUSES_AFTER_ONE_RESYNC = [
  'WaitForDatastore',
  'ResyncInProgress',
  'InSync',
  'ResyncInProgress',
  'InSync',
] as const;

export function gnp(name: string, order = 1): Resource & { spec: { order: number } } {
  return { apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name }, spec: { order } };
}

export function np(namespace: string, name: string, order = 1): Resource & { spec: { order: number } } {
  return { apiVersion: V3, kind: 'NetworkPolicy', metadata: { namespace, name }, spec: { order } };
}

/** A policy-shaped object of realistic size (selector, a few rules), for benchmarks and bulk tests. */
export function policyShaped(namespace: string, name: string, i: number): Resource {
  return {
    apiVersion: V3,
    kind: 'NetworkPolicy',
    metadata: { namespace, name, labels: { app: `app-${i % 50}`, tier: 'backend' } },
    spec: {
      tier: 'default',
      order: i % 1000,
      selector: `app == 'app-${i % 50}'`,
      types: ['Ingress', 'Egress'],
      ingress: [
        {
          action: 'Allow',
          protocol: 'TCP',
          source: { selector: `role == 'frontend-${i % 7}'` },
          destination: { ports: [80, 443, 8000 + (i % 100)] },
        },
      ],
      egress: [{ action: 'Allow', destination: { nets: [`10.${i % 250}.0.0/16`] } }],
    },
  } as Resource;
}

export function specOf(r: Resource): unknown {
  return (r as Resource & { spec?: unknown }).spec;
}

/** Polls `cond` every 10 ms until true; rejects after `timeoutMs` with `what` in the message. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Records what a watch delivers. */
export class WatchRecorder {
  readonly updates: WatchUpdate[] = [];
  readonly errors: WatchError[] = [];
  readonly handler = {
    onUpdates: (u: readonly WatchUpdate[]): void => {
      this.updates.push(...u);
    },
    onError: (e: WatchError): void => {
      this.errors.push(e);
    },
  };
}

/** Records what a syncer delivers and folds it into the consumer's view of the store. */
export class SyncerRecorder implements SyncerCallbacks {
  readonly statuses: SyncStatus[] = [];
  readonly updates: Update[] = [];
  /** Index into `updates` where each InSync was signalled. */
  readonly inSyncAt: number[] = [];
  readonly view = new Map<string, Resource>();
  /** Held-back values and reachability changes, in order. */
  readonly events: DatastoreEvent[] = [];

  onDatastoreEvent(event: DatastoreEvent): void {
    this.events.push(event);
  }

  onStatusUpdated(status: SyncStatus): void {
    this.statuses.push(status);
    if (status === 'InSync') this.inSyncAt.push(this.updates.length);
  }

  onUpdates(updates: readonly Update[]): void {
    for (const u of updates) {
      this.updates.push(u);
      if (u.type === 'set') this.view.set(keyString(u.key), u.value);
      else this.view.delete(keyString(u.key));
    }
  }
}

/** A started syncer of `backend` feeding a new recorder; it is stopped when the test ends. */
export function startRecordedSyncer(
  t: TestContext,
  backend: Backend,
  options: SyncerOptions,
): { rec: SyncerRecorder; syncer: Syncer } {
  const rec = new SyncerRecorder();
  const syncer = createSyncer(backend, options, rec);
  t.after(() => syncer.stop());
  syncer.start();
  return { rec, syncer };
}

/** The store's current content of the given kinds as key string -> resourceVersion. */
export async function snapshot(backend: Backend, kinds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const kind of kinds) {
    const { items } = await backend.list({ kind });
    for (const item of items) {
      const { namespace, name } = item.metadata;
      const key: ResourceKey = namespace === undefined ? { kind, name } : { kind, namespace, name };
      out.set(keyString(key), item.metadata.resourceVersion ?? '');
    }
  }
  return out;
}

export function viewVersions(view: ReadonlyMap<string, Resource>): Map<string, string> {
  return new Map([...view].map(([k, v]) => [k, v.metadata.resourceVersion ?? '']));
}

/** Command-line for running `testing/child.ts` (or the compiled `.js`) with this process's loader flags. */
export function childCommand(args: readonly string[]): { command: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  const script = fileURLToPath(new URL(`./child${extname(here)}`, import.meta.url));
  return { command: process.execPath, args: [...loaderFlags(process.execArgv), script, ...args] };
}

const WITH_VALUE = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r']);

/** The module-loading flags of this process (e.g. `--import tsx`), without --eval, --test and the like. */
function loaderFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    const name = a.split('=')[0]!;
    if (WITH_VALUE.has(name)) {
      out.push(a);
      if (!a.includes('=') && i + 1 < execArgv.length) out.push(execArgv[++i]!);
    } else if (a === '--enable-source-maps' || a === '--no-warnings') {
      out.push(a);
    }
  }
  return out;
}

export interface ChildHandle {
  readonly proc: ChildProcessWithoutNullStreams;
  /** Lines printed so far. */
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  stderr(): string;
  /** SIGKILL (if running) and wait for exit. */
  kill(): Promise<void>;
}

/** Spawns `child.ts <mode> <config JSON> ...extra`, collecting stdout lines. */
export function spawnChild(
  mode: string,
  config: DatastoreConfig,
  extra: readonly string[] = [],
): ChildHandle {
  const { command, args } = childCommand([mode, JSON.stringify(config), ...extra]);
  const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  createInterface({ input: proc.stdout }).on('line', (l) => lines.push(l));
  proc.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => {
      resolve(code);
    });
  });
  return {
    proc,
    lines,
    exited,
    stderr: () => stderr,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
