/**
 * Reads the per-rule policy counters from the kernel: one listing of `table inet calico` through the table's
 * nft CLI (so it is counted in felix_nft_calls / felix_nft_errors), parsed by policy-counters-parse.ts. The
 * rules only exist while flow logs are on (the renderer then gives every policy and profile rule, end of tier
 * and "no profile matched" its own rule with a `counter` and an NFLOG `log`); otherwise a reading is empty.
 *
 * Readings are shared: callers within `minIntervalMs` of the last listing (default 1 s), and callers while a
 * listing runs, get that listing's result, so scrapes never list the table more than once a second.
 */
import type { Clock } from '../../lib/async.js';
import { realClock } from '../../lib/async.js';
import { KernelProgrammingError } from '../../lib/errors.js';
import { parseNflogRuleCounters, type NflogRuleCounter } from './policy-counters-parse.js';

/** What the reader needs of the table (NftTable.listJson). */
export interface PolicyCounterSource {
  listJson(options?: { readonly signal?: AbortSignal }): Promise<string | undefined>;
}

export interface PolicyCounterReaderOptions {
  readonly source: PolicyCounterSource;
  readonly clock?: Clock;
  readonly minIntervalMs?: number;
}

export interface PolicyCounterReading {
  /** Clock time the listing finished. */
  readonly at: number;
  readonly rules: readonly NflogRuleCounter[];
}

export class PolicyCounterReader {
  readonly #source: PolicyCounterSource;
  readonly #clock: Clock;
  readonly #minIntervalMs: number;
  #current: Promise<PolicyCounterReading> | undefined;
  #doneAt: number | undefined;
  /** Listings made (for tests and status). */
  listings = 0;

  constructor(o: PolicyCounterReaderOptions) {
    this.#source = o.source;
    this.#clock = o.clock ?? realClock;
    this.#minIntervalMs = o.minIntervalMs ?? 1000;
  }

  /** The latest reading, listing the table again when the last one is older than the interval. */
  read(): Promise<PolicyCounterReading> {
    const fresh = this.#doneAt === undefined || this.#clock.now() - this.#doneAt < this.#minIntervalMs;
    if (this.#current !== undefined && fresh) return this.#current;
    this.#doneAt = undefined;
    const p = this.#list().finally(() => {
      if (this.#current === p) this.#doneAt = this.#clock.now();
    });
    this.#current = p;
    return p;
  }

  async #list(): Promise<PolicyCounterReading> {
    this.listings++;
    const text = await this.#source.listJson();
    if (text === undefined) return { at: this.#clock.now(), rules: [] };
    const parsed = parseNflogRuleCounters(text);
    if (!parsed.ok)
      throw new KernelProgrammingError(`nftables: policy counters: ${parsed.error}`, {
        command: 'nft -j -p list table inet calico',
        exitCode: 0,
        stderr: '',
      });
    return { at: this.#clock.now(), rules: parsed.value };
  }
}
