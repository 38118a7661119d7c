/** The allocator suite against the embedded SQLite store (a fresh file per test). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAllocatorSuite } from './testing/suite.js';

let dir = '';
let n = 0;

runAllocatorSuite({
  name: 'embedded (SQLite)',
  setup: async () => {
    dir = await mkdtemp(join(tmpdir(), 'calico-ipam-'));
  },
  teardown: async () => {
    await rm(dir, { recursive: true, force: true });
  },
  fresh: () => Promise.resolve({ datastoreType: 'embedded', datastorePath: join(dir, `store-${n++}.db`) }),
});
