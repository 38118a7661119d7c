/**
 * Learned addresses (DNS policy): elements written into timeout sets (model.ts SetSpec.timeout) outside the
 * desired state, each with its own timeout, for NftTable.programLearned. LearnedWriter validates them, turns
 * them into one transaction (skipping sets the kernel does not hold as timeout sets), runs it in the table's
 * queue (never beside an apply), and coalesces callers that arrive while a write is queued or running into
 * that write. With a resident nft (resident.ts) the transaction is a line written to it; when it gives no
 * answer the same transaction is run with `nft -f -` (adding an element with its timeout is idempotent).
 */
import { KernelProgrammingError, ValidationError, type FieldIssue } from '../../lib/errors.js';
import { canonicalElement } from './elements.js';
import type { KernelState } from './kernel-state.js';
import type { NftCli } from './nft-cli.js';
import type { NftOp } from './ops.js';
import { renderTransaction } from './render.js';
import type { ResidentNft } from './resident.js';
import { isValidObjectName } from './syntax.js';

export interface LearnedElement {
  /** A timeout set of the table (`cali40d-<hash>`, `cali60d-<hash>`). */
  readonly set: string;
  /** An IPv4 address for an `ipv4_addr` set, IPv6 for `ipv6_addr` (no prefix). */
  readonly addr: string;
  /** Remaining lifetime in seconds: rounded up; 0 or less is already expired and skipped. */
  readonly timeoutS: number;
}

/**
 * The longest timeout written: 2^32-1 ms, the most every kernel keeps (49.7 days); longer lifetimes are
 * cut to it. Never 0, which nft takes as "no timeout" (an element that would never expire).
 */
export const MAX_LEARNED_TIMEOUT_S = 4_294_967;

/** What the DNS path needs of the table: writing learned elements, hearing of emptied sets (NftTable). */
export interface LearnedSetWriter {
  /** Adds (or extends) the elements in one nft transaction; resolves after nft succeeded. */
  programLearned(entries: readonly LearnedElement[]): Promise<void>;
  /**
   * Calls `listener` with the names of the timeout sets an apply has just created or recreated (they are
   * empty: re-program them). Returns the function that removes the listener.
   */
  onLearnedSetsReset(listener: (names: readonly string[]) => void): () => void;
}

/** The entries with whole-second timeouts (expired ones dropped), or a ValidationError naming each bad one. */
export function checkLearned(entries: readonly LearnedElement[]): LearnedElement[] {
  const issues: FieldIssue[] = [];
  const out: LearnedElement[] = [];
  entries.forEach((e, i) => {
    const path = `learned[${i}]`;
    if (!isValidObjectName(e.set))
      issues.push({ path: `${path}.set`, message: `invalid set name ${JSON.stringify(e.set)}` });
    if (!Number.isFinite(e.timeoutS))
      issues.push({
        path: `${path}.timeoutS`,
        message: `timeout must be a number of seconds, got ${e.timeoutS}`,
      });
    const v4 = canonicalElement('ipv4_addr', false, e.addr);
    const addr = v4.ok ? v4 : canonicalElement('ipv6_addr', false, e.addr);
    if (!addr.ok)
      issues.push({ path: `${path}.addr`, message: `${JSON.stringify(e.addr)} is not an IP address` });
    else if (e.timeoutS > 0) {
      const timeoutS = Math.min(MAX_LEARNED_TIMEOUT_S, Math.ceil(e.timeoutS));
      out.push({ set: e.set, addr: addr.value, timeoutS });
    }
  });
  if (issues.length > 0) throw new ValidationError(issues, 'learned set elements');
  return out;
}

/**
 * One `addTimedElements` per set the kernel holds as a timeout set of the address's family; an address
 * given more than once keeps its longest timeout. Entries for other sets are skipped (not declared yet, or
 * removed meanwhile: the reset listener re-programs a set once it is created).
 */
export function learnedOps(entries: readonly LearnedElement[], kernel: KernelState): NftOp[] {
  const bySet = new Map<string, Map<string, number>>();
  for (const e of entries) {
    const set = kernel.sets.get(e.set);
    if (set?.timeout !== true || !set.compatible) continue;
    if ((set.type === 'ipv6_addr') !== e.addr.includes(':')) continue;
    let elems = bySet.get(e.set);
    if (elems === undefined) {
      elems = new Map<string, number>();
      bySet.set(e.set, elems);
    }
    elems.set(e.addr, Math.max(elems.get(e.addr) ?? 0, e.timeoutS));
  }
  return [...bySet].map(([set, elems]) => ({
    kind: 'addTimedElements',
    set,
    elements: [...elems].map(([element, timeoutS]) => ({ element, timeoutS })),
  }));
}

interface Batch<T> {
  readonly items: T[];
  done: Promise<void>;
}

/**
 * Gathers items into batches: `add` joins the open batch, or opens one and schedules it. The scheduled
 * function must call `take` asynchronously (NftTable runs it in its queue); `take` closes the batch, so
 * items added later go to a new one. Every caller of a batch gets that batch's outcome.
 */
export class Coalescer<T> {
  readonly #schedule: (take: () => readonly T[]) => Promise<void>;
  #open: Batch<T> | undefined;

  constructor(schedule: (take: () => readonly T[]) => Promise<void>) {
    this.#schedule = schedule;
  }

  add(items: readonly T[]): Promise<void> {
    const batch = this.#open ?? this.#start();
    batch.items.push(...items);
    return batch.done;
  }

  #start(): Batch<T> {
    const batch: Batch<T> = { items: [], done: Promise.resolve() };
    this.#open = batch;
    batch.done = this.#schedule(() => {
      if (this.#open === batch) this.#open = undefined;
      return batch.items;
    });
    return batch;
  }
}

export interface LearnedWriterOptions {
  readonly cli: NftCli;
  /** Tried first for each transaction when it is usable (resident.ts). */
  readonly resident?: ResidentNft;
  /** What the table believes the kernel holds (updated in place when elements lose their surplus status). */
  readonly kernel: () => KernelState;
  /** Runs `fn` in the table's queue, after whatever is queued. */
  readonly queue: (fn: () => Promise<void>) => Promise<void>;
  /** Re-reads the kernel into the table's belief (and marks everything for the next apply). */
  readonly reread: () => Promise<void>;
}

/** NftTable.programLearned (see there), with its counters. */
export class LearnedWriter {
  readonly #o: LearnedWriterOptions;
  readonly #batches: Coalescer<LearnedElement>;
  /** Successful transactions and the elements they wrote. */
  writes = 0;
  elements = 0;
  /** Transactions answered by the resident nft, and those it did not answer (run with `nft -f -`). */
  residentWrites = 0;
  residentFallbacks = 0;
  /** The command of the last transaction, for error reports. */
  #command = '';

  constructor(options: LearnedWriterOptions) {
    this.#o = options;
    this.#batches = new Coalescer((take) => options.queue(() => this.#write(take())));
  }

  /** Rejects (ValidationError) without writing anything when an entry is bad. */
  async program(entries: readonly LearnedElement[]): Promise<void> {
    const checked = checkLearned(entries);
    if (checked.length > 0) await this.#batches.add(checked);
  }

  /** Runs one transaction: undefined when nft took it, else nft's complaint. */
  async #transaction(ops: readonly NftOp[]): Promise<string | undefined> {
    const { cli, resident } = this.#o;
    const script = renderTransaction(ops);
    if (resident?.usable === true) {
      this.#command = resident.command;
      const out = await resident.transaction(script);
      if (out.kind === 'applied') this.residentWrites++;
      if (out.kind !== 'unavailable') return out.kind === 'applied' ? undefined : out.failure;
      this.residentFallbacks++;
    }
    this.#command = cli.transactionCommand;
    return cli.transaction(script, undefined);
  }

  async #write(entries: readonly LearnedElement[]): Promise<void> {
    let ops = learnedOps(entries, this.#o.kernel());
    if (ops.length === 0) return;
    let failure = await this.#transaction(ops);
    if (failure !== undefined) {
      // Our picture of the kernel may be stale (a set deleted behind our back): read it, retry what fits.
      await this.#o.reread();
      ops = learnedOps(entries, this.#o.kernel());
      if (ops.length === 0) return;
      failure = await this.#transaction(ops);
      if (failure !== undefined) {
        const command = this.#command;
        throw new KernelProgrammingError(`nftables: failed to program learned set elements: ${failure}`, {
          command,
          exitCode: 1,
          stderr: failure,
        });
      }
    }
    this.writes++;
    const kernel = this.#o.kernel();
    for (const op of ops) {
      if (op.kind !== 'addTimedElements') continue;
      this.elements += op.elements.length;
      // An element that was there without a timeout has one now: it is no longer surplus.
      const k = kernel.sets.get(op.set);
      if (k === undefined || k.elements.size === 0) continue;
      const written = new Set(op.elements.map((e) => e.element));
      kernel.sets.set(op.set, { ...k, elements: new Set([...k.elements].filter((e) => !written.has(e))) });
    }
  }
}
