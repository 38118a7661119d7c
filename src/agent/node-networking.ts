/**
 * The agent's cluster-networking control plane, beside the calc graph: node startup before the syncer starts
 * (retried in the background if the datastore refuses it), the tunnel addresses re-reconciled whenever the
 * IP pools change, and, with the `bird` backend, the BgpController fed from the same syncer updates.
 */
import type { ResourceUpdate } from '../calc/inputs.js';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import type { Backend } from '../datastore/index.js';
import { errorMessage } from '../lib/errors.js';
import { BirdReloader, DirectorySecretSource, spawnLauncher } from '../routing/index.js';
import { BgpController } from './bgp.js';
import { SerialDebouncer } from './debounce.js';
import type { Logger } from './log.js';
import type { NetworkConfig } from './network-config.js';
import { runNodeStartup } from './node-startup.js';
import type { StartupConfig } from './startup-config.js';
import { reconcileTunnelAddresses } from './tunnel-address.js';

export interface NodeNetworkingDeps {
  readonly backend: Backend;
  readonly runner: CommandRunner;
  readonly log: Logger;
  readonly nodeName: string;
  readonly net: NetworkConfig;
  readonly startup: StartupConfig;
  readonly nodenameFile: string;
  readonly calicoVersion: string;
}

export interface NodeNetworking {
  onUpdates(updates: readonly ResourceUpdate[]): void;
  onInSync(): void;
  stop(): Promise<void>;
}

export async function startNodeNetworking(d: NodeNetworkingDeps): Promise<NodeNetworking> {
  let started = false;
  const startup = new SerialDebouncer(
    async () => {
      await runNodeStartup(d);
      started = true;
    },
    {
      delayMs: 0,
      onError: (e) => {
        d.log.error('node startup failed; retrying', { error: errorMessage(e) });
      },
    },
  );
  try {
    await runNodeStartup(d);
    started = true;
  } catch (e) {
    d.log.error('node startup failed; retrying in the background', { error: errorMessage(e) });
    startup.schedule(1000);
  }
  const tunnels = new SerialDebouncer(
    async () => {
      if (!started) return;
      const t = await reconcileTunnelAddresses(d.backend, d.nodeName);
      d.log.debug('tunnel addresses reconciled', { vxlan: t.vxlan ?? null, ipip: t.ipip ?? null });
    },
    {
      delayMs: 200,
      onError: (e) => {
        d.log.error('allocating tunnel addresses failed; retrying', { error: errorMessage(e) });
      },
    },
  );
  const bgp =
    d.net.backend === 'bird'
      ? new BgpController({
          nodeName: d.nodeName,
          log: d.log,
          routerId: d.net.routerId,
          secrets: new DirectorySecretSource(d.net.secretsDir),
          reloader: new BirdReloader({
            runner: d.runner,
            launcher: spawnLauncher(),
            log: d.log,
            configPath: d.net.birdConfig,
            socketPath: d.net.birdSocket,
            pidFile: d.net.birdPidFile,
          }),
        })
      : undefined;
  let inSync = false;
  return {
    onUpdates(updates) {
      bgp?.onUpdates(updates);
      if (inSync && updates.some((u) => u.key.kind === 'IPPool')) tunnels.schedule();
    },
    onInSync() {
      inSync = true;
      bgp?.onInSync();
      // Pools created after our startup (by another node or calicoctl) may want a tunnel address.
      tunnels.schedule();
    },
    async stop() {
      await startup.dispose();
      await tunnels.dispose();
      await bgp?.stop(d.net.stopBirdOnExit);
    },
  };
}
