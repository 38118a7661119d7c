/**
 * The BGP control plane (what Calico's confd and BIRD do): compute a node's BGP view from the resources,
 * render it as BIRD 2 configuration, install it and (re)load BIRD, and report BGP session status.
 */
export { computeBgpView, clusterRoutePolicy, DEFAULT_AS_NUMBER } from './model.js';
export { renderBirdConfig } from './render.js';
export { LineSplitter, MAX_BIRD_LINE, parseBirdLogLine, type BirdLogLine } from './bird-log.js';
export {
  spawnLauncher,
  type DaemonHandle,
  type DaemonLauncher,
  type SpawnLauncherOptions,
} from './daemon.js';
export {
  checkSecretRef,
  DEFAULT_SECRETS_DIR,
  DirectorySecretSource,
  SECRETS_DIR_ENV,
  StaticSecretSource,
  type SecretSource,
} from './secrets.js';
export {
  BirdReloader,
  DEFAULT_BIRD_CONFIG,
  DEFAULT_BIRD_PIDFILE,
  DEFAULT_BIRD_SOCKET,
  type BirdReloaderOptions,
  type ReloadAction,
  type ReloadResult,
  type RoutingCommandRunner,
  type StopResult,
} from './reloader.js';
export {
  bgpPeerStatuses,
  formatPeerTable,
  nodeStatusReport,
  parseBirdProtocols,
  procProcesses,
  type BgpPeerStatus,
  type BirdProtocol,
  type NodeStatusOptions,
  type NodeStatusReport,
  type ProcessLister,
} from './status.js';
export type * from './types.js';
