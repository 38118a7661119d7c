/**
 * What a plugin run gets from the place it runs in (its host), so that the very same command code serves a
 * standalone plugin process and the calico-node agent's CNI server:
 *
 * - the datastore: a standalone run opens it per use and closes it; the agent lends its open backend;
 * - the host-wide IPAM lock: a standalone run takes the `flock` directly; the agent queues its requests in
 *   process first and holds the same `flock` while it has requests queued, so standalone plugins running at
 *   the same time are still serialised with it;
 * - the wait for policy: a standalone run polls the agent's endpoint-status files; the agent awaits its own
 *   applied revision;
 * - IPAM plugins: a standalone run execs every one (CNI_PATH); the agent runs calico-ipam in process (the
 *   same plugin code through the same frame, so the result is the one the executable would print);
 * - the kernel tools: a standalone run starts them itself; the agent through a small helper process
 *   (dataplane/exec/spawner.ts), as process starts from a big process are costly.
 */
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import type { Backend } from '../datastore/api.js';
import { acquireHostLock } from './lock.js';
import type { NetConf } from './netconf.js';
import { openDatastore } from './node.js';
import { waitForEndpoint } from './policy-wait.js';
import type { PluginHost } from './plugin.js';

/** A plugin running as its own process. */
export const standaloneHost: PluginHost = {
  async withDatastore<T>(conf: NetConf, fn: (backend: Backend) => Promise<T>): Promise<T> {
    const backend = await openDatastore(conf);
    try {
      return await fn(backend);
    } finally {
      await backend.close();
    }
  },
  ipamLock: acquireHostLock,
  waitForPolicy: waitForEndpoint,
  inProcessPlugin: () => undefined,
  runner: new NodeCommandRunner(),
};
