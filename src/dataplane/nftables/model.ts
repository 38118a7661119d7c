/**
 * The desired state of calico-ts's one nftables table, `table inet calico`, as plain data. Family inet, so one
 * table carries IPv4 and IPv6. Everything inside the table is ours and nothing outside it is ever touched: that
 * is how a restarted agent recognises its objects (house style §1.4, Felix's nftables mode, reference §6.3).
 *
 * Managers render Calico policy/endpoint chains as nft rule text (`ip saddr @cali40s-abc tcp dport { 80, 443 }
 * accept`) and hand them to NftTable; the driver adds the rule comments (hashes), the ordering of a
 * transaction, and the reconciliation against the kernel.
 */

export type ChainType = 'filter' | 'nat' | 'route';
export type HookPoint = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
export type ChainPolicy = 'accept' | 'drop';

/** Makes a chain a base chain, attached to a netfilter hook. */
export interface BaseChainHook {
  readonly type: ChainType;
  readonly hook: HookPoint;
  /** Numeric priority (filter = 0, dstnat = -100, srcnat = 100, raw = -300, mangle = -150). */
  readonly priority: number;
  /** The verdict for packets that fall off the end of the chain; nft's default is accept. */
  readonly policy?: ChainPolicy;
}

export interface NftRule {
  /** The rule body in nft syntax, without `add rule …` and without a comment. */
  readonly rule: string;
  /** A human note stored in the kernel comment after the rule hash (quotes and control characters are dropped). */
  readonly comment?: string;
}

/** A rule given as text only is the same as `{ rule: text }`. */
export type RuleInput = string | NftRule;

export interface ChainSpec {
  readonly name: string;
  /** Present for base chains. */
  readonly hook?: BaseChainHook;
  readonly rules: readonly RuleInput[];
}

export type SetElementType =
  | 'ipv4_addr'
  | 'ipv6_addr'
  | 'ipv4_addr . inet_proto . inet_service'
  | 'ipv6_addr . inet_proto . inet_service'
  | 'inet_service'
  | 'ifname';

export const SET_ELEMENT_TYPES: readonly SetElementType[] = [
  'ipv4_addr',
  'ipv6_addr',
  'ipv4_addr . inet_proto . inet_service',
  'ipv6_addr . inet_proto . inet_service',
  'inet_service',
  'ifname',
];

/**
 * A named set. Elements use nft syntax: `10.0.0.1`, `10.0.0.0/8` (interval address sets), `2001:db8::/32`,
 * `80`, `8080-8090` (interval port sets), `10.0.0.1 . tcp . 80`, `cali1234` (interface names, unquoted).
 * Interval sets may be given overlapping elements; they are normalised to a non-overlapping cover.
 *
 * `timeout: true` declares a learned-address set (`flags timeout`; `ipv4_addr`/`ipv6_addr`, not interval):
 * the table declares it but its elements are not desired state. They are written with per-element timeouts
 * through NftTable.programLearned (DNS policy's domain sets), expire in the kernel, and are never diffed,
 * deleted or counted as drift; such a set is declared with no elements.
 */
export interface SetSpec {
  readonly name: string;
  readonly type: SetElementType;
  readonly interval: boolean;
  readonly timeout?: boolean;
  readonly elements: readonly string[];
}

/** What a verdict map is keyed by: interface names, or ports and port ranges (an interval map). */
export type MapKeyType = 'ifname' | 'inet_service';

/**
 * A verdict map `ifname : verdict` or `inet_service : verdict` (interval: keys `80` or `8000-8010`); values
 * are `goto <chain>`, `jump <chain>`, `accept`, `drop` or `return`.
 */
export interface MapSpec {
  readonly name: string;
  readonly keyType: MapKeyType;
  readonly elements: ReadonlyMap<string, string>;
}

export interface TableSpec {
  readonly chains: readonly ChainSpec[];
  readonly sets: readonly SetSpec[];
  readonly maps: readonly MapSpec[];
}

export const EMPTY_TABLE: TableSpec = { chains: [], sets: [], maps: [] };
