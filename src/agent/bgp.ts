/**
 * BIRD driven by the agent (what confd does in calico-node, reference §8): when the networking backend is
 * `bird`, the agent keeps the routing inputs it receives through its syncer (BGPConfiguration, BGPPeer,
 * BGPFilter, Node, IPPool, and this node's BlockAffinities), and after each change (debounced) recomputes
 * this node's BGP view, renders BIRD 2 configuration and applies it with BirdReloader, which starts BIRD in
 * the agent's network namespace or asks the running one to reload. A BIRD left running by a previous agent
 * instance is adopted (reconfigured, not restarted).
 *
 * Shutdown: on SIGTERM/SIGINT the agent stops BIRD (`birdc down`) unless CALICO_BIRD_STOP_ON_EXIT=false
 * (Calico leaves BIRD to its supervisor; in the lab a stopped node should stop advertising).
 */
import { decodeResource, type Resource } from '../api/decode.js';
import type { BGPConfiguration, BGPFilter, BGPPeer, Node } from '../api/v3/bgp-types.js';
import type { BlockAffinitySpec } from '../api/v3/block-affinity.js';
import type { ResourceUpdate } from '../calc/inputs.js';
import {
  type AffineBlock,
  type BirdReloader,
  computeBgpView,
  renderBirdConfig,
  type RoutingPool,
} from '../routing/index.js';
import { CalicoError, errorMessage } from '../lib/errors.js';
import { SerialDebouncer } from './debounce.js';
import type { Logger } from './log.js';

export const BGP_KINDS = [
  'BGPConfiguration',
  'BGPPeer',
  'BGPFilter',
  'Node',
  'IPPool',
  'BlockAffinity',
] as const;
const KINDS: ReadonlySet<string> = new Set(BGP_KINDS);

export interface BgpControllerOptions {
  readonly nodeName: string;
  readonly reloader: BirdReloader;
  readonly log: Logger;
  readonly routerId?: string | undefined;
  /** Quiet period before recomputing (default 100 ms). */
  readonly debounceMs?: number;
}

export class BgpController {
  readonly #opts: BgpControllerOptions;
  readonly #objects = new Map<string, Resource>();
  readonly #debouncer: SerialDebouncer;
  #inSync = false;
  #lastError: string | undefined;
  /** How often the configuration was applied, by action. */
  readonly applied = { started: 0, reconfigured: 0, unchanged: 0 };

  constructor(opts: BgpControllerOptions) {
    this.#opts = opts;
    this.#debouncer = new SerialDebouncer(() => this.#sync(), {
      delayMs: opts.debounceMs ?? 100,
      onError: (e) => {
        const msg = errorMessage(e);
        if (msg !== this.#lastError)
          opts.log.error('BIRD configuration not applied; will retry', { error: msg });
        this.#lastError = msg;
      },
    });
  }

  /** Takes the syncer's updates; only routing kinds are kept. */
  onUpdates(updates: readonly ResourceUpdate[]): void {
    let relevant = false;
    for (const u of updates) {
      if (!KINDS.has(u.key.kind)) continue;
      const key = `${u.key.kind}/${u.key.name}`;
      const r = u.value === null || u.value === undefined ? undefined : decodeResource(u.value);
      if (r?.ok === true) this.#objects.set(key, r.value);
      else this.#objects.delete(key);
      relevant = true;
    }
    if (relevant && this.#inSync) this.#debouncer.schedule();
  }

  onInSync(): void {
    this.#inSync = true;
    this.#debouncer.schedule(0);
  }

  /** Waits for a pending or running apply (tests). */
  async idle(): Promise<void> {
    await this.#debouncer.idle();
  }

  async stop(stopBird: boolean): Promise<void> {
    await this.#debouncer.dispose();
    if (stopBird) await this.#opts.reloader.stop();
  }

  #of<T>(kind: string): T[] {
    return [...this.#objects.values()].filter((o) => o.kind === kind) as T[];
  }

  async #sync(): Promise<void> {
    const me = this.#opts.nodeName;
    const blocks: AffineBlock[] = this.#of<{ spec: BlockAffinitySpec }>('BlockAffinity')
      .map((a) => a.spec)
      .filter((s) => s.node === me && (s.type ?? 'host') === 'host' && s.deleted !== true)
      .map((s) => ({ cidr: s.cidr, state: s.state }));
    const view = computeBgpView({
      nodeName: me,
      nodes: this.#of<Node>('Node'),
      bgpConfigurations: this.#of<BGPConfiguration>('BGPConfiguration'),
      bgpPeers: this.#of<BGPPeer>('BGPPeer'),
      bgpFilters: this.#of<BGPFilter>('BGPFilter'),
      ipPools: this.#of<RoutingPool>('IPPool'),
      blocks,
      ...(this.#opts.routerId !== undefined ? { routerId: this.#opts.routerId } : {}),
    });
    if (!view.ok) throw new CalicoError('CALICO_ERR_VALIDATION', view.error);
    const result = await this.#opts.reloader.apply(renderBirdConfig(view.value));
    this.applied[result.action]++;
    if (result.action !== 'unchanged' || this.#lastError !== undefined) {
      this.#opts.log.info('BIRD configuration applied', {
        action: result.action,
        peers: view.value.v4?.peers.length ?? 0,
      });
    }
    this.#lastError = undefined;
  }
}
