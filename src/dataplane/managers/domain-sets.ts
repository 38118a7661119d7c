/**
 * Domain sets (DNS policy, docs/design/dns-policy.md): each calc-graph domain set (`domainSetUpdate`, id ->
 * canonical patterns) becomes two learned-address sets of `table inet calico`, `cali40d-<hash>` and
 * `cali60d-<hash>` (`flags timeout`, declared empty), in the same transaction as the rules that name them;
 * `domainSetRemove` removes them, after those rules (the planner's sweep phase, like IP sets). Their elements
 * are not desired state: the DNS path adds the addresses it learns, each with a timeout, and the kernel
 * expires them. This manager is the DNS path's handle on them: the id -> patterns map it matches answers
 * against, `programLearned` by set id, and `onSetsReset` (the sets that are new or were recreated empty).
 */
import type { Manager, MessageHandlers } from '../manager.js';
import type { TableIntent } from '../nftables/intent.js';
import type { LearnedSetWriter } from '../nftables/learned.js';
import type { SetSpec } from '../nftables/model.js';
import { domainSetName } from '../rules/names.js';

const FAMILIES = [4, 6] as const;

/** A learned address for a domain set: the family's kernel set is chosen by the address. */
export interface LearnedAddress {
  readonly id: string;
  readonly addr: string;
  /** Remaining lifetime in seconds (learned.ts LearnedElement). */
  readonly timeoutS: number;
}

function setSpec(family: 4 | 6, id: string): SetSpec {
  const type = family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  return { name: domainSetName(family, id), type, interval: false, timeout: true, elements: [] };
}

export class DomainSetsManager implements Manager {
  readonly name = 'domain-sets';
  readonly #table: TableIntent & LearnedSetWriter;
  /** Set id -> canonical patterns, as the calc graph sent them. */
  readonly #patterns = new Map<string, readonly string[]>();
  /** Kernel set name -> set id, for the sets of `#patterns` (names are cut to 31 characters: not invertible). */
  readonly #ids = new Map<string, string>();
  readonly #declare = new Set<string>();
  readonly #remove = new Set<string>();

  constructor(table: TableIntent & LearnedSetWriter) {
    this.#table = table;
  }

  readonly handlers: MessageHandlers = {
    domainSetUpdate: (m) => {
      this.#patterns.set(m.id, [...m.domains]);
      for (const f of FAMILIES) this.#ids.set(domainSetName(f, m.id), m.id);
      this.#declare.add(m.id);
      this.#remove.delete(m.id);
    },
    domainSetRemove: (m) => {
      this.#patterns.delete(m.id);
      for (const f of FAMILIES) this.#ids.delete(domainSetName(f, m.id));
      this.#declare.delete(m.id);
      this.#remove.add(m.id);
    },
  };

  /** The active domain sets: id -> canonical patterns (read-only view, for the DNS path). */
  patterns(): ReadonlyMap<string, readonly string[]> {
    return this.#patterns;
  }

  /**
   * Writes learned addresses into their sets' kernel sets (NftTable.programLearned: one transaction,
   * resolves after nft succeeded). Addresses for sets not (yet) in the kernel are skipped: onSetsReset
   * announces them once they are.
   */
  programLearned(entries: readonly LearnedAddress[]): Promise<void> {
    return this.#table.programLearned(
      entries.map((e) => ({
        set: domainSetName(e.addr.includes(':') ? 6 : 4, e.id),
        addr: e.addr,
        timeoutS: e.timeoutS,
      })),
    );
  }

  /**
   * Calls `listener` after each apply that created or recreated the kernel sets of domain sets (new sets,
   * a rebuilt table): they are empty, so the DNS path writes what it knows for those ids. Returns the
   * function that removes the listener.
   */
  onSetsReset(listener: (ids: readonly string[]) => void): () => void {
    return this.#table.onLearnedSetsReset((names) => {
      const ids = new Set<string>();
      for (const n of names) {
        const id = this.#ids.get(n);
        if (id !== undefined) ids.add(id);
      }
      if (ids.size > 0) listener([...ids].sort());
    });
  }

  completeDeferredWork(): void {
    for (const id of this.#remove) for (const f of FAMILIES) this.#table.removeSet(domainSetName(f, id));
    for (const id of this.#declare) for (const f of FAMILIES) this.#table.updateSet(setSpec(f, id));
    this.#remove.clear();
    this.#declare.clear();
  }

  reset(): void {
    this.#patterns.clear();
    this.#ids.clear();
    this.#declare.clear();
    this.#remove.clear();
  }
}
