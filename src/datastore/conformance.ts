/**
 * ONE behaviour suite for every Backend and the Syncer on top of it (house style §4.11 level 5). Each backend's
 * test file calls `runBackendConformance(target)`; behaviour that a backend cannot exhibit is skipped with a
 * reason, never silently. The tests themselves live in `testing/conformance-*.ts`, split by topic:
 *
 *   crud     create/get/update/delete errors, CAS under concurrent writers, delete preconditions, list, applyMany
 *   watch    watch from a revision (order, no gaps or duplicates), filters, resume, compaction, syncer + resync
 *   process  a writer process SIGKILLed mid-transaction, a watcher in another process, server restart mid-watch
 *   invalid  bad stored values in list/watch/get, repair and delete by key, valueAt history, the size bound
 *   held     the syncer's validation filter (keep-last-good, never-good, resync, restart) and a lost server
 *
 * Every test gets a fresh, empty store and is bounded by a timeout; no assertion depends on timing.
 */
import { after, before, describe } from 'node:test';
import type { Backend } from './api.js';
import { openBackend } from './config.js';
import { registerCrudTests } from './testing/conformance-crud.js';
import { registerHeldTests } from './testing/conformance-held.js';
import { registerInvalidValueTests } from './testing/conformance-invalid.js';
import { registerProcessTests } from './testing/conformance-process.js';
import { registerWatchTests } from './testing/conformance-watch.js';
import type { SuiteContext } from './testing/suite.js';
import type { StoreTarget } from './testing/targets.js';

export type { Store, SuiteContext } from './testing/suite.js';
export type { StoreTarget } from './testing/targets.js';

export function runBackendConformance(target: StoreTarget): void {
  const ctx: SuiteContext = {
    target,
    fresh: async (t) => {
      const config = await target.fresh();
      const open: Backend[] = [];
      t.after(async () => {
        await Promise.all(open.map((b) => b.close()));
      });
      const connect = async (): Promise<Backend> => {
        const b = await openBackend(config);
        open.push(b);
        return b;
      };
      return { backend: await connect(), config, connect };
    },
  };
  void describe(`datastore conformance: ${target.name}`, { skip: target.skip ?? false }, () => {
    before(async () => {
      await target.setup?.();
    });
    after(async () => {
      await target.teardown?.();
    });
    registerCrudTests(ctx);
    registerWatchTests(ctx);
    registerProcessTests(ctx);
    registerInvalidValueTests(ctx);
    registerHeldTests(ctx);
  });
}
