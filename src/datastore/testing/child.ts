/**
 * A separate process for the conformance suite and the benchmark (spawned through `fixtures.spawnChild`).
 *
 *   child writer  <config JSON> <name prefix> <batch size>   applyMany batches forever, printing `ack <n>` after
 *                                                             each acknowledged batch (the parent SIGKILLs it)
 *   child watcher <config JSON> <fromRevision> [kind]        prints `ready`, then one JSON line per update with
 *                                                             `t` = process.hrtime.bigint() at receipt; exits when
 *                                                             stdin closes
 *
 * hrtime reads CLOCK_MONOTONIC, which is system-wide on Linux, so the parent can subtract its own hrtime.
 */
import type { WatchUpdate } from '../api.js';
import { openBackend, type DatastoreConfig } from '../config.js';
import { policyShaped } from './fixtures.js';

async function writer(config: DatastoreConfig, prefix: string, batchSize: number): Promise<void> {
  const backend = await openBackend(config);
  for (let batch = 0; ; batch++) {
    const objs = Array.from({ length: batchSize }, (_, i) =>
      policyShaped('writer', `${prefix}-${batch}-${i}`, i),
    );
    await backend.applyMany(objs);
    process.stdout.write(`ack ${batch}\n`);
  }
}

async function watcher(
  config: DatastoreConfig,
  fromRevision: number,
  kind: string | undefined,
): Promise<void> {
  const backend = await openBackend(config);
  const stop = new AbortController();
  const line = (u: WatchUpdate): string =>
    JSON.stringify({
      t: process.hrtime.bigint().toString(),
      type: u.type,
      kind: u.key.kind,
      namespace: u.key.namespace ?? null,
      name: u.key.name,
      revision: u.revision,
    });
  await backend.watch(
    kind === undefined ? { fromRevision } : { kind, fromRevision },
    {
      onUpdates: (updates) => {
        process.stdout.write(updates.map(line).join('\n') + '\n');
      },
      onError: (e) => {
        process.stdout.write(`error ${e.reason} ${e.message}\n`);
        process.exitCode = 2;
        stop.abort();
      },
    },
    { signal: stop.signal },
  );
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve).on('close', resolve).resume();
    stop.signal.addEventListener('abort', () => {
      resolve();
    });
  });
  stop.abort();
  await backend.close();
}

async function main(argv: readonly string[]): Promise<void> {
  const [mode, configJson, a, b] = argv;
  const config = JSON.parse(configJson ?? '{}') as DatastoreConfig;
  switch (mode) {
    case 'writer':
      return writer(config, a ?? 'w', Number(b ?? '50'));
    case 'watcher':
      return watcher(config, Number(a ?? '1'), b);
    case undefined:
    default:
      throw new Error(`unknown mode ${String(mode)}`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`child failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
