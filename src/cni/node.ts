/**
 * Host facts both plugins need: the node name (reference §7.1 precedence: config `nodename`, then the
 * `nodename_file` calico-node writes, then the deprecated `hostname`, then the OS host name), the veth MTU
 * (config `mtu`; 0 means the agent's MTU file) and the datastore connection, opened with errors mapped to
 * CNI codes (unsupported datastore: 7; unreachable: 11, "try again later").
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Backend, Resource, ResourceKey } from '../datastore/api.js';
import {
  CalicoError,
  DatastoreUnavailableError,
  NotFoundError,
  UsageError,
  errorMessage,
} from '../lib/errors.js';
import type { PluginHost } from './host.js';
import { DEFAULT_MTU, DEFAULT_MTU_FILE, type NetConf } from './netconf.js';
import { CniCode, CniError } from './spec.js';

function readTrimmed(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * The node name. ADD (`required`) fails when the config names no node and the nodename file is missing,
 * unless `nodename_file_optional`: in Calico the file is calico-node's sign that it runs on this host
 * (calico-ts's calico-node does not write it: hosts set `nodename` or write the file themselves).
 */
export function resolveNodename(conf: NetConf, required: boolean): string {
  if (conf.nodename !== undefined) return conf.nodename;
  const fromFile = readTrimmed(conf.nodenameFile);
  if (fromFile !== undefined) return fromFile;
  if (required && !conf.nodenameFileOptional) {
    throw new CniError(
      CniCode.tryAgainLater,
      `cannot read ${conf.nodenameFile}: set "nodename" in the network configuration or write this node's name ` +
        "to that file (calico-ts's calico-node does not write it)",
    );
  }
  return hostname();
}

export function resolveMtu(conf: NetConf, mtuFile = DEFAULT_MTU_FILE): number {
  if (conf.mtu === undefined) return DEFAULT_MTU;
  if (conf.mtu > 0) return conf.mtu;
  const fromFile = readTrimmed(mtuFile);
  const n = fromFile === undefined ? NaN : Number(fromFile);
  if (Number.isInteger(n) && n > 0) return n;
  if (conf.requireMtuFile) {
    throw new CniError(CniCode.tryAgainLater, `MTU file ${mtuFile} is missing or invalid (require_mtu_file)`);
  }
  return DEFAULT_MTU;
}

/** Any error as the CNI error the plugin reports. */
export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof DatastoreUnavailableError) {
    return new CniError(CniCode.tryAgainLater, `datastore unavailable: ${e.message}`);
  }
  if (e instanceof UsageError) return new CniError(CniCode.invalidConfig, e.message);
  if (e instanceof CalicoError) return new CniError(CniCode.internal, e.message);
  return new CniError(CniCode.internal, errorMessage(e));
}

/** How long a plugin waits for the embedded store's write lock (many plugins may write at once). */
const SQLITE_BUSY_TIMEOUT_MS = 60_000;

/**
 * Opens the configured datastore. Backend modules are loaded on demand, so that a plugin run loads only
 * the one it uses; the embedded store gets a long busy timeout, because a node starting many pods at once
 * has many plugin processes queueing for its write lock.
 */
export async function openDatastore(conf: NetConf): Promise<Backend> {
  const ds = conf.datastore;
  try {
    switch (ds.datastoreType) {
      case 'embedded': {
        const { openSqliteBackend } = await import('../datastore/sqlite/sqlite-backend.js');
        return await openSqliteBackend({ path: ds.datastorePath, busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS });
      }
      case 'etcdv3': {
        if (ds.etcd.discoverySrv === undefined) {
          const { openEtcdBackend } = await import('../datastore/etcd/etcd-backend.js');
          return await openEtcdBackend(ds.etcd);
        }
        const { openBackend } = await import('../datastore/config.js');
        return await openBackend(ds);
      }
      case 'kubernetes':
        throw new CniError(
          CniCode.invalidConfig,
          "datastore_type 'kubernetes' is not supported by calico-ts",
        );
    }
  } catch (e) {
    throw toCniError(e);
  }
}

/** The object, or undefined when it does not exist. */
export async function getOptional<T extends Resource = Resource>(
  backend: Backend,
  key: ResourceKey,
): Promise<T | undefined> {
  try {
    return (await backend.get(key)) as T;
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

/**
 * STATUS and `-t`: the datastore answers a list within 10 s. An embedded store whose file does not exist
 * is not ready (and is not created by asking).
 */
export async function checkDatastoreReachable(
  conf: NetConf,
  host: Pick<PluginHost, 'withDatastore'>,
): Promise<void> {
  const ds = conf.datastore;
  if (ds.datastoreType === 'embedded' && !existsSync(ds.datastorePath)) {
    throw new CniError(
      CniCode.pluginNotAvailable,
      'datastore is not reachable',
      `${ds.datastorePath} does not exist`,
    );
  }
  try {
    await host.withDatastore(conf, (backend) =>
      backend.list({ kind: 'IPPool' }, { signal: AbortSignal.timeout(10_000) }),
    );
  } catch (e) {
    throw new CniError(CniCode.pluginNotAvailable, 'datastore is not reachable', errorMessage(e));
  }
}
