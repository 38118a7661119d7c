/**
 * The datastore's public surface, for calicoctl, agents, IPAM and tests: the Backend contract and update
 * shapes (api.ts), configuration loading and the backend factory (config.ts), the syncer (syncer.ts) and the
 * key helpers. Backend modules themselves are loaded on demand by `openBackend`.
 */
export type {
  Backend,
  BackendType,
  CallOptions,
  DeleteOptions,
  ListFilter,
  ListResult,
  Resource,
  ResourceKey,
  Update,
  WatchError,
  WatchFilter,
  WatchHandler,
  WatchOptions,
} from './api.js';
export {
  DEFAULT_CONFIG_FILE,
  DEFAULT_DATASTORE_PATH,
  configFromEnv,
  loadClientConfig,
  openBackend,
  parseClientConfig,
  type DatastoreConfig,
  type EtcdConfig,
  type LoadConfigOptions,
} from './config.js';
export { formatKey, keyOf, keyString } from './resource.js';
export {
  createSyncer,
  type SyncStatus,
  type Syncer,
  type SyncerCallbacks,
  type SyncerOptions,
} from './syncer.js';
