/**
 * Cluster routes in the kernel (the driver side of rules/cluster-routes.ts): parsing `ip -j route` output,
 * comparing it with the desired routes, and the `ip -batch` lines that fix the difference. Pure.
 */
import { CLUSTER_ROUTE_PROTOCOL } from '../rules/names.js';
import type { KernelRoute } from '../rules/cluster-routes.js';

/** `ip -j route` prints host routes without a prefix length and 0/0 as `default`. */
export function normaliseDst(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  return dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}

/** Routes from `ip -j route show table main proto 80` (one family). */
export function parseKernelRoutes(json: unknown, family: 4 | 6): KernelRoute[] {
  if (!Array.isArray(json)) return [];
  return json.flatMap((e: unknown): KernelRoute[] => {
    if (typeof e !== 'object' || e === null) return [];
    const o = e as { dst?: unknown; type?: unknown; gateway?: unknown; dev?: unknown; flags?: unknown };
    if (typeof o.dst !== 'string') return [];
    const flags = Array.isArray(o.flags) ? o.flags : [];
    return [
      {
        dst: normaliseDst(o.dst, family),
        type: o.type === 'blackhole' ? 'blackhole' : 'unicast',
        ...(typeof o.gateway === 'string' ? { via: o.gateway } : {}),
        ...(typeof o.dev === 'string' ? { dev: o.dev } : {}),
        ...(flags.includes('onlink') ? { onlink: true } : {}),
      },
    ];
  });
}

/** True when the kernel route is what we want (a desired route without a device accepts any device). */
function routeMatches(want: KernelRoute, have: KernelRoute): boolean {
  return (
    want.dst === have.dst &&
    want.type === have.type &&
    want.via === have.via &&
    (want.dev === undefined || want.dev === have.dev) &&
    (want.onlink ?? false) === (have.onlink ?? false)
  );
}

export interface RouteDiff {
  readonly replace: readonly KernelRoute[];
  readonly remove: readonly KernelRoute[];
}

export function diffRoutes(
  desired: ReadonlyMap<string, KernelRoute>,
  actual: readonly KernelRoute[],
): RouteDiff {
  const have = new Map(actual.map((r) => [r.dst, r]));
  const replace = [...desired.values()].filter((w) => {
    const h = have.get(w.dst);
    return h === undefined || !routeMatches(w, h);
  });
  const remove = actual.filter((h) => !desired.has(h.dst));
  return { replace, remove };
}

/**
 * One `ip -batch` line. No `-6`: batch lines take no global options, and `ip` tells the family from the
 * prefix (a blackhole route included).
 */
export function routeCommand(r: KernelRoute, op: 'replace' | 'del'): string {
  const parts = [`route ${op}`, r.type === 'blackhole' ? `blackhole ${r.dst}` : r.dst];
  if (r.via !== undefined) parts.push(`via ${r.via}`);
  if (r.dev !== undefined) parts.push(`dev ${r.dev}`);
  if (r.onlink === true) parts.push('onlink');
  parts.push(`proto ${CLUSTER_ROUTE_PROTOCOL}`);
  return parts.join(' ');
}
