/**
 * Local host endpoints (Felix's endpoint manager, host half): which endpoint applies to which interface
 * (rules/host-resolve.ts: one per interface and one `*`, the lowest name winning; the others are logged as
 * ignored), per interface the normal, untracked (raw) and preDNAT (mangle) chains (rules/host.ts) with
 * their dispatch-map entries (host and forwarded traffic), the tier chains they jump to, and the dispatch
 * chains whose tail is the `*` endpoint (rules/host.ts renderHostDispatch). Host endpoints are rendered
 * together, since the `*` endpoint and endpoints matched by address depend on the others. Endpoints matched
 * by expected IPs follow the interfaces' addresses, read from the kernel on every apply while such an
 * endpoint exists.
 */
import type { HostEndpointMsg } from '../../calc/messages.js';
import type { CommandRunner } from '../exec/command-runner.js';
import { readInterfaces } from '../iproute/tools.js';
import { DirtyMap, RulesConfigTracker, type Manager, type MessageHandlers } from '../manager.js';
import type { TableIntent } from '../nftables/intent.js';
import {
  needsInterfaceAddresses,
  resolveHostEndpoints,
  type IgnoredHostEndpoint,
} from '../rules/host-resolve.js';
import { renderHostDispatch, renderHostEndpoint, type HostDispatchTargets } from '../rules/host.js';
import type { TierChainUsers } from './tier-chains.js';

interface Programmed {
  readonly chains: readonly string[];
  /** [map, interface] entries this endpoint put into the dispatch maps. */
  readonly entries: readonly (readonly [string, string])[];
}

type Addresses = ReadonlyMap<string, readonly string[]>;

/** Where the manager reports host endpoints it ignores (the agent's log). */
export type HostEndpointWarn = (msg: string, fields: Record<string, unknown>) => void;

function addressKey(m: Addresses): string {
  return JSON.stringify([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
}

export class HostEndpointManager implements Manager {
  readonly name = 'host-endpoints';
  readonly #table: TableIntent;
  readonly #tiers: TierChainUsers;
  readonly #runner: CommandRunner;
  readonly #endpoints = new DirtyMap<HostEndpointMsg>();
  readonly #programmed = new Map<string, Programmed>();
  readonly #config = new RulesConfigTracker();
  /** Host interface -> its addresses, for endpoints matched by expected IPs. */
  #addresses: Addresses = new Map();
  /** The dispatch chains are always written once after a start or reset, even with no host endpoints. */
  #dirty = true;
  readonly #warn: HostEndpointWarn;
  /** What was last reported as ignored, so that each change is logged once (kept across a reset). */
  #ignored: readonly IgnoredHostEndpoint[] = [];

  constructor(
    table: TableIntent,
    tiers: TierChainUsers,
    runner: CommandRunner,
    warn: HostEndpointWarn = () => undefined,
  ) {
    this.#table = table;
    this.#tiers = tiers;
    this.#runner = runner;
    this.#warn = warn;
  }

  /** The host endpoints that apply nowhere because another one won their interface. */
  get ignored(): readonly IgnoredHostEndpoint[] {
    return this.#ignored;
  }

  readonly handlers: MessageHandlers = {
    configUpdate: (m) => {
      if (this.#config.update(m.config)) this.#dirty = true;
    },
    hostEndpointUpdate: (m) => {
      this.#endpoints.set(m.id, m.endpoint);
    },
    hostEndpointRemove: (m) => {
      this.#endpoints.delete(m.id);
    },
  };

  async completeDeferredWork(signal: AbortSignal): Promise<void> {
    const endpoints = this.#endpoints.values;
    if (this.#endpoints.take().length > 0) this.#dirty = true;
    if (needsInterfaceAddresses(endpoints)) {
      const read = new Map(
        (await readInterfaces(this.#runner, signal)).map((i) => [i.name, i.addresses] as const),
      );
      if (addressKey(read) !== addressKey(this.#addresses)) {
        this.#addresses = read;
        this.#dirty = true;
      }
    }
    if (!this.#dirty) return;
    this.#render();
    this.#dirty = false;
  }

  #render(): void {
    const wanted = new Map<string, Programmed>();
    let any: HostDispatchTargets | undefined;
    const cfg = this.#config.current;
    const { instances, ignored } = resolveHostEndpoints(
      this.#endpoints.values,
      this.#addresses,
      cfg.interfacePrefixes,
    );
    this.#reportIgnored(ignored);
    for (const { key, endpoint: ep } of instances) {
      const r = renderHostEndpoint(ep, cfg);
      this.#tiers.setUser(`hep:${key}`, r.tierChains);
      for (const c of r.chains) this.#table.updateChain(c.name, c.rules);
      const entries: [string, string][] = [];
      // The `*` endpoint is reached from the dispatch chains' tail, not from the maps.
      if (ep.interfaceName === '*') {
        any = r.targets;
      } else {
        for (const [map, iface, verdict] of r.entries) {
          this.#table.updateMapElements(map, [[iface, verdict]]);
          entries.push([map, iface]);
        }
      }
      wanted.set(key, { chains: r.chains.map((c) => c.name), entries });
    }
    // Chains and entries are named by interface: another endpoint may have taken over one (a lower name
    // arrived, an address moved), so only what no endpoint wants any more is removed.
    const chains = new Set([...wanted.values()].flatMap((w) => w.chains));
    const entries = new Set([...wanted.values()].flatMap((w) => w.entries.map(([m, i]) => `${m}\u0000${i}`)));
    for (const [key, old] of this.#programmed) {
      if (!wanted.has(key)) this.#tiers.setUser(`hep:${key}`, []);
      for (const [map, iface] of old.entries)
        if (!entries.has(`${map}\u0000${iface}`)) this.#table.removeMapElements(map, [iface]);
      for (const c of old.chains) if (!chains.has(c)) this.#table.removeChain(c);
    }
    this.#programmed.clear();
    for (const [key, v] of wanted) this.#programmed.set(key, v);
    for (const c of renderHostDispatch(any)) this.#table.updateChain(c.name, c.rules);
  }

  #reportIgnored(ignored: readonly IgnoredHostEndpoint[]): void {
    for (const i of ignored)
      if (!this.#ignored.some((o) => o.id === i.id && o.reason === i.reason))
        this.#warn('host endpoint ignored: another one applies to its interface', {
          hostEndpoint: i.name,
          reason: i.reason,
        });
    this.#ignored = ignored;
  }

  reset(): void {
    this.#endpoints.clear();
    this.#programmed.clear();
    this.#config.reset();
    this.#addresses = new Map();
    this.#dirty = true;
  }
}
