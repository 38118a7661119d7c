/**
 * ONE allocator behaviour suite for every datastore (house style §4.11 level 5): `allocator.sqlite.test.ts`
 * and `allocator.etcd.test.ts` call `runAllocatorSuite(target)`. Topics: `suite-basic.ts` (affinity states,
 * borrowing, limits, reservations, cooldown, handles, dual stack, pool filters) and `suite-concurrency.ts`
 * (parallel allocation for one and several nodes, check/release after, a SIGKILLed allocator process).
 */
import { after, before, describe } from 'node:test';
import type { StoreTarget } from '../../datastore/testing/targets.js';
import { registerBasicTests } from './suite-basic.js';
import { registerConcurrencyTests } from './suite-concurrency.js';

export function runAllocatorSuite(target: StoreTarget): void {
  void describe(`IPAM allocator: ${target.name}`, { skip: target.skip ?? false }, () => {
    before(async () => {
      await target.setup?.();
    });
    after(async () => {
      await target.teardown?.();
    });
    registerBasicTests(target);
    registerConcurrencyTests(target);
  });
}
