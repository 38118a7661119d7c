/**
 * The types a plugin command and the place it runs in (its host) share: the commands (calico, calico-ipam),
 * the context each gets, and the host (host.ts: standalone; agent-host.ts: the agent's CNI server). Types only, so
 * that the frame (skel.ts), the hosts and the commands import them without importing each other.
 */
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import type { Backend } from '../datastore/api.js';
import type { ArgSchemas, Invocation } from './invocation.js';
import type { HostLock } from './lock.js';
import type { Logger } from './log.js';
import type { NetConf } from './netconf.js';
import type { CniResult } from './spec.js';

export interface CommandContext {
  readonly inv: Invocation;
  readonly conf: NetConf;
  readonly log: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly host: PluginHost;
}

export interface PluginCommands {
  readonly program: 'calico' | 'calico-ipam';
  /** The argument structs the plugin reads `CNI_ARGS` into, per command (invocation.ts). */
  readonly argSchemas: ArgSchemas;
  add(ctx: CommandContext): Promise<CniResult>;
  del(ctx: CommandContext): Promise<void>;
  check(ctx: CommandContext): Promise<void>;
  gc(ctx: CommandContext): Promise<void>;
  status(ctx: CommandContext): Promise<void>;
  /** `-t`: datastore connectivity test. */
  test(ctx: Omit<CommandContext, 'inv'>): Promise<void>;
}

/** One wait for the agent to program an endpoint (see policy-wait.ts for what "programmed" means). */
export interface PolicyWait {
  /** The config's `endpoint_status_dir`. */
  readonly statusDir: string;
  readonly namespace: string;
  readonly wepName: string;
  /** The datastore revision of the WorkloadEndpoint write. */
  readonly revision: number;
  readonly timeoutMs: number;
}

export interface PluginHost {
  /** Runs `fn` with a backend for the config's datastore (opened for it, or lent). */
  withDatastore<T>(conf: NetConf, fn: (backend: Backend) => Promise<T>): Promise<T>;
  /** Takes the host-wide IPAM lock (`ipam_lock_file`); a CniError (code 11) after `timeoutMs`. */
  ipamLock(path: string, timeoutMs: number): Promise<HostLock>;
  /** Whether the agent programmed the endpoint within the timeout. */
  waitForPolicy(w: PolicyWait): Promise<boolean>;
  /** The in-process implementation of the IPAM plugin `type`, or undefined to exec it from CNI_PATH. */
  inProcessPlugin(type: string): PluginCommands | undefined;
  /** Runs the kernel tools (ip, nsenter) of the pod's plumbing. */
  readonly runner: CommandRunner;
}
