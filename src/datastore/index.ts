/**
 * The datastore's public surface, for calicoctl, agents, IPAM and tests: the Backend contract and update
 * shapes (api.ts), configuration loading and the backend factory (config.ts), the syncer (syncer.ts) with its
 * validation filter, the key helpers, and what callers need about bad stored values (StoredValueError,
 * resourceProblem) and the size limit. Backend modules themselves are loaded on demand by `openBackend`.
 */
export type {
  Backend,
  BackendType,
  CallOptions,
  DeleteOptions,
  InvalidStoredValue,
  ListFilter,
  ListResult,
  PastValue,
  Resource,
  ResourceKey,
  Update,
  WatchError,
  WatchUpdate,
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
export { StoredValueError, invalidValueMessage } from './stored.js';
export { MAX_REQUEST_BYTES } from './limits.js';
export {
  CLUSTER_INFORMATION_KIND,
  CLUSTER_INFORMATION_NAME,
  ensureClusterInformation,
  ensureInitialized,
  ensureResource,
  type ClusterIdentity,
  type EnsureInitializedOptions,
  type EnsureOutcome,
} from './initialize.js';
export { resourceProblem, validatedList, validatedValue } from './validation.js';
export {
  createSyncer,
  type DatastoreEvent,
  type InvalidResource,
  type SyncStatus,
  type Syncer,
  type SyncerCallbacks,
  type SyncerOptions,
} from './syncer.js';
