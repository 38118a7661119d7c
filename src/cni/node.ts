/**
 * Host facts both plugins need: the node name (reference §7.1 precedence: config `nodename`, then the
 * `nodename_file` calico-node writes, then the deprecated `hostname`, then the OS host name), the veth MTU
 * (config `mtu`; 0 or absent means the MTU file calico-node writes) and the datastore connection, opened
 * with errors mapped to CNI codes (unsupported datastore: 7; unreachable: 11, "try again later").
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
import type { PluginHost } from './plugin.js';
import { DEFAULT_MTU, type NetConf } from './netconf.js';
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
 * unless `nodename_file_optional`: in Calico the file is calico-node's sign that it runs on this host (its
 * start-up writes it; Calico's plugin also insists on it when `nodename` is set, calico-ts's does not).
 */
export function resolveNodename(conf: NetConf, required: boolean): string {
  if (conf.nodename !== undefined) return conf.nodename;
  const fromFile = readTrimmed(conf.nodenameFile);
  if (fromFile !== undefined) return fromFile;
  if (required && !conf.nodenameFileOptional) {
    throw new CniError(
      CniCode.tryAgainLater,
      `cannot read ${conf.nodenameFile}: check that calico-node is running and has written it ` +
        '(CALICO_NODENAME_FILE), or set "nodename" in the network configuration',
    );
  }
  return hostname();
}

/**
 * The veth MTU, as Calico's plugin (utils.MTUFromFile) decides it: the MTU file calico-node writes is read
 * on every ADD; its value is used when the configuration's `mtu` is 0 or absent, else the configuration's.
 * A missing file is fine (1500, or the configured MTU) unless `require_mtu_file`; a file that cannot be read
 * or holds no number fails the ADD.
 */
export function resolveMtu(conf: NetConf): number {
  let text: string | undefined;
  try {
    text = readFileSync(conf.mtuFile, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CniError(
        CniCode.tryAgainLater,
        `failed to read MTU file ${conf.mtuFile}: ${errorMessage(e)}`,
      );
    }
    if (conf.requireMtuFile) {
      throw new CniError(CniCode.tryAgainLater, `MTU file ${conf.mtuFile} does not exist (require_mtu_file)`);
    }
  }
  const fromFile = text === undefined ? 0 : Number(text);
  if (!Number.isInteger(fromFile) || fromFile < 0) {
    throw new CniError(
      CniCode.tryAgainLater,
      `MTU file ${conf.mtuFile} holds no MTU: ${JSON.stringify(text)}`,
    );
  }
  const configured = conf.mtu ?? 0;
  if (configured === 0 && fromFile !== 0) return fromFile;
  return configured === 0 ? DEFAULT_MTU : configured;
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
      case 'kubernetes': {
        const { openBackend } = await import('../datastore/config.js');
        return await openBackend(ds);
      }
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
