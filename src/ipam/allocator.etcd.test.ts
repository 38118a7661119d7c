/** The allocator suite against a real etcd (started here, emptied between tests). */
import { etcdTarget } from '../datastore/testing/targets.js';
import { runAllocatorSuite } from './testing/suite.js';

runAllocatorSuite(etcdTarget());
