/**
 * IP sets (Felix's IP-set manager, in nftables form): each calc-graph IP set becomes two named sets of
 * `table inet calico`, `cali40<id>` and `cali60<id>` (one per family): selector sets of addresses, named-port
 * sets of `address . protocol . port`. A whole set is written when it is (re)created; later changes go to the
 * table as member deltas, so a large set with a small change costs a small transaction.
 */
import type { IpSetType } from '../../calc/messages.js';
import { BugError } from '../../lib/errors.js';
import type { Manager, MessageHandlers } from '../manager.js';
import type { SetSpec } from '../nftables/model.js';
import type { TableIntent } from '../nftables/intent.js';
import { ipSetName } from '../rules/names.js';

interface IpSetState {
  readonly type: IpSetType;
  readonly members: Set<string>;
}

interface Delta {
  readonly added: Set<string>;
  readonly removed: Set<string>;
}

const FAMILIES = [4, 6] as const;

function familyOfMember(m: string): 4 | 6 {
  const ip = m.split(/[,/]/)[0] ?? m;
  return ip.includes(':') ? 6 : 4;
}

/** `10.0.0.1,tcp,80` -> `10.0.0.1 . tcp . 80`; CIDRs unchanged. */
function nftElement(type: IpSetType, m: string): string {
  return type === 'ipPort' ? m.split(',').join(' . ') : m;
}

function setSpec(id: string, f: 4 | 6, st: IpSetState): SetSpec {
  const type =
    st.type === 'net'
      ? f === 4
        ? 'ipv4_addr'
        : 'ipv6_addr'
      : f === 4
        ? 'ipv4_addr . inet_proto . inet_service'
        : 'ipv6_addr . inet_proto . inet_service';
  const elements = [...st.members].filter((m) => familyOfMember(m) === f).map((m) => nftElement(st.type, m));
  return { name: ipSetName(f, id), type, interval: st.type === 'net', elements };
}

export class IpSetsManager implements Manager {
  readonly name = 'ipsets';
  readonly #table: TableIntent;
  readonly #sets = new Map<string, IpSetState>();
  /** Sets to write whole, member deltas for the others, and sets to remove. */
  readonly #full = new Set<string>();
  readonly #deltas = new Map<string, Delta>();
  readonly #removed = new Set<string>();

  constructor(table: TableIntent) {
    this.#table = table;
  }

  readonly handlers: MessageHandlers = {
    ipSetUpdate: (m) => {
      this.#sets.set(m.id, { type: m.type, members: new Set(m.members) });
      this.#full.add(m.id);
      this.#deltas.delete(m.id);
      this.#removed.delete(m.id);
    },
    ipSetDeltaUpdate: (m) => {
      this.#onDelta(m.id, m.added, m.removed);
    },
    ipSetRemove: (m) => {
      this.#sets.delete(m.id);
      this.#full.delete(m.id);
      this.#deltas.delete(m.id);
      this.#removed.add(m.id);
    },
  };

  #onDelta(id: string, added: readonly string[], removed: readonly string[]): void {
    const st = this.#sets.get(id);
    // The sequencer sends a set before its deltas: a delta for an unknown set means our state is wrong.
    if (st === undefined) throw new BugError(`IP set ${id}: members changed before the set was created`);
    for (const m of removed) st.members.delete(m);
    for (const m of added) st.members.add(m);
    if (this.#full.has(id)) return;
    let d = this.#deltas.get(id);
    if (d === undefined) {
      d = { added: new Set(), removed: new Set() };
      this.#deltas.set(id, d);
    }
    for (const m of removed) if (!d.added.delete(m)) d.removed.add(m);
    for (const m of added) if (!d.removed.delete(m)) d.added.add(m);
  }

  completeDeferredWork(): void {
    for (const id of this.#removed) for (const f of FAMILIES) this.#table.removeSet(ipSetName(f, id));
    for (const id of this.#full) {
      const st = this.#sets.get(id);
      if (st !== undefined) for (const f of FAMILIES) this.#table.updateSet(setSpec(id, f, st));
    }
    for (const [id, d] of this.#deltas) {
      const type = this.#sets.get(id)?.type ?? 'net';
      for (const f of FAMILIES) {
        const name = ipSetName(f, id);
        const of = (ms: Set<string>) =>
          [...ms].filter((m) => familyOfMember(m) === f).map((m) => nftElement(type, m));
        const rem = of(d.removed);
        const add = of(d.added);
        if (rem.length > 0) this.#table.removeSetMembers(name, rem);
        if (add.length > 0) this.#table.addSetMembers(name, add);
      }
    }
    this.#removed.clear();
    this.#full.clear();
    this.#deltas.clear();
  }

  reset(): void {
    this.#sets.clear();
    this.#full.clear();
    this.#deltas.clear();
    this.#removed.clear();
  }
}
