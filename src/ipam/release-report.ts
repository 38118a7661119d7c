/**
 * `ipam release --from-report`: acts on what `ipam check` found, and only on what is still exactly as the
 * report saw it. With several reports, only problems present in all of them (with the same revision) are
 * acted on, so reports taken some time apart filter out transient states. Safety checks as calicoctl: the
 * report's cluster GUID must match (never overridable); its tool version must match, at least one report must
 * carry the current ClusterInformation revision, and the datastore must be locked, unless `force`.
 *
 *   leaked addresses   released with the report's handle and sequence number (a reused address is refused)
 *   leaked handles     deleted if revision and uid are unchanged
 *   stale affinities   an interrupted claim is completed or undone, an interrupted release finished,
 *                      an affinity contradicting its block deleted
 */
import { CalicoError, ConflictError, NotFoundError, errorMessage } from '../lib/errors.js';
import type { IpamClient } from './allocator.js';
import { claimBlock, releaseAffinity } from './affinity.js';
import type { AffinityInfo, CheckReport, HandleInfo } from './check.js';
import { readClusterInfo } from './check.js';
import { isIpamError } from './errors.js';
import type { ReleaseOptions } from './release.js';

export interface ReleaseFromReportsOptions {
  readonly force: boolean;
  /** This tool's version, compared with the reports'. */
  readonly version: string;
  /** One line of progress output (no trailing newline). */
  readonly print: (line: string) => void;
  /** Progress characters (`.` / `x`) written without a newline. */
  readonly printInline?: (text: string) => void;
}

export interface ReleaseFromReportsResult {
  readonly releasedIps: number;
  readonly alreadyFree: number;
  readonly releasedHandles: number;
  readonly skippedHandles: number;
  readonly fixedAffinities: number;
  readonly errors: number;
}

/** The problems common to every report (the last report's data for each). */
export function mergeReports(reports: readonly CheckReport[]): {
  ips: Map<string, ReleaseOptions>;
  handles: Map<string, HandleInfo>;
  affinities: Map<string, AffinityInfo>;
} {
  let ips: Map<string, ReleaseOptions> | undefined;
  let handles: Map<string, HandleInfo> | undefined;
  let affinities: Map<string, AffinityInfo> | undefined;
  for (const r of reports) {
    const nextIps = new Map<string, ReleaseOptions>();
    for (const allocs of Object.values(r.allocations)) {
      for (const a of allocs) {
        if (a.inUse || (ips !== undefined && !ips.has(a.ip))) continue;
        nextIps.set(a.ip, { address: a.ip, handle: a.handle, sequenceNumber: a.sequenceNumber });
      }
    }
    const nextHandles = new Map<string, HandleInfo>();
    for (const h of r.leakedHandles ?? []) {
      const prev = handles?.get(h.ID);
      if (handles === undefined || prev?.Revision === h.Revision) nextHandles.set(h.ID, h);
    }
    const nextAffinities = new Map<string, AffinityInfo>();
    for (const a of r.staleAffinities ?? []) {
      const prev = affinities?.get(a.name);
      if (affinities === undefined || prev?.revision === a.revision) nextAffinities.set(a.name, a);
    }
    [ips, handles, affinities] = [nextIps, nextHandles, nextAffinities];
  }
  return {
    ips: ips ?? new Map<string, ReleaseOptions>(),
    handles: handles ?? new Map<string, HandleInfo>(),
    affinities: affinities ?? new Map<string, AffinityInfo>(),
  };
}

async function checkPreconditions(
  client: IpamClient,
  reports: readonly CheckReport[],
  opts: ReleaseFromReportsOptions,
): Promise<void> {
  const info = await readClusterInfo(client.store.backend);
  let current = false;
  for (const [i, r] of reports.entries()) {
    const which = `report ${i + 1}`;
    if (r.clusterGUID !== info.clusterGUID) {
      throw new CalicoError(
        'CALICO_ERR_VALIDATION',
        `cluster does not match the provided report (${which}): mismatched cluster GUID. Refusing to release`,
      );
    }
    if (r.version !== opts.version) {
      if (!opts.force) {
        throw new CalicoError(
          'CALICO_ERR_VALIDATION',
          `the provided report (${which}) was produced using a different version (${r.version}) of calicoctl. Refusing to release`,
        );
      }
      opts.print(
        'WARNING: Report was produced using a different version of calicoctl. Ignoring due to --force option',
      );
    }
    if (r.clusterInformationRevision === info.revision) current = true;
  }
  if (!current) {
    throw new CalicoError(
      'CALICO_ERR_VALIDATION',
      'the provided reports are all stale - at least one should be up-to-date. Please generate a new report while the data store is locked and try again',
    );
  }
  if (!info.datastoreLocked) {
    if (!opts.force)
      throw new CalicoError(
        'CALICO_ERR_VALIDATION',
        'data store is not locked. Either lock the data store, or re-run with --force',
      );
    opts.print('WARNING: Data store is not locked. Ignoring due to --force option');
  }
}

async function releaseLeakedIps(
  client: IpamClient,
  ips: Map<string, ReleaseOptions>,
  opts: ReleaseFromReportsOptions,
): Promise<[number, number, number]> {
  if (ips.size === 0) {
    opts.print("Report didn't contain any leaked IPs to clean up.");
    return [0, 0, 0];
  }
  opts.print(`Releasing ${ips.size} old IPs...`);
  try {
    const r = await client.releaseIps([...ips.values()]);
    opts.print(`Released ${r.released.length} IPs successfully`);
    if (r.unallocated.length > 0) {
      opts.print(
        `${r.unallocated.length} addresses marked as leaked in the report had already been cleaned up.`,
      );
    }
    return [r.released.length, r.unallocated.length, 0];
  } catch (e) {
    opts.print(
      `An error occurred while releasing some IPs: ${errorMessage(e)}.  Problems are often caused by an out-of-date IPAM report.  Try regenerating the IPAM report and retry.`,
    );
    return [0, 0, 1];
  }
}

async function deleteHandle(client: IpamClient, h: HandleInfo): Promise<void> {
  const stored = await client.store.getHandle(h.ID);
  if (stored === undefined) throw new NotFoundError(`handle ${h.ID} is gone`);
  if (stored.resourceVersion !== h.Revision || (h.UID !== undefined && stored.uid !== h.UID)) {
    throw new ConflictError("IPAM handle revision or UID didn't match");
  }
  await client.store.deleteHandle(stored);
}

async function releaseHandles(
  client: IpamClient,
  handles: Map<string, HandleInfo>,
  opts: ReleaseFromReportsOptions,
): Promise<[number, number, number]> {
  if (handles.size === 0) {
    opts.print("Report didn't contain any handles to clean up.");
    return [0, 0, 0];
  }
  const inline =
    opts.printInline ??
    ((t: string) => {
      opts.print(t);
    });
  opts.print(`Deleting ${handles.size} handles...`);
  opts.print("Key: '.' = Deleted OK; 'x' = skip, handle missing/changed.");
  let ok = 0;
  let skipped = 0;
  let errors = 0;
  for (const h of handles.values()) {
    try {
      await deleteHandle(client, h);
      ok++;
      inline('.');
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof ConflictError) {
        skipped++;
        inline('x');
      } else {
        errors++;
        inline(`\nDeleting handle ${h.ID} failed: ${errorMessage(e)}.\n`);
      }
    }
  }
  inline('\n');
  opts.print(`Released ${ok} handles; ${skipped} skipped; ${errors} errors.`);
  return [ok, skipped, errors];
}

async function fixAffinity(client: IpamClient, a: AffinityInfo): Promise<boolean> {
  const deps = { store: client.store, now: Date.now, retry: {} };
  const stored = await client.store.getAffinity(a.node, a.cidr);
  if (stored === undefined || stored.resourceVersion !== a.revision) return false;
  switch (a.problem) {
    case 'pending':
      await claimBlock(deps, a.node, a.cidr, false);
      return true;
    case 'pendingDeletion':
      try {
        await releaseAffinity(deps, a.node, a.cidr, true);
      } catch (e) {
        // The block still holds addresses: the release was undone and the affinity is confirmed again.
        if (!isIpamError(e, 'blockNotEmpty')) throw e;
      }
      return true;
    case 'blockMissing':
    case 'blockNotAffine':
      await client.store.deleteAffinity(stored);
      return true;
    case 'invalid':
      return false;
  }
}

async function fixAffinities(
  client: IpamClient,
  affinities: Map<string, AffinityInfo>,
  opts: ReleaseFromReportsOptions,
): Promise<[number, number]> {
  const fixable = [...affinities.values()].filter((a) => a.problem !== 'invalid');
  if (fixable.length === 0) return [0, 0];
  opts.print(`Resolving ${fixable.length} block affinities left in a transient state...`);
  let fixed = 0;
  let errors = 0;
  for (const a of fixable) {
    try {
      if (await fixAffinity(client, a)) fixed++;
    } catch (e) {
      if (!(e instanceof ConflictError || e instanceof NotFoundError)) {
        errors++;
        opts.print(`Resolving affinity ${a.name} failed: ${errorMessage(e)}.`);
      }
    }
  }
  opts.print(
    `Resolved ${fixed} block affinities; ${fixable.length - fixed - errors} skipped; ${errors} errors.`,
  );
  return [fixed, errors];
}

export async function releaseFromReports(
  client: IpamClient,
  reports: readonly CheckReport[],
  opts: ReleaseFromReportsOptions,
): Promise<ReleaseFromReportsResult> {
  await checkPreconditions(client, reports, opts);
  const merged = mergeReports(reports);
  const [releasedIps, alreadyFree, ipErrors] = await releaseLeakedIps(client, merged.ips, opts);
  const [releasedHandles, skippedHandles, handleErrors] = await releaseHandles(client, merged.handles, opts);
  const [fixedAffinities, affinityErrors] = await fixAffinities(client, merged.affinities, opts);
  const invalid = reports.at(-1)?.invalidBlocks?.length ?? 0;
  if (invalid > 0) opts.print(`Report lists ${invalid} invalid IPAM blocks; they must be repaired by hand.`);
  return {
    releasedIps,
    alreadyFree,
    releasedHandles,
    skippedHandles,
    fixedAffinities,
    errors: ipErrors + handleErrors + affinityErrors,
  };
}
