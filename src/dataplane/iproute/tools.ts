/**
 * Running iproute2 for the network managers: JSON queries (`ip -j …`, `bridge -j …`) and batches
 * (`ip -force -batch -`, `bridge -force -batch -`), failing with a KernelProgrammingError that carries the
 * tool's stderr, so the dataplane loop retries.
 */
import { KernelProgrammingError } from '../../lib/errors.js';
import { formatCommand, type CommandRunner } from '../exec/command-runner.js';

export type Tool = 'ip' | 'bridge';

function opts(signal: AbortSignal | undefined): { signal?: AbortSignal; timeoutMs: number } {
  return signal !== undefined ? { signal, timeoutMs: 30_000 } : { timeoutMs: 30_000 };
}

/** Runs a JSON query; `missingOk` turns a non-zero exit (e.g. no such device) into `undefined`. */
export async function queryJson(
  runner: CommandRunner,
  tool: Tool,
  args: readonly string[],
  signal: AbortSignal | undefined,
  missingOk = false,
): Promise<unknown> {
  const r = await runner.run(tool, args, opts(signal));
  if (r.code !== 0) {
    if (missingOk) return undefined;
    throw new KernelProgrammingError(`${formatCommand(tool, args)} failed`, {
      command: formatCommand(tool, args),
      exitCode: r.code,
      stderr: r.stderr,
    });
  }
  return JSON.parse(r.stdout.trim() === '' ? '[]' : r.stdout) as unknown;
}

/** Runs one command. */
export async function runTool(
  runner: CommandRunner,
  tool: Tool,
  args: readonly string[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const r = await runner.run(tool, args, opts(signal));
  if (r.code !== 0) {
    throw new KernelProgrammingError(`${formatCommand(tool, args)} failed`, {
      command: formatCommand(tool, args),
      exitCode: r.code,
      stderr: r.stderr,
    });
  }
}

/** Runs batch lines (all of them, even after a failure); throws if any failed. */
export async function runBatch(
  runner: CommandRunner,
  tool: Tool,
  lines: readonly string[],
  what: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (lines.length === 0) return;
  const r = await runner.run(tool, ['-force', '-batch', '-'], {
    stdin: `${lines.join('\n')}\n`,
    ...opts(signal),
  });
  if (r.code !== 0) {
    throw new KernelProgrammingError(`programming ${what} failed`, {
      command: `${tool} -force -batch - (${lines.length} lines)`,
      exitCode: r.code,
      stderr: r.stderr,
    });
  }
}

/** A host interface as `ip -j addr show` reports it. */
export interface HostInterface {
  readonly name: string;
  readonly mtu: number;
  readonly addresses: readonly string[];
}

export function parseInterfaces(json: unknown): HostInterface[] {
  if (!Array.isArray(json)) return [];
  return json.flatMap((e: unknown) => {
    const o = e as { ifname?: unknown; mtu?: unknown; addr_info?: unknown };
    if (typeof o.ifname !== 'string' || typeof o.mtu !== 'number') return [];
    const addrs = Array.isArray(o.addr_info)
      ? o.addr_info.flatMap((a: unknown) => {
          const local = (a as { local?: unknown }).local;
          return typeof local === 'string' ? [local] : [];
        })
      : [];
    return [{ name: o.ifname, mtu: o.mtu, addresses: addrs }];
  });
}

/** Every interface of the namespace with its MTU and addresses. */
export async function readInterfaces(
  runner: CommandRunner,
  signal: AbortSignal | undefined,
): Promise<HostInterface[]> {
  return parseInterfaces(await queryJson(runner, 'ip', ['-j', 'addr', 'show'], signal));
}
