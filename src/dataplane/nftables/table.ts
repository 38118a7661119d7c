/**
 * NftTable: the reconciler for calico-ts's one nftables table, `table inet calico`.
 *
 * Design goals (after Felix's iptables/nftables Table):
 *  - Intent is cheap: setDesired/updateChain/updateSet/... (TableIntent) only validate and record; no I/O.
 *  - apply() sends the difference between the desired state and what we believe the kernel holds as ONE atomic
 *    `nft -f -` transaction: set/map element deltas as `add/delete element`, a changed chain flushed and refilled,
 *    new objects declared before anything refers to them, removed chains deleted after the rules and map
 *    elements that pointed at them, removed sets/maps after the rules that used them (plan.ts has the phases).
 *  - Ownership: everything inside the table is ours and nothing outside it is touched. Every rule carries the
 *    comment `cali:<hash of chain and rule text>[ note]`, so refresh() can read the kernel back
 *    (`nft -j -p list table inet calico`) and see deleted, edited, reordered or foreign rules, missing or extra
 *    elements, extra chains/sets/maps/objects. A rule edited in place with its comment kept is caught by its
 *    expression fingerprint once this instance has seen the rule unedited.
 *  - Restart safety: the first apply reads the kernel first, adopts what already matches and sweeps the rest in
 *    the same single transaction: the old table stays in force until the commit replaces the differences.
 *  - Failure: a failed transaction leaves the kernel untouched (atomic) and its objects dirty. apply() then
 *    re-reads the kernel and retries once; if that fails too it applies the units in batches, then one by one,
 *    so one bad rule cannot block unrelated updates; what still fails is reported in an NftApplyError (a
 *    KernelProgrammingError) and retried by the next apply.
 *  - One apply, refresh, deleteTable or learned-element write at a time: calls are queued, never interleaved.
 *  - Learned addresses (DNS policy, learned.ts): programLearned writes timed elements into timeout sets,
 *    never touched by the reconciler; an apply that (re)creates such sets tells onLearnedSetsReset listeners.
 */
import { KernelProgrammingError } from '../../lib/errors.js';
import type { CommandRunner } from '../exec/command-runner.js';
import { TableIntent } from './intent.js';
import { EMPTY_TABLE } from './model.js';
import { emptyKernelState, type KernelState } from './kernel-state.js';
import { NFT_FAMILY, NFT_TABLE } from '../rules/names.js';
import { RULE_COMMENT_PREFIX } from './syntax.js';
import { LearnedWriter, type LearnedElement, type LearnedSetWriter } from './learned.js';
import { NftCli } from './nft-cli.js';
import { ResidentNft } from './resident.js';
import { planTransaction, transactionOps, type Plan, type Unit } from './plan.js';
import { renderTransaction } from './render.js';

export interface NftTableOptions {
  readonly runner: CommandRunner;
  /** The nft binary (default `nft`). */
  readonly nft?: string;
  /** Limit for one nft invocation (default 120 s). */
  readonly timeoutMs?: number;
  /** Units per transaction while isolating a failure (default 64). */
  readonly isolationBatchSize?: number;
}

export interface NftTableStats {
  readonly nftCalls: number;
  /** Failed nft calls: rejected transactions, unreadable listings, nft that could not be run. */
  readonly nftErrors: number;
  readonly applies: number;
  readonly failedApplies: number;
  /** Reads of the kernel table (refresh(), first apply, retries). */
  readonly refreshes: number;
  /** Objects found out of sync by refresh() (drift or leftovers), cumulative. */
  readonly outOfSyncFound: number;
  /** What is programmed, as far as we know. */
  readonly chains: number;
  readonly rules: number;
  readonly sets: number;
  readonly setElements: number;
  readonly maps: number;
  readonly mapElements: number;
  /** Objects with changes not yet programmed. */
  readonly dirty: number;
  /** programLearned: successful nft transactions, and elements they wrote (cumulative). */
  readonly learnedWrites: number;
  readonly learnedElements: number;
  /** Of learnedWrites, those by the resident nft (resident.ts); batches it did not answer (run by `nft -f -`). */
  readonly learnedResidentWrites: number;
  readonly learnedResidentFallbacks: number;
}

export interface ApplyResult {
  /** `nft -f` invocations made (0 when nothing had changed). */
  readonly transactions: number;
  /** Script operations sent by the successful transactions. */
  readonly ops: number;
  /** Objects changed (units programmed). */
  readonly changed: number;
}

export interface RefreshResult {
  /** The objects that differ from the desired state (`chain x`, `set y`, ...), to be fixed by the next apply. */
  readonly outOfSync: readonly string[];
}

export interface FailedObject {
  readonly label: string;
  readonly stderr: string;
}

/** apply() could not program some objects; they stay dirty and are retried by the next apply. */
export class NftApplyError extends KernelProgrammingError {
  readonly failed: readonly FailedObject[];
  constructor(command: string, failed: readonly FailedObject[]) {
    const stderr = failed.map((f) => `${f.label}: ${f.stderr}`).join('\n');
    super(`nftables: failed to program ${failed.map((f) => f.label).join(', ')}`, {
      command,
      exitCode: 1,
      stderr,
    });
    this.failed = failed;
  }
}

type Signal = { readonly signal?: AbortSignal };

const NOTHING: ApplyResult = { transactions: 0, ops: 0, changed: 0 };

export class NftTable extends TableIntent implements LearnedSetWriter {
  readonly #cli: NftCli;
  readonly #batchSize: number;
  #kernel: KernelState = emptyKernelState();
  /** False until the kernel has been read, and again after a failure that leaves its state unknown. */
  #synced = false;
  /** `chain\0comment` → expression fingerprint first seen, to notice rules edited in place. */
  #fingerprints = new Map<string, string>();
  #tail: Promise<unknown> = Promise.resolve();
  readonly #counters = { applies: 0, failedApplies: 0, refreshes: 0, outOfSyncFound: 0 };
  readonly #learned: LearnedWriter;
  readonly #resident: ResidentNft;
  readonly #resetListeners = new Set<(names: readonly string[]) => void>();
  /** Timeout sets (re)created by the current apply, announced when it ends. */
  readonly #resetSets = new Set<string>();

  constructor(options: NftTableOptions) {
    super();
    this.#cli = new NftCli({
      runner: options.runner,
      nft: options.nft ?? 'nft',
      timeoutMs: options.timeoutMs ?? 120_000,
    });
    this.#batchSize = Math.max(1, options.isolationBatchSize ?? 64);
    this.#resident = new ResidentNft({ runner: options.runner, nft: options.nft ?? 'nft' });
    this.#learned = new LearnedWriter({
      cli: this.#cli,
      resident: this.#resident,
      kernel: () => this.#kernel,
      queue: (fn) => this.#exclusive(fn),
      reread: async () => {
        await this.#readKernel(undefined);
        this.markAllPending();
      },
    });
  }

  /** Stops the waiting `nft` processes (nft-cli.ts, resident.ts); the table stays usable (nft per transaction). */
  close(): void {
    this.#cli.close();
    this.#resident.close();
  }

  /**
   * The table as `nft -j -p list table inet calico` prints it, counter values included (undefined while it
   * does not exist): a read-only listing outside the apply queue, for the per-rule policy counters.
   */
  listJson(options: Signal = {}): Promise<string | undefined> {
    return this.#cli.listTableJson(options.signal);
  }

  /** True when apply() has work to do (or has not yet read the kernel). */
  hasPendingChanges(): boolean {
    return !this.#synced || this.allPending || this.pendingCount > 0;
  }

  stats(): NftTableStats {
    const k = this.#kernel;
    const sum = <T>(xs: Iterable<T>, f: (x: T) => number) => [...xs].reduce((n, x) => n + f(x), 0);
    return {
      nftCalls: this.#cli.calls,
      nftErrors: this.#cli.errors,
      ...this.#counters,
      chains: k.chains.size,
      rules: sum(k.chains.values(), (c) => c.rules.length),
      sets: k.sets.size,
      setElements: sum(k.sets.values(), (s) => s.elements.size),
      maps: k.maps.size,
      mapElements: sum(k.maps.values(), (m) => m.elements.size),
      dirty: this.pendingCount,
      learnedWrites: this.#learned.writes,
      learnedElements: this.#learned.elements,
      learnedResidentWrites: this.#learned.residentWrites,
      learnedResidentFallbacks: this.#learned.residentFallbacks,
    };
  }

  /**
   * Forgets the desired state and what we believe the kernel holds (a full resync of the dataplane): the
   * caller records the whole desired state again, and the next apply reads the kernel, keeps what already
   * matches and replaces the rest in one transaction. Nothing is sent until then.
   */
  reset(): void {
    this.setDesired(EMPTY_TABLE);
    this.#synced = false;
  }

  /** Reads the kernel's table; the next apply repairs every difference found (drift, leftovers). */
  refresh(options: Signal = {}): Promise<RefreshResult> {
    return this.#exclusive(async () => {
      await this.#readKernel(options.signal);
      this.markAllPending();
      const outOfSync = planTransaction(this.desired, this.#kernel, 'all').units.map((u) => u.label);
      this.#counters.outOfSyncFound += outOfSync.length;
      return { outOfSync };
    });
  }

  /**
   * Programs the pending changes in one transaction (see the module comment for failures). Then, if it
   * (re)created timeout sets, calls the onLearnedSetsReset listeners; one that throws makes apply reject.
   */
  apply(options: Signal = {}): Promise<ApplyResult> {
    return this.#exclusive(async () => {
      try {
        return await this.#apply(options.signal);
      } finally {
        this.#announceReset();
      }
    });
  }

  /**
   * Adds learned addresses to timeout sets in ONE nft transaction (`add element ... { <addr> timeout <n>s }`;
   * an element already there gets the new timeout), queued behind any apply; callers arriving while it
   * waits share it. Resolves once nft succeeded. Entries for sets the kernel does not hold as timeout sets
   * are skipped; bad entries reject with a ValidationError and write nothing (learned.ts).
   */
  programLearned(entries: readonly LearnedElement[]): Promise<void> {
    return this.#learned.program(entries);
  }

  onLearnedSetsReset(listener: (names: readonly string[]) => void): () => void {
    this.#resetListeners.add(listener);
    return () => this.#resetListeners.delete(listener);
  }

  #announceReset(): void {
    if (this.#resetSets.size === 0) return;
    const names = [...this.#resetSets].sort();
    this.#resetSets.clear();
    for (const listener of [...this.#resetListeners]) listener(names);
  }

  /** Deletes the whole table (lab teardown, uninstall). The desired state is kept: a later apply recreates it. */
  deleteTable(options: Signal = {}): Promise<void> {
    return this.#exclusive(async () => {
      // `add` first makes the delete succeed whether or not the table exists.
      const failure = await this.#cli.transaction(
        renderTransaction([{ kind: 'addTable' }, { kind: 'deleteTable' }]),
        options.signal,
      );
      if (failure !== undefined) {
        this.#synced = false;
        throw new NftApplyError(this.#cli.transactionCommand, [
          { label: `table ${NFT_FAMILY} ${NFT_TABLE}`, stderr: failure },
        ]);
      }
      this.#kernel = emptyKernelState();
      this.#synced = true;
      this.markAllPending();
    });
  }

  async #apply(signal: AbortSignal | undefined): Promise<ApplyResult> {
    this.#counters.applies++;
    const scope = this.takePending();
    try {
      let all = scope.all;
      if (!this.#synced) {
        await this.#readKernel(signal);
        all = true;
      }
      let plan = planTransaction(this.desired, this.#kernel, all ? 'all' : scope);
      const first = await this.#tryWhole(plan, signal);
      if (typeof first !== 'string') return first;
      // Perhaps our picture of the kernel was stale (someone changed it): read it and try once more.
      await this.#readKernel(signal);
      plan = planTransaction(this.desired, this.#kernel, 'all');
      const second = await this.#tryWhole(plan, signal);
      if (typeof second !== 'string') return { ...second, transactions: second.transactions + 1 };
      if (plan.rebuild) {
        this.markAllPending();
        const label = `table ${NFT_FAMILY} ${NFT_TABLE} (rebuild)`;
        throw new NftApplyError(this.#cli.transactionCommand, [{ label, stderr: second }]);
      }
      return await this.#isolate(plan, signal);
    } catch (e) {
      this.#counters.failedApplies++;
      if (!(e instanceof NftApplyError)) {
        this.restorePending(scope);
        this.#synced = false;
      }
      throw e;
    }
  }

  /** One transaction for the whole plan: the result on success, nft's complaint when it rejected it. */
  async #tryWhole(plan: Plan, signal: AbortSignal | undefined): Promise<ApplyResult | string> {
    if (plan.units.length === 0) return NOTHING;
    const ops = transactionOps(plan);
    const failure = await this.#cli.transaction(renderTransaction(ops), signal);
    if (failure !== undefined) return failure;
    this.#commit(plan.units, plan.rebuild);
    return { transactions: 1, ops: ops.length, changed: plan.units.length };
  }

  /** Applies the units in batches, a failing batch one unit at a time, repeating while anything succeeds. */
  async #isolate(plan: Plan, signal: AbortSignal | undefined): Promise<ApplyResult> {
    let transactions = 2;
    let ops = 0;
    const failures = new Map<Unit, string>();
    const attempt = async (units: readonly Unit[]): Promise<string | undefined> => {
      const txOps = transactionOps({ units, rebuild: false });
      transactions++;
      const failure = await this.#cli.transaction(renderTransaction(txOps), signal);
      if (failure === undefined) {
        this.#commit(units, false);
        ops += txOps.length;
      }
      return failure;
    };
    let pending = [...plan.units];
    for (let progress = true; progress && pending.length > 0;) {
      progress = false;
      const next: Unit[] = [];
      for (let i = 0; i < pending.length; i += this.#batchSize) {
        const batch = pending.slice(i, i + this.#batchSize);
        if (batch.length > 1 && (await attempt(batch)) === undefined) {
          progress = true;
          continue;
        }
        for (const unit of batch) {
          const failure = await attempt([unit]);
          if (failure === undefined) progress = true;
          else {
            failures.set(unit, failure);
            next.push(unit);
          }
        }
      }
      pending = next;
    }
    if (pending.length === 0) return { transactions, ops, changed: plan.units.length };
    for (const unit of pending) this.markPending(unit.objects);
    const failed = pending.map((u) => ({ label: u.label, stderr: failures.get(u) ?? '' }));
    throw new NftApplyError(this.#cli.transactionCommand, failed);
  }

  async #readKernel(signal: AbortSignal | undefined): Promise<void> {
    this.#counters.refreshes++;
    this.#kernel = this.#markEditedRules(await this.#cli.listTable(signal));
    this.#synced = true;
  }

  /** Rules whose expression changed since we first saw them under the same comment lose the comment (drift). */
  #markEditedRules(state: KernelState): KernelState {
    const learned = new Map<string, string>();
    for (const [name, chain] of state.chains) {
      const rules = chain.rules.map((rule) => {
        const { comment, fingerprint } = rule;
        if (comment?.startsWith(RULE_COMMENT_PREFIX) !== true || fingerprint === undefined) return rule;
        const key = `${name}\0${comment}`;
        const seen = this.#fingerprints.get(key) ?? fingerprint;
        learned.set(key, seen);
        return seen === fingerprint ? rule : { comment: undefined, fingerprint };
      });
      state.chains.set(name, { hook: chain.hook, rules });
    }
    this.#fingerprints = learned;
    return state;
  }

  #commit(units: readonly Unit[], rebuild: boolean): void {
    if (rebuild) this.#kernel = emptyKernelState();
    const k = this.#kernel;
    k.tableExists = true;
    for (const op of units.flatMap((unit) => unit.ops.flat()))
      if (op.kind === 'addSet' && op.timeout) this.#resetSets.add(op.name);
    for (const u of units.flatMap((unit) => unit.updates)) {
      switch (u.kind) {
        case 'chain':
          if (u.value === undefined) k.chains.delete(u.name);
          else k.chains.set(u.name, u.value);
          break;
        case 'set':
          if (u.value === undefined) k.sets.delete(u.name);
          else k.sets.set(u.name, u.value);
          break;
        case 'map':
          if (u.value === undefined) k.maps.delete(u.name);
          else k.maps.set(u.name, u.value);
          break;
        case 'foreign': {
          const i = k.foreign.findIndex((f) => f.kind === u.object.kind && f.name === u.object.name);
          if (i >= 0) k.foreign.splice(i, 1);
          break;
        }
      }
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    // The queue only orders calls; each caller gets its own outcome through `run`.
    this.#tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
