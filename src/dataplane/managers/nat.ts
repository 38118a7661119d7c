/**
 * natOutgoing (Felix's masquerade manager): from the IP pools, the nodes' addresses and the configuration,
 * the nat POSTROUTING chains and the pool and host sets (rules/nat.ts), recorded in the table and applied with
 * the policy in one transaction.
 */
import type { FelixConfig } from '../../api/v3/felix-config-params.js';
import { DEFAULT_FELIX_CONFIG } from '../../api/v3/felix-config.js';
import type { HostMetadataMsg, IpPoolMsg } from '../../calc/messages.js';
import { DirtyMap, type Manager, type MessageHandlers } from '../manager.js';
import type { TableIntent } from '../nftables/intent.js';
import { IPIP_DEVICE, VXLAN_DEVICE } from '../rules/names.js';
import { type NatConfig, renderNatChains, renderNatSets } from '../rules/nat.js';

function natConfigFrom(c: Pick<FelixConfig, 'natOutgoingExclusions'>): NatConfig {
  return {
    excludeHostIps: c.natOutgoingExclusions === 'IPPoolsAndHostIPs',
    tunnelDevices: [VXLAN_DEVICE, IPIP_DEVICE],
  };
}

export class NatManager implements Manager {
  readonly name = 'nat';
  readonly #table: TableIntent;
  readonly #hosts = new DirtyMap<HostMetadataMsg>();
  readonly #pools = new DirtyMap<IpPoolMsg>();
  #config: NatConfig = natConfigFrom(DEFAULT_FELIX_CONFIG);
  /** The configuration changed, or nothing was rendered yet. */
  #dirty = true;

  constructor(table: TableIntent) {
    this.#table = table;
  }

  readonly handlers: MessageHandlers = {
    configUpdate: (m) => {
      const next = natConfigFrom(m.config);
      if (next.excludeHostIps !== this.#config.excludeHostIps) this.#dirty = true;
      this.#config = next;
    },
    hostMetadataUpdate: (m) => {
      this.#hosts.set(m.hostname, m.metadata);
    },
    hostMetadataRemove: (m) => {
      this.#hosts.delete(m.hostname);
    },
    ipPoolUpdate: (m) => {
      this.#pools.set(m.id, m.pool);
    },
    ipPoolRemove: (m) => {
      this.#pools.delete(m.id);
    },
  };

  completeDeferredWork(): void {
    const changed = this.#hosts.take().length + this.#pools.take().length > 0;
    if (!this.#dirty && !changed) return;
    for (const s of renderNatSets(this.#pools.values.values(), this.#hosts.values.values()))
      this.#table.updateSet(s);
    for (const c of renderNatChains(this.#config))
      this.#table.updateChain(c.name, c.rules, c.hook !== undefined ? { hook: c.hook } : {});
    this.#dirty = false;
  }

  reset(): void {
    this.#hosts.clear();
    this.#pools.clear();
    this.#config = natConfigFrom(DEFAULT_FELIX_CONFIG);
    this.#dirty = true;
  }
}
