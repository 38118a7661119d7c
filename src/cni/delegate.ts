/**
 * Executing another CNI plugin the way the spec says a runtime (or a delegating plugin) does: look the type
 * up in `CNI_PATH`, run it with the `CNI_*` environment and the network configuration on stdin, and read
 * either its result or its error object from stdout. Used by `calico` to call its IPAM plugin, and by the
 * conflist runner (`runtime.ts`) that tests and the lab use to drive plugin chains.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { CommandRunner } from '../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { errorMessage } from '../lib/errors.js';
import { CniCode, CniError, parseResult, type CniResult } from './spec.js';

export function findPlugin(type: string, path: readonly string[]): string | undefined {
  if (type === '' || type.includes('/')) return undefined;
  for (const dir of path) {
    const candidate = join(dir, type);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

export interface ExecPluginOptions {
  /** Full path of the plugin executable. */
  readonly plugin: string;
  /** The `CNI_*` variables (and anything else) for the child, merged over this process's environment. */
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
  readonly timeoutMs?: number;
  /** Runs the plugin (default: directly); the lab passes a runner that enters a node's namespace. */
  readonly runner?: CommandRunner;
}

export interface PluginOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function execPlugin(opts: ExecPluginOptions): Promise<PluginOutput> {
  const runner = opts.runner ?? new NodeCommandRunner({ env: { ...opts.env } });
  try {
    return await runner.run(opts.plugin, [], {
      stdin: opts.stdin,
      timeoutMs: opts.timeoutMs ?? 120_000,
    });
  } catch (e) {
    throw new CniError(CniCode.ioFailure, `failed to run plugin ${opts.plugin}`, errorMessage(e), {
      cause: e,
    });
  }
}

/** The plugin's failure as a CniError (its own error object when it printed one). */
export function pluginFailure(plugin: string, out: PluginOutput): CniError {
  try {
    const obj: unknown = JSON.parse(out.stdout);
    if (typeof obj === 'object' && obj !== null && 'code' in obj && typeof obj.code === 'number') {
      const o = obj as { code: number; msg?: unknown; details?: unknown };
      return new CniError(
        o.code,
        typeof o.msg === 'string' ? o.msg : `plugin ${plugin} failed`,
        typeof o.details === 'string' ? o.details : undefined,
      );
    }
  } catch {
    // Not an error object; report what we have.
  }
  const tail = (out.stderr.trim() || out.stdout.trim()).slice(-500);
  return new CniError(CniCode.internal, `plugin ${plugin} exited with ${out.code}`, tail);
}

/** A command's result (ADD) from the plugin's output, or its failure as a CniError. */
export function resultFromOutput(plugin: string, out: PluginOutput): CniResult {
  if (out.code !== 0) throw pluginFailure(plugin, out);
  let doc: unknown;
  try {
    doc = JSON.parse(out.stdout);
  } catch (e) {
    throw new CniError(CniCode.decodingFailure, `plugin ${plugin} printed no valid result`, String(e));
  }
  const r = parseResult(doc);
  if (!r.ok) throw new CniError(CniCode.decodingFailure, `plugin ${plugin} printed no valid result`, r.error);
  return r.value;
}

/** A command without result (DEL, CHECK, GC, STATUS): its failure as a CniError. */
export function expectSuccess(plugin: string, out: PluginOutput): void {
  if (out.code !== 0) throw pluginFailure(plugin, out);
}

/** Runs a plugin command that returns a result (ADD). */
export async function execPluginWithResult(opts: ExecPluginOptions): Promise<CniResult> {
  return resultFromOutput(opts.plugin, await execPlugin(opts));
}

/** Runs a plugin command that returns nothing (DEL, CHECK, GC, STATUS). */
export async function execPluginNoResult(opts: ExecPluginOptions): Promise<void> {
  expectSuccess(opts.plugin, await execPlugin(opts));
}
