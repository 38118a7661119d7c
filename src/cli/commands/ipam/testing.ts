/** Test helper: runs an `ipam` command in-process (as calicoctl's runner does) with captured output. */
import { findCommand, parseCommandArgs } from '../../command.js';
import { CliError, type CliIo } from '../../io.js';
import { ipamCommands } from './index.js';

export interface IpamRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runIpam(args: string[], env: Record<string, string> = {}): Promise<IpamRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    out: (t) => {
      stdout += t;
    },
    err: (t) => {
      stderr += t;
    },
    readStdin: () => Promise.resolve(''),
    env,
  };
  const found = findCommand(ipamCommands, args);
  if (found === undefined) throw new Error(`no ipam command for ${args.join(' ')}`);
  let status: number;
  try {
    const { values, positionals } = parseCommandArgs(found.command, found.rest);
    if (values['help'] === true) {
      io.out(`${found.command.usage}\n`);
      status = 0;
    } else {
      status = await found.command.run({ values, positionals, io });
    }
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    io.err(`${e.message}\n`);
    status = e.status;
  }
  return { status, stdout, stderr };
}
