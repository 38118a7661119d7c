/**
 * The static part of the table (Felix's static chains): the base chains and top-level cali chains
 * (rules/static.ts), which change only with the configuration and with whether VXLAN is in use; the
 * interface dispatch maps the endpoint managers fill; and the set of every node's VXLAN parent address, kept
 * from the VTEPs, which decides who may send VXLAN to this host. Runs first: the dispatch maps it declares
 * must exist before the endpoint managers add their entries.
 */
import { DirtyMap, RulesConfigTracker, type Manager, type MessageHandlers } from '../manager.js';
import type { TableIntent } from '../nftables/intent.js';
import { ALL_VXLAN_SET, emptyMap, renderStaticChains, STATIC_MAPS } from '../rules/static.js';

export class StaticManager implements Manager {
  readonly name = 'static';
  readonly #table: TableIntent;
  readonly #config = new RulesConfigTracker();
  /** Node -> VXLAN parent address. */
  readonly #vtepHosts = new DirtyMap<string>();
  #mapsDone = false;
  #chainsDirty = true;
  /** The set is written once after a start or reset, then when a VTEP changes. */
  #setDirty = true;
  #vxlanInUse = false;

  constructor(table: TableIntent) {
    this.#table = table;
  }

  readonly handlers: MessageHandlers = {
    configUpdate: (m) => {
      if (this.#config.update(m.config)) this.#chainsDirty = true;
    },
    vtepUpdate: (m) => {
      this.#vtepHosts.set(m.vtep.node, m.vtep.parentDeviceIp);
    },
    vtepRemove: (m) => {
      this.#vtepHosts.delete(m.node);
    },
  };

  completeDeferredWork(): void {
    if (!this.#mapsDone) {
      for (const m of STATIC_MAPS) this.#table.updateMap(emptyMap(m));
      this.#mapsDone = true;
    }
    // The VXLAN rules exist only while some node has a VTEP; membership changes need no chain change.
    const hosts = this.#vtepHosts.values;
    const inUse = hosts.size > 0;
    if (inUse !== this.#vxlanInUse) this.#chainsDirty = true;
    if (this.#vtepHosts.take().length > 0 || this.#setDirty) {
      const ips = [...new Set(hosts.values())].filter((ip) => !ip.includes(':')).sort();
      this.#table.updateSet({ name: ALL_VXLAN_SET, type: 'ipv4_addr', interval: false, elements: ips });
      this.#setDirty = false;
    }
    if (this.#chainsDirty) {
      for (const c of renderStaticChains(this.#config.current, { vxlan: inUse }))
        this.#table.updateChain(c.name, c.rules, c.hook !== undefined ? { hook: c.hook } : {});
      this.#vxlanInUse = inUse;
      this.#chainsDirty = false;
    }
  }

  reset(): void {
    this.#config.reset();
    this.#vtepHosts.clear();
    this.#mapsDone = false;
    this.#chainsDirty = true;
    this.#setDirty = true;
    this.#vxlanInUse = false;
  }
}
