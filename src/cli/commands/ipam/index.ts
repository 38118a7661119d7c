/** The `calicoctl ipam` commands, for the command table in `calicoctl.ts`. */
import type { Command } from '../../command.js';
import { ipamCheckCommand } from './check.js';
import { ipamConfigureCommand } from './configure.js';
import { ipamReleaseCommand } from './release.js';
import { ipamShowCommand } from './show.js';

export const ipamCommands: Command[] = [
  ipamCheckCommand,
  ipamReleaseCommand,
  ipamShowCommand,
  ipamConfigureCommand,
];

export { ipamCheckCommand, ipamConfigureCommand, ipamReleaseCommand, ipamShowCommand };
