/** The allocator suite against the embedded SQLite store (a fresh file per test). */
import { embeddedTarget } from '../datastore/testing/targets.js';
import { runAllocatorSuite } from './testing/suite.js';

runAllocatorSuite(embeddedTarget('calico-ipam-'));
