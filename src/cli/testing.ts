/** Test helper: runs calicoctl in-process with captured output. */
import { runCalicoctl } from './calicoctl.js';
import type { CliIo } from './io.js';

export interface CliRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function calicoctl(
  args: string[],
  opts: { stdin?: string | Uint8Array; env?: Record<string, string> } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    out: (t) => {
      stdout += t;
    },
    err: (t) => {
      stderr += t;
    },
    readStdin: () => Promise.resolve(Buffer.from(opts.stdin ?? '').toString('utf8')),
    stdinBytes: () => [Buffer.from(opts.stdin ?? '')],
    env: opts.env ?? {},
  };
  const status = await runCalicoctl(args, io);
  return { status, stdout, stderr };
}

/** The ends of a `calicoctl policy explain`: an endpoint (namespace/pod or an IP) and optional labels. */
export interface ExplainEnds {
  /** `-f`: a file, or `-` for stdin; without it the command reads the datastore. */
  readonly input?: string;
  readonly from: string;
  readonly fromLabels?: string;
  readonly to: string;
  readonly toLabels?: string;
  readonly port?: string;
}

/** The arguments of `calicoctl policy explain` for `ends`, then `more` (e.g. `--protocol UDP`). */
export function explainArgs(ends: ExplainEnds, ...more: string[]): string[] {
  const opt = (flag: string, value: string | undefined): string[] =>
    value === undefined ? [] : [flag, value];
  return [
    'policy',
    'explain',
    ...opt('-f', ends.input),
    ...['--from', ends.from, ...opt('--from-labels', ends.fromLabels)],
    ...['--to', ends.to, ...opt('--to-labels', ends.toLabels)],
    ...opt('--port', ends.port),
    ...more,
  ];
}
