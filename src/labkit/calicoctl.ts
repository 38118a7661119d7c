/**
 * calicoctl as a user runs it (a child process of this repository's build, `dist/src/cli/calicoctl.js`, or
 * the TypeScript source under tsx), against the lab's datastore. The lab never imports the CLI: it drives it
 * through its command line, like the demo's reader would.
 */
import { NodeCommandRunner } from '../dataplane/exec/node-runner.js';
import { nodeScriptCommand } from './process.js';

export interface CalicoctlRun {
  readonly code: number;
  /** stdout then stderr. */
  readonly output: string;
}

/** The calicoctl script next to this build (`.js` once built, `.ts` under tsx). */
export function calicoctlScript(from: string = import.meta.url): URL {
  return new URL(`../cli/calicoctl${from.endsWith('.ts') ? '.ts' : '.js'}`, from);
}

export async function runCalicoctlProcess(
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  options: { readonly stdin?: string; readonly signal?: AbortSignal } = {},
): Promise<CalicoctlRun> {
  const { command, args } = nodeScriptCommand(calicoctlScript());
  const r = await new NodeCommandRunner({ env: { ...env } }).run(command, [...args, ...argv], {
    timeoutMs: 60_000,
    ...options,
  });
  return { code: r.code, output: `${r.stdout}${r.stderr}` };
}
