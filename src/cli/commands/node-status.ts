/**
 * `calicoctl node status`: whether Calico and BIRD run on this host and the state of each BGP session, as
 * calicoctl prints it. The BIRD control socket is `--socket`, else `$CALICO_BIRD_SOCKET`, else
 * /var/run/calico/bird.ctl. Like calicoctl, it needs root (to reach the socket) and does not check the
 * cluster version. `createNodeStatusCommand` takes the process seams, for tests.
 */
import type { CommandRunner } from '../../dataplane/exec/command-runner.js';
import { NodeCommandRunner } from '../../dataplane/exec/node-runner.js';
import { DEFAULT_BIRD_SOCKET } from '../../routing/reloader.js';
import { nodeStatusReport, procProcesses, type ProcessLister } from '../../routing/status.js';
import { type Command, stringOpt } from '../command.js';

const USAGE = `Usage:
  calicoctl node status [--socket=<SOCKET>] [--allow-version-mismatch]

Options:
  -h --help                    Show this screen.
     --socket=<SOCKET>         The BIRD control socket [default: $CALICO_BIRD_SOCKET or ${DEFAULT_BIRD_SOCKET}].
     --allow-version-mismatch  Allow client and cluster versions mismatch.

Description:
  Check the status of the Calico node instance.  This includes the status and
  uptime of the node instance, and BGP peering states.`;

export interface NodeStatusDeps {
  readonly runner?: CommandRunner;
  readonly processes?: ProcessLister;
  readonly isRoot?: () => boolean;
}

export function createNodeStatusCommand(deps: NodeStatusDeps = {}): Command {
  return {
    words: ['node', 'status'],
    summary: 'Check the status of the Calico node instance (BGP peers).',
    usage: USAGE,
    options: { socket: { type: 'string' } },
    async run({ values, positionals, io }) {
      if (positionals.length > 0) {
        io.err(
          `Invalid option: 'calicoctl node status ${positionals.join(' ')}'. Use flag '--help' to read about a specific subcommand.\n`,
        );
        return 1;
      }
      const isRoot = deps.isRoot ?? (() => process.getuid?.() === 0);
      if (!isRoot()) {
        io.out('Need super user privileges: Operation not permitted\n');
        return 1;
      }
      const envSocket = io.env['CALICO_BIRD_SOCKET'];
      const socketPath =
        stringOpt(values, 'socket') ??
        (envSocket !== undefined && envSocket !== '' ? envSocket : DEFAULT_BIRD_SOCKET);
      const report = await nodeStatusReport({
        runner: deps.runner ?? new NodeCommandRunner(),
        socketPath,
        processes: deps.processes ?? procProcesses,
      });
      if (report.stdout !== '') io.out(report.stdout);
      if (report.stderr !== '') io.err(report.stderr);
      return report.exitCode;
    },
  };
}

export const nodeStatusCommand: Command = createNodeStatusCommand();
