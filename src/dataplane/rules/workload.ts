/** Per-workload-endpoint chains and dispatch-map entries (cali-tw-<iface> / cali-fw-<iface>). Pure. */
import type { WorkloadEndpointMsg } from '../../calc/messages.js';
import type { ChainSpec, NftRule } from '../nftables/model.js';
import type { RulesConfig } from './config.js';
import { CLEAR_MARKS, tierRules } from './endpoints.js';
import type { TierChainRef } from './endpoints.js';
import { workloadChain } from './names.js';

export interface WorkloadRender {
  readonly chains: readonly ChainSpec[];
  /** [map entry key (interface), verdict] for the from- and to-workload dispatch maps. */
  readonly fromEntry: readonly [string, string];
  readonly toEntry: readonly [string, string];
  /** The tier chains the endpoint chains jump to. */
  readonly tierChains: readonly TierChainRef[];
}

export function renderWorkloadEndpoint(ep: WorkloadEndpointMsg, cfg: RulesConfig): WorkloadRender {
  const to = workloadChain(ep.interfaceName, 'to');
  const from = workloadChain(ep.interfaceName, 'from');
  const label = `workload ${ep.display}`;
  const fromRules: NftRule[] = [{ rule: CLEAR_MARKS, comment: label }];
  if (!cfg.allowVxlanFromWorkloads)
    fromRules.push({
      rule: `meta l4proto udp udp dport ${cfg.vxlanPort} drop`,
      comment: 'VXLAN from workload',
    });
  if (!cfg.allowIpipFromWorkloads)
    fromRules.push({ rule: 'meta l4proto 4 drop', comment: 'IPIP from workload' });
  const egress = tierRules(ep.tiers, 'egress', ep.profileIds, {
    layer: 'filter',
    tierEndDrops: true,
    withProfiles: true,
    flowLogs: cfg.flowLogs,
    dropLabel: `egress of ${ep.display}`,
  });
  const ingress = tierRules(ep.tiers, 'ingress', ep.profileIds, {
    layer: 'filter',
    tierEndDrops: true,
    withProfiles: true,
    flowLogs: cfg.flowLogs,
    dropLabel: `ingress of ${ep.display}`,
  });
  fromRules.push(...egress.rules);
  const toRules: NftRule[] = [{ rule: CLEAR_MARKS, comment: label }, ...ingress.rules];
  return {
    chains: [
      { name: to, rules: toRules },
      { name: from, rules: fromRules },
    ],
    fromEntry: [ep.interfaceName, `goto ${from}`],
    toEntry: [ep.interfaceName, `goto ${to}`],
    tierChains: [...egress.tierChains, ...ingress.tierChains],
  };
}
