/**
 * Long-lived lab processes (node agents, probe agents): `LabProcess` is `ManagedProcess` (src/sys/process.ts),
 * started inside a network namespace with `ip netns exec`, output to a log file in the run dir, adoptable by pid.
 * Here: how the lab runs its own Node scripts.
 */
import { fileURLToPath } from 'node:url';

export { ManagedProcess as LabProcess, type LaunchSpec } from '../sys/process.js';

/** `node <script>`, with tsx loaded when the script is TypeScript (tests run from src/ under tsx). */
export function nodeScriptCommand(script: URL): { command: string; args: string[] } {
  const path = fileURLToPath(script);
  const loader = path.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
  return { command: process.execPath, args: [...loader, path] };
}

/** The script next to this module: `probe-agent.ts` under tsx, `probe-agent.js` once built. */
export function siblingScript(base: string, from: string = import.meta.url): URL {
  return new URL(`./${base}${from.endsWith('.ts') ? '.ts' : '.js'}`, from);
}
