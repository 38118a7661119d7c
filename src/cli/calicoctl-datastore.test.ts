/** The calicoctl datastore-command suite against both backends: embedded SQLite and a real etcd. */
import { embeddedTarget, etcdTarget, kubernetesTarget } from '../datastore/testing/targets.js';
import { runCliSuite } from './testing/scenario.js';

runCliSuite(embeddedTarget('calicoctl-sqlite-'));
runCliSuite(etcdTarget());
runCliSuite(kubernetesTarget());
