/**
 * A minimal CNI runtime for network configuration lists (SPEC "Network configuration lists", what libcni
 * does for containerd and CRI-O): ADD runs the plugins in order, giving each the previous plugin's result
 * as `prevResult`; DEL runs them in reverse with the cached ADD result; CHECK runs them in order with it; GC
 * passes `cni.dev/valid-attachments` to each; STATUS asks each. Each plugin's config is its entry of the
 * list plus the list's `name` and `cniVersion`, plus `runtimeConfig` for the capabilities it declares that
 * the caller supplies (e.g. `portMappings`, `bandwidth`). Used by the tests and the lab; `netnsName` runs
 * the plugins inside a node's network namespace (`ip netns exec`), as a runtime on that node would.
 */
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { netnsRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { execPlugin, findPlugin, pluginFailure } from './delegate.js';
import { CniCode, CniError } from './spec.js';

export interface Conflist {
  readonly name: string;
  readonly cniVersion: string;
  readonly plugins: readonly Record<string, unknown>[];
  readonly disableCheck?: boolean;
  readonly disableGC?: boolean;
}

export interface RuntimeOptions {
  /** Directories searched for plugins (`CNI_PATH`). */
  readonly binDirs: readonly string[];
  /** Run the plugins inside this named network namespace (the node's). */
  readonly netnsName?: string;
  readonly timeoutMs?: number;
  /** Extra environment for the plugins. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface Attachment {
  readonly containerId: string;
  /** Path of the pod's network namespace. */
  readonly netns: string;
  readonly ifname: string;
  /** `CNI_ARGS` pairs (e.g. K8S_POD_NAMESPACE, K8S_POD_NAME); `IgnoreUnknown=1` is always added. */
  readonly args?: Readonly<Record<string, string>>;
  /** Capability arguments (`portMappings`, `bandwidth`, …), passed as runtimeConfig to plugins declaring them. */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
}

type Command = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

function pluginConfig(
  list: Conflist,
  plugin: Record<string, unknown>,
  extra: Record<string, unknown>,
  att: Attachment | undefined,
): string {
  const caps = (plugin['capabilities'] ?? {}) as Record<string, unknown>;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, value] of Object.entries(att?.capabilityArgs ?? {})) {
    if (caps[cap] === true) runtimeConfig[cap] = value;
  }
  return JSON.stringify({
    ...plugin,
    name: list.name,
    cniVersion: list.cniVersion,
    ...(Object.keys(runtimeConfig).length === 0 ? {} : { runtimeConfig }),
    ...extra,
  });
}

function runnerFor(opts: RuntimeOptions, env: Record<string, string>): CommandRunner {
  const base = new NodeCommandRunner({ env });
  return opts.netnsName === undefined ? base : netnsRunner(base, opts.netnsName);
}

async function invoke(
  opts: RuntimeOptions,
  command: Command,
  list: Conflist,
  plugin: Record<string, unknown>,
  extra: Record<string, unknown>,
  att: Attachment | undefined,
): Promise<string> {
  const type = typeof plugin['type'] === 'string' ? plugin['type'] : '';
  const path = findPlugin(type, opts.binDirs);
  if (path === undefined)
    throw new CniError(CniCode.invalidConfig, `plugin ${type} not found in ${opts.binDirs.join(':')}`);
  const env: Record<string, string> = {
    ...opts.env,
    CNI_COMMAND: command,
    CNI_PATH: opts.binDirs.join(':'),
    ...(att === undefined
      ? {}
      : {
          CNI_CONTAINERID: att.containerId,
          CNI_NETNS: att.netns,
          CNI_IFNAME: att.ifname,
          // As containerd and CRI-O do, so that plugins ignore the keys they do not know.
          CNI_ARGS: Object.entries({ IgnoreUnknown: '1', ...att.args })
            .map(([k, v]) => `${k}=${v}`)
            .join(';'),
        }),
  };
  const out = await execPlugin({
    plugin: path,
    env,
    stdin: pluginConfig(list, plugin, extra, att),
    runner: runnerFor(opts, env),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
  });
  if (out.code !== 0) throw pluginFailure(type, out);
  return out.stdout;
}

/** ADD through the whole list; returns the final result (the last plugin's output, parsed). */
export async function conflistAdd(list: Conflist, att: Attachment, opts: RuntimeOptions): Promise<unknown> {
  let prev: unknown;
  for (const plugin of list.plugins) {
    const stdout = await invoke(
      opts,
      'ADD',
      list,
      plugin,
      prev === undefined ? {} : { prevResult: prev },
      att,
    );
    try {
      prev = JSON.parse(stdout);
    } catch (e) {
      throw new CniError(
        CniCode.decodingFailure,
        `plugin ${String(plugin['type'])} printed no valid result`,
        String(e),
      );
    }
  }
  return prev;
}

/** DEL in reverse order; every plugin runs even if one fails (the first error is thrown at the end). */
export async function conflistDel(
  list: Conflist,
  att: Attachment,
  prevResult: unknown,
  opts: RuntimeOptions,
): Promise<void> {
  const errors: unknown[] = [];
  for (const plugin of [...list.plugins].reverse()) {
    await invoke(opts, 'DEL', list, plugin, prevResult === undefined ? {} : { prevResult }, att).catch(
      (e: unknown) => errors.push(e),
    );
  }
  if (errors.length > 0) throw errors[0];
}

export async function conflistCheck(
  list: Conflist,
  att: Attachment,
  prevResult: unknown,
  opts: RuntimeOptions,
): Promise<void> {
  if (list.disableCheck === true) return;
  for (const plugin of list.plugins) await invoke(opts, 'CHECK', list, plugin, { prevResult }, att);
}

export async function conflistGc(
  list: Conflist,
  valid: readonly { containerID: string; ifname: string }[],
  opts: RuntimeOptions,
): Promise<void> {
  if (list.disableGC === true) return;
  // libcni sends both spellings (the spec's earlier name was cni.dev/attachments).
  const extra = { 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid };
  for (const plugin of list.plugins) await invoke(opts, 'GC', list, plugin, extra, undefined);
}

export async function conflistStatus(list: Conflist, opts: RuntimeOptions): Promise<void> {
  for (const plugin of list.plugins) await invoke(opts, 'STATUS', list, plugin, {}, undefined);
}
