/**
 * What the `calicoctl ipam` commands share: the `-c/--config` option, opening the configured datastore (the
 * config file, or the environment when the default file is absent), the version stamped into check reports,
 * and calicoctl's address validation message.
 */
import type { OptionSpec, OptionValues } from '../../command.js';
import type { CliIo } from '../../io.js';
import { buildInfo } from '../../build-info.js';
import { CalicoClient } from '../../client.js';
import { DEFAULT_CONFIG_FILE } from '../../../datastore/index.js';
import type { Backend } from '../../../datastore/index.js';
import { IpamClient } from '../../../ipam/index.js';
import { formatIp, parseIp } from '../../../lib/net/ip.js';

/** Written into `ipam check` reports and compared by `ipam release --from-report`. */
export function calicoctlVersion(): string {
  return buildInfo().version;
}

export const CONFIG_OPTION: OptionSpec = { config: { type: 'string', short: 'c' } };

export const CONFIG_USAGE = `  -c --config=<CONFIG>         Path to the file containing connection configuration in
                               YAML or JSON format.
                               [default: ${DEFAULT_CONFIG_FILE}]`;

export interface IpamSession extends AsyncDisposable {
  readonly backend: Backend;
  readonly ipam: IpamClient;
  /** A note naming the datastore when nothing was ever written to it (see CalicoClient.emptyHint). */
  emptyHint(): Promise<string | undefined>;
}

/**
 * Connects as every calicoctl command does (`-c` or the environment) and runs the version-mismatch check.
 * `create` is false for the commands that only read (`show`, `check`): they never create the datastore.
 */
export async function openIpam(
  values: OptionValues,
  io: CliIo,
  opts: { readonly create: boolean },
): Promise<IpamSession> {
  const client = await CalicoClient.open(values, io, opts);
  try {
    await client.checkVersion(values);
  } catch (e) {
    await client.close();
    throw e;
  }
  return {
    backend: client.backend,
    ipam: new IpamClient(client.backend),
    emptyHint: () => client.emptyHint(),
    [Symbol.asyncDispose]: () => client.close(),
  };
}

/** The address in canonical form (`FD00:0::1` -> `fd00::1`), or undefined after printing calicoctl's message. */
export function validateIp(text: string, io: CliIo): string | undefined {
  const ip = parseIp(text);
  if (ip === undefined) {
    io.out(`Error executing command: invalid IP address specified: ${text}\n`);
    return undefined;
  }
  return formatIp(ip.family, ip.value);
}
