/**
 * Domain sets (DNS policy, docs/design/dns-policy.md): each calc-graph domain set (`domainSetUpdate`, id ->
 * canonical patterns) becomes two learned-address sets of `table inet calico`, `cali40d-<hash>` and
 * `cali60d-<hash>` (`flags timeout`, declared empty), in the same transaction as the rules that name them;
 * `domainSetRemove` removes them, after those rules (the planner's sweep phase, like IP sets). Their elements
 * are not desired state: the DNS path adds the addresses it learns, each with a timeout, and the kernel
 * expires them. This manager keeps the id -> patterns map the DNS path matches answers against.
 */
import type { Manager, MessageHandlers } from '../manager.js';
import type { TableIntent } from '../nftables/intent.js';
import type { SetSpec } from '../nftables/model.js';
import { domainSetName } from '../rules/names.js';

const FAMILIES = [4, 6] as const;

function setSpec(family: 4 | 6, id: string): SetSpec {
  const type = family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  return { name: domainSetName(family, id), type, interval: false, timeout: true, elements: [] };
}

export class DomainSetsManager implements Manager {
  readonly name = 'domain-sets';
  readonly #table: TableIntent;
  /** Set id -> canonical patterns, as the calc graph sent them. */
  readonly #patterns = new Map<string, readonly string[]>();
  readonly #declare = new Set<string>();
  readonly #remove = new Set<string>();

  constructor(table: TableIntent) {
    this.#table = table;
  }

  readonly handlers: MessageHandlers = {
    domainSetUpdate: (m) => {
      this.#patterns.set(m.id, [...m.domains]);
      this.#declare.add(m.id);
      this.#remove.delete(m.id);
    },
    domainSetRemove: (m) => {
      this.#patterns.delete(m.id);
      this.#declare.delete(m.id);
      this.#remove.add(m.id);
    },
  };

  /** The active domain sets: id -> canonical patterns (read-only view, for the DNS path). */
  patterns(): ReadonlyMap<string, readonly string[]> {
    return this.#patterns;
  }

  completeDeferredWork(): void {
    for (const id of this.#remove) for (const f of FAMILIES) this.#table.removeSet(domainSetName(f, id));
    for (const id of this.#declare) for (const f of FAMILIES) this.#table.updateSet(setSpec(f, id));
    this.#remove.clear();
    this.#declare.clear();
  }

  reset(): void {
    this.#patterns.clear();
    this.#declare.clear();
    this.#remove.clear();
  }
}
