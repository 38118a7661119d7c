/**
 * The manager contract (Felix's `Manager` in int_dataplane.go, with the optional capabilities the loop needs):
 * the dataplane is a list of managers, each owning one kind of state, and a loop (loop.ts) that fans every
 * calc-graph message out to all of them and drives the phases of an apply. An eBPF dataplane is another list
 * of managers behind the same contract.
 *
 *   handlers             per message kind the manager takes, a handler typed for that kind (Felix's
 *                        OnUpdate without the type switch): record the message and mark what it affects
 *                        dirty. Cheap, synchronous, no kernel I/O. Kinds without a handler are not its own.
 *   completeDeferredWork optional, once per apply, in list order: render the dirty state into the table's
 *                        intent. May read the kernel (interface addresses), never writes it.
 *   (the loop applies the nftables table: one atomic transaction)
 *   apply                optional, once per apply after the table succeeded, in list order: program the
 *                        kernel objects the manager owns itself (routes, the VXLAN device); what fails stays
 *                        dirty and is retried.
 *   pending              optional: work that could not be done yet (an interface not up); the loop retries.
 *   queueResync          optional: the periodic refresh; read the owned kernel state back on the next apply.
 *   reset                forget everything: the loop is about to replay the calc graph's whole output (full
 *                        resync after a failure), into a table whose intent was cleared as well.
 *
 * A manager may throw from a handler or completeDeferredWork only on a bug or on data it cannot render; the
 * loop then resyncs the whole dataplane (and fails closed if that keeps failing). Kernel failures in apply
 * are normal and retried.
 */
import type { FelixConfig } from '../api/v3/felix-config-params.js';
import { deepEqual } from '../lib/equal.js';
import type { DataplaneMessage } from '../calc/messages.js';
import { DEFAULT_RULES_CONFIG, rulesConfigFrom, type RulesConfig } from './rules/config.js';

/** A manager's handlers for the message kinds it takes, each typed for its kind. */
export type MessageHandlers = {
  readonly [K in DataplaneMessage['kind']]?: (msg: Extract<DataplaneMessage, { readonly kind: K }>) => void;
};

/** Gives `msg` to its kind's handler, if there is one. */
export function handle(handlers: MessageHandlers, msg: DataplaneMessage): void {
  (handlers[msg.kind] as ((m: DataplaneMessage) => void) | undefined)?.(msg);
}

export interface Manager {
  /** For logs and errors (`ipsets`, `workload-endpoints`, ...). */
  readonly name: string;
  readonly handlers: MessageHandlers;
  completeDeferredWork?(signal: AbortSignal): void | Promise<void>;
  reset(): void;
  apply?(signal: AbortSignal): Promise<void>;
  readonly pending?: number;
  queueResync?(): void;
}

/**
 * What a manager records: the latest value per key, and which keys changed since the manager last rendered
 * (`take()`). `onChange` runs on every change (a manager with kernel work marks it due).
 */
export class DirtyMap<V> {
  readonly #values = new Map<string, V>();
  readonly #dirty = new Set<string>();
  readonly #onChange: () => void;

  constructor(onChange: () => void = () => undefined) {
    this.#onChange = onChange;
  }

  get values(): ReadonlyMap<string, V> {
    return this.#values;
  }

  set(key: string, value: V): void {
    this.#values.set(key, value);
    this.#changed(key);
  }

  delete(key: string): void {
    this.#values.delete(key);
    this.#changed(key);
  }

  /** Every key counts as changed (the rendering configuration changed). */
  markAll(): void {
    for (const key of this.#values.keys()) this.#changed(key);
  }

  /** The keys that changed, now forgotten. */
  take(): string[] {
    const keys = [...this.#dirty];
    this.#dirty.clear();
    return keys;
  }

  clear(): void {
    this.#values.clear();
    this.#dirty.clear();
  }

  #changed(key: string): void {
    this.#dirty.add(key);
    this.#onChange();
  }
}

/**
 * Kernel work that runs only when it is due: something changed, a resync was queued (the periodic refresh),
 * or work is pending; work that fails stays due.
 */
export class DueWork {
  #due = true;

  /** Something changed: run at the next apply. */
  markDue(): void {
    this.#due = true;
  }

  async run(alsoWhen: boolean, work: () => Promise<void>): Promise<void> {
    if (!this.#due && !alsoWhen) return;
    this.#due = false;
    try {
      await work();
    } catch (e) {
      this.#due = true;
      throw e;
    }
  }
}

/** Follows `configUpdate` messages for a manager: the current rules configuration and whether it changed. */
export class RulesConfigTracker {
  #current: RulesConfig = DEFAULT_RULES_CONFIG;

  get current(): RulesConfig {
    return this.#current;
  }

  /** Takes the message's configuration; true when the rules configuration is different from before. */
  update(config: FelixConfig): boolean {
    const next = rulesConfigFrom(config);
    if (deepEqual(next, this.#current)) return false;
    this.#current = next;
    return true;
  }

  reset(): void {
    this.#current = DEFAULT_RULES_CONFIG;
  }
}
