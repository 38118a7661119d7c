/**
 * The host-endpoint dispatch chains (Felix's from-/to-host-endpoint dispatch): the per-interface verdict maps
 * first, then, when a `*` host endpoint exists, its chains for every other interface except loopback. Pure.
 */
import type { ChainSpec } from '../nftables/model.js';
import { CHAIN, MAP_FROM_HEP, MAP_TO_HEP } from './names.js';

/** The chains of the `*` host endpoint, when there is one. */
export interface AnyInterfaceChains {
  readonly in: string;
  readonly out: string;
}

export function renderHostDispatchChains(any: AnyInterfaceChains | undefined): ChainSpec[] {
  return [
    {
      name: CHAIN.fromHep,
      rules: [
        `iifname vmap @${MAP_FROM_HEP}`,
        ...(any !== undefined ? [`iifname != "lo" jump ${any.in}`] : []),
      ],
    },
    {
      name: CHAIN.toHep,
      rules: [
        `oifname vmap @${MAP_TO_HEP}`,
        ...(any !== undefined ? [`oifname != "lo" jump ${any.out}`] : []),
      ],
    },
  ];
}
