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
