/**
 * Test helpers for routing: reading a golden case (`testdata/golden/bird/<case>/input.yaml`) into a
 * RoutingInput, and building resources in code. Used by tests only.
 *
 * input.yaml holds: `nodeName`, optional `routerId` (CALICO_ROUTER_ID), optional `passwords` (map of
 * `<secret>/<key>` to password), optional `blocks` (`[{cidr, state}]` affine to the node), and
 * `resources` (Node, BGPConfiguration, BGPPeer, BGPFilter and IPPool documents).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { decodeResource, type Resource } from '../api/decode.js';
import type { BGPConfiguration, BGPFilter, BGPPeer, Node } from '../api/v3/bgp-types.js';
import { formatIssue } from '../lib/errors.js';
import { passwordsFromMap } from './model.js';
import type { AffineBlock, RoutingInput, RoutingPool } from './types.js';

export function decodeOrThrow(doc: unknown): Resource {
  const r = decodeResource(doc);
  if (!r.ok)
    throw new Error(`invalid resource ${JSON.stringify(doc)}: ${r.error.map(formatIssue).join('; ')}`);
  return r.value;
}

/** Sorts decoded resources into the RoutingInput fields. */
export function routingInput(
  nodeName: string,
  resources: readonly Resource[],
  extra: Partial<Pick<RoutingInput, 'blocks' | 'routerId' | 'resolvePassword'>> = {},
): RoutingInput {
  const of = (kind: string) => resources.filter((r) => r.kind === kind);
  return {
    nodeName,
    nodes: of('Node') as Node[],
    bgpConfigurations: of('BGPConfiguration') as BGPConfiguration[],
    bgpPeers: of('BGPPeer') as BGPPeer[],
    bgpFilters: of('BGPFilter') as BGPFilter[],
    ipPools: of('IPPool') as unknown as RoutingPool[],
    ...extra,
  };
}

interface CaseFile {
  nodeName?: unknown;
  routerId?: unknown;
  passwords?: Record<string, string>;
  blocks?: AffineBlock[];
  resources?: unknown[];
}

export function loadRoutingCase(inputPath: string): RoutingInput {
  const raw = parse(readFileSync(inputPath, 'utf8')) as CaseFile;
  if (typeof raw.nodeName !== 'string') throw new Error(`${inputPath}: nodeName is required`);
  const resources = (raw.resources ?? []).map(decodeOrThrow);
  return routingInput(raw.nodeName, resources, {
    ...(raw.blocks !== undefined ? { blocks: raw.blocks } : {}),
    ...(typeof raw.routerId === 'string' ? { routerId: raw.routerId } : {}),
    ...(raw.passwords !== undefined ? { resolvePassword: passwordsFromMap(raw.passwords) } : {}),
  });
}

const api = 'projectcalico.org/v3';

export function node(name: string, bgp: Record<string, unknown>, labels: Record<string, string> = {}): Node {
  return decodeOrThrow({ apiVersion: api, kind: 'Node', metadata: { name, labels }, spec: { bgp } }) as Node;
}

export function bgpPeer(name: string, spec: Record<string, unknown>): BGPPeer {
  return decodeOrThrow({ apiVersion: api, kind: 'BGPPeer', metadata: { name }, spec }) as BGPPeer;
}

export function bgpConfig(name: string, spec: Record<string, unknown>): BGPConfiguration {
  return decodeOrThrow({
    apiVersion: api,
    kind: 'BGPConfiguration',
    metadata: { name },
    spec,
  }) as BGPConfiguration;
}

export function bgpFilter(name: string, spec: Record<string, unknown>): BGPFilter {
  return decodeOrThrow({ apiVersion: api, kind: 'BGPFilter', metadata: { name }, spec }) as BGPFilter;
}
