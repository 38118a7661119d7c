/**
 * BIRD driven by the agent (what confd and runit do in calico-node, reference §8): when the networking
 * backend is `bird`, the agent keeps the routing inputs it receives through its syncer (BGPConfiguration,
 * BGPPeer, BGPFilter, Node, IPPool, and this node's BlockAffinities), and after each change (debounced)
 * recomputes this node's BGP view, renders BIRD 2 configuration and applies it with BirdReloader, which runs
 * BIRD in the foreground in the agent's network namespace (its output in the agent's log, `source: bird`)
 * or asks the running one to reload. A BIRD left running by a previous agent instance is adopted
 * (reconfigured, not restarted); one that exits by itself is started again (backoff 1 s to 30 s).
 *
 * BGP passwords (`secretKeyRef`) are read from the SecretSource (a directory on hosts, see
 * routing/secrets.ts). A peering whose password cannot be read is refused (no session, never one without
 * TCP-MD5) and logged as an error naming the peer and the secret, once per change; `passwordProblems` lists
 * the current ones. The referenced secrets are re-read every few seconds, so a password put in place (or
 * changed) takes effect without any resource changing.
 *
 * Shutdown: on SIGTERM/SIGINT the agent stops BIRD (`birdc down`) and deletes the routes it programmed,
 * unless CALICO_BIRD_STOP_ON_EXIT=false (BIRD is then left running, as calico-node leaves it to its
 * supervisor).
 */
import { createHash } from 'node:crypto';
import { decodeResource, type Resource } from '../api/decode.js';
import type { BGPConfiguration, BGPFilter, BGPPeer, Node, SecretKeyRef } from '../api/v3/bgp-types.js';
import type { BlockAffinitySpec } from '../api/v3/block-affinity.js';
import type { ResourceUpdate } from '../calc/inputs.js';
import {
  type AffineBlock,
  type BirdReloader,
  computeBgpView,
  type PasswordProblem,
  renderBirdConfig,
  type RoutingPool,
  type SecretSource,
} from '../routing/index.js';
import { Backoff } from '../lib/async.js';
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
  /** Where `secretKeyRef` passwords are read; without one every referenced password is unavailable. */
  readonly secrets?: SecretSource | undefined;
  /** Quiet period before recomputing (default 100 ms). */
  readonly debounceMs?: number;
  /** How often the referenced secrets are re-read (default 5 s). */
  readonly secretRecheckMs?: number;
}

function problemKey(p: PasswordProblem): string {
  return `${p.outcome}|${p.peer}|${p.origin}|${p.secret}|${p.reason}`;
}

export class BgpController {
  readonly #opts: BgpControllerOptions;
  readonly #objects = new Map<string, Resource>();
  readonly #debouncer: SerialDebouncer;
  readonly #restart = new Backoff(1000, 30_000);
  readonly #unsubscribe: () => void;
  readonly #recheck: NodeJS.Timeout;
  #inSync = false;
  #lastError: string | undefined;
  #problems: readonly PasswordProblem[] = [];
  #secretsSeen = '';
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
    this.#unsubscribe = opts.reloader.onUnexpectedExit(() => {
      this.#debouncer.schedule(this.#restart.next());
    });
    this.#recheck = setInterval(() => {
      if (this.#inSync && this.#secretsFingerprint() !== this.#secretsSeen) this.#debouncer.schedule();
    }, opts.secretRecheckMs ?? 5000);
    this.#recheck.unref();
  }

  /** The peerings refused (or left without TCP-MD5) because their password cannot be read. */
  get passwordProblems(): readonly PasswordProblem[] {
    return this.#problems;
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

  /** Stops applying; then stops BIRD and deletes its routes, or leaves it running (`stopBird` false). */
  async stop(stopBird: boolean): Promise<void> {
    clearInterval(this.#recheck);
    this.#unsubscribe();
    await this.#debouncer.dispose();
    if (!stopBird) {
      this.#opts.reloader.detach();
      return;
    }
    const r = await this.#opts.reloader.stop();
    if (r.stopped) this.#opts.log.info('BIRD stopped', { removedRoutes: r.removedRoutes });
  }

  #of<T>(kind: string): T[] {
    return [...this.#objects.values()].filter((o) => o.kind === kind) as T[];
  }

  /** The secretKeyRefs of the routing resources, whatever node they apply to. */
  #secretRefs(): SecretKeyRef[] {
    const refs: SecretKeyRef[] = [];
    for (const c of this.#of<BGPConfiguration>('BGPConfiguration')) {
      const ref = c.spec.nodeMeshPassword?.secretKeyRef;
      if (ref !== undefined) refs.push(ref);
    }
    for (const p of this.#of<BGPPeer>('BGPPeer')) {
      const ref = p.spec.password?.secretKeyRef;
      if (ref !== undefined) refs.push(ref);
    }
    return refs;
  }

  /** A digest of what the referenced secrets hold now (values are not kept). */
  #secretsFingerprint(): string {
    const secrets = this.#opts.secrets;
    if (secrets === undefined) return '';
    const hash = createHash('sha256');
    for (const ref of this.#secretRefs()) {
      const r = secrets.get(ref.name ?? '', ref.key);
      hash.update(JSON.stringify([ref.name ?? '', ref.key, r.ok ? r.value : `!${r.error}`]));
    }
    return hash.digest('hex');
  }

  async #sync(): Promise<void> {
    const me = this.#opts.nodeName;
    const blocks: AffineBlock[] = this.#of<{ spec: BlockAffinitySpec }>('BlockAffinity')
      .map((a) => a.spec)
      .filter((s) => s.node === me && (s.type ?? 'host') === 'host' && s.deleted !== true)
      .map((s) => ({ cidr: s.cidr, state: s.state }));
    this.#secretsSeen = this.#secretsFingerprint();
    const view = computeBgpView({
      nodeName: me,
      nodes: this.#of<Node>('Node'),
      bgpConfigurations: this.#of<BGPConfiguration>('BGPConfiguration'),
      bgpPeers: this.#of<BGPPeer>('BGPPeer'),
      bgpFilters: this.#of<BGPFilter>('BGPFilter'),
      ipPools: this.#of<RoutingPool>('IPPool'),
      blocks,
      ...(this.#opts.routerId !== undefined ? { routerId: this.#opts.routerId } : {}),
      ...(this.#opts.secrets !== undefined ? { secrets: this.#opts.secrets } : {}),
    });
    if (!view.ok) throw new CalicoError('CALICO_ERR_VALIDATION', view.error);
    this.#reportPasswordProblems([
      ...(view.value.v4?.passwordProblems ?? []),
      ...(view.value.v6?.passwordProblems ?? []),
    ]);
    const result = await this.#opts.reloader.apply(renderBirdConfig(view.value));
    this.applied[result.action]++;
    if (result.action !== 'started') this.#restart.reset();
    if (result.action !== 'unchanged' || this.#lastError !== undefined) {
      this.#opts.log.info('BIRD configuration applied', {
        action: result.action,
        peers: (view.value.v4?.peers.length ?? 0) + (view.value.v6?.peers.length ?? 0),
      });
    }
    this.#lastError = undefined;
  }

  /** Logs the problems that are new (error when refused) and the ones that went away. */
  #reportPasswordProblems(now: readonly PasswordProblem[]): void {
    const before = new Set(this.#problems.map(problemKey));
    const after = new Set(now.map(problemKey));
    const source = this.#opts.secrets?.description ?? 'none';
    for (const p of now) {
      if (before.has(problemKey(p))) continue;
      const fields = { peer: p.peer, peerIP: p.ip, secret: p.secret, reason: p.reason, secretSource: source };
      if (p.outcome === 'refused') {
        this.#opts.log.error(
          `Can't read password for ${p.origin}: no BGP session with ${p.ip} until it can be read`,
          fields,
        );
      } else {
        this.#opts.log.warn(
          `Can't read the optional password for ${p.origin}: BGP session with ${p.ip} runs without TCP-MD5`,
          fields,
        );
      }
    }
    for (const p of this.#problems) {
      if (!after.has(problemKey(p)) && !now.some((q) => q.peer === p.peer))
        this.#opts.log.info(`BGP password for ${p.origin} can be read again`, { peer: p.peer });
    }
    this.#problems = now;
  }
}
